import { readFileSync } from "node:fs";
import path from "node:path";
import { bench, describe } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

/** One EDSS submission through everything the server does to it before storage. Read µs per op from the mean. */
const definition = await loadDefinition(path.join(import.meta.dirname, "../../forms"));
const edss = definition.instruments.edss;
if (!edss) throw new Error("edss missing");
const example = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../fixtures/examples/edss.json"), "utf8"),
);
const context = { $event: "m12", $arm: "rrms" };

describe("EDSS validation", () => {
  bench("prepareForm(edss), valid and complete", () => {
    prepareForm(edss, example.valid, "complete", context);
  });
  bench("prepareForm(edss), edss_total 0.5 refused", () => {
    prepareForm(edss, { ...example.valid, edss_total: 0.5 }, "complete", context);
  });
});
