import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { EdcStack } from "./stack.ts";

const app = new App();
const stage = (app.node.tryGetContext("stage") as string | undefined) ?? "dev";
new EdcStack(app, `Edc-${stage}`, { stage });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
