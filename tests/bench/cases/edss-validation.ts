import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadDefinition } from "../../../functions/definition-files.ts";
import { prepareForm } from "../../../functions/engine/validate-form.ts";
import type { Pair } from "../pairs.ts";

/**
 * One EDSS submission through everything the server does to it before storage
 * (schema, calculations, branching, rules), against the floor: the same
 * instrument's JSON Schema alone, compiled once by a plain Ajv.
 */
const BATCH = 500;
const repeat = (work: () => void) => () => {
  for (let i = 0; i < BATCH; i++) work();
  return BATCH;
};

export default async function pairs(): Promise<Pair[]> {
  const definition = await loadDefinition(path.join(import.meta.dirname, "../../../forms"));
  const edss = definition.instruments.edss;
  if (!edss) throw new Error("edss missing");
  const example = JSON.parse(
    readFileSync(path.join(import.meta.dirname, "../../fixtures/examples/edss.json"), "utf8"),
  );
  const context = { $event: "m12", $arm: "rrms" };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const schemaOnly = ajv.compile(edss);
  const floor = { name: "plain Ajv, the instrument's schema", run: repeat(() => schemaOnly(example.valid)) };
  return [
    {
      name: "EDSS: prepareForm, valid and complete",
      subject: {
        name: "prepareForm(edss, valid, complete)",
        run: repeat(() => prepareForm(edss, example.valid, "complete", context)),
      },
      baseline: floor,
    },
    {
      name: "EDSS: prepareForm, edss_total 0.5 refused",
      subject: {
        name: "prepareForm(edss, edss_total 0.5)",
        run: repeat(() => prepareForm(edss, { ...example.valid, edss_total: 0.5 }, "complete", context)),
      },
      baseline: floor,
    },
  ];
}
