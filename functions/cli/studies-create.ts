import { parseArgs } from "node:util";
import { SLUG_PATTERN } from "../engine/meta/study-schema.ts";
import { macKeyFromEnvironment } from "../store/mac-key.ts";
import { personLabel } from "../store/people.ts";
import { createStore } from "../store/store.ts";

/**
 * `npm run studies:create -- <id> --owner alice@example.org [--title "..."]`
 * Creates a study in the table named by TABLE_NAME (AWS credentials from the
 * environment; DYNAMODB_ENDPOINT for a local table) and grants its owner admin
 * and builder there, as `POST /api/v1/studies` does. Then `tokens:create` makes
 * the owner a key at it, and `forms:publish` publishes its folder.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { owner: { type: "string" }, title: { type: "string" } },
});

const fail = (message: string, code = 2): never => {
  console.error(`studies:create: ${message}`);
  process.exit(code);
};
const id = positionals[0] ?? fail("the study id is required");
if (positionals.length > 1) fail("one study id at a time");
if (!new RegExp(SLUG_PATTERN).test(id) || id.length > 64)
  fail("the study id is lowercase letters, digits and dashes (at most 64)");
const ownerHandle = values.owner ?? fail("--owner is required (the id or email of a person)");

const store = createStore({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  macKey: macKeyFromEnvironment(process.env.DATA_DIR ?? ".data"),
});
const owner = (await store.findPersonByHandle(ownerHandle)) ?? fail(`no person ${ownerHandle}`);
const outcome = await store.createStudy({
  id,
  ...(values.title ? { title: values.title } : {}),
  owner: owner.id,
  by: "studies:create",
});
if (outcome.kind === "exists") fail(`study ${id} exists already`, 1);
console.log(`Study ${id} created; ${personLabel(owner)} holds admin and builder at it.`);
