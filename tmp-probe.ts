import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { EdcStack } from "/work/main/infra/stack.ts";
const t0 = Date.now();
const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
const s = new EdcStack(app, "T");
const t1 = Date.now();
const tpl = Template.fromStack(s);
console.log("construct", t1 - t0, "synth", Date.now() - t1, Object.keys(tpl.toJSON().Resources).length);
