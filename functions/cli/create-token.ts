import { parseArgs } from "node:util";
import { macKeyFromEnvironment } from "../store/mac-key.ts";
import { personLabel } from "../store/people.ts";
import { ALL_SITES, ROLES, type Role, type RoleGrant, withinGrants } from "../store/principal.ts";
import { createStore } from "../store/store.ts";
import { KEY_FORMATS, type KeyFormat, MAX_KEY_DAYS, newToken } from "../store/tokens.ts";

/**
 * `npm run tokens:create -- --study S --owner alice@example.org --expires 2027-01-01
 *   [--role monitor] [--sites site-01,site-02] [--service etl-nightly] [--format redcap]`
 * Creates an API key owned by a person who holds a grant at the study, in the
 * table named by TABLE_NAME (AWS credentials from the environment;
 * DYNAMODB_ENDPOINT for a local table), and prints it once: only its hash is
 * stored. Without --role the key holds every role of the owner; with
 * --service it is a service account's key, the owner answerable for it.
 */
const { values } = parseArgs({
  options: {
    study: { type: "string" },
    owner: { type: "string" },
    expires: { type: "string" },
    role: { type: "string" },
    sites: { type: "string", default: ALL_SITES },
    service: { type: "string" },
    format: { type: "string", default: "edc" },
    deidentified: { type: "boolean", default: false },
  },
});

const fail = (message: string): never => {
  console.error(`tokens:create: ${message}`);
  process.exit(2);
};
const study = values.study ?? fail("--study is required");
const ownerHandle = values.owner ?? fail("--owner is required (the id or email of a person)");
const expires =
  values.expires ?? fail(`--expires is required (keys always expire, within ${MAX_KEY_DAYS} days)`);
const expiresAt = Number.isNaN(Date.parse(expires)) ? fail("--expires must be a date") : new Date(expires);
if (expiresAt.getTime() <= Date.now()) fail("--expires must be in the future");
if (expiresAt.getTime() > Date.now() + MAX_KEY_DAYS * 86_400_000)
  fail(`--expires must be within ${MAX_KEY_DAYS} days`);
if (values.role !== undefined && !ROLES.includes(values.role as Role))
  fail(`--role must be one of ${ROLES.join(", ")}`);
if (!KEY_FORMATS.includes(values.format as KeyFormat))
  fail(`--format must be one of ${KEY_FORMATS.join(", ")}`);

const store = createStore({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  macKey: macKeyFromEnvironment(process.env.DATA_DIR ?? ".data"),
});
const owner = (await store.findPersonByHandle(ownerHandle)) ?? fail(`no person ${ownerHandle}`);
const grant = await store.findGrant(study, owner.id);
if (!grant || grant.revokedAt) fail(`${personLabel(owner)} holds no role at ${study}`);
const held = grant?.roles ?? [];
const sites = (values.sites ?? ALL_SITES).split(",").map((s) => s.trim());
const scope: RoleGrant[] = values.role ? [{ role: values.role as Role, sites }] : held;
if (!withinGrants(scope, held))
  fail(`${personLabel(owner)} does not hold ${values.role} at ${sites.join(", ")}`);

const format = values.format as KeyFormat;
const token = newToken(format);
const user = values.service ?? personLabel(owner);
const info = await store.storeToken(
  token,
  {
    user,
    owner: owner.id,
    kind: values.service ? "service" : "personal",
    study,
    scope,
    expiresAt: expiresAt.toISOString(),
    format,
    ...(values.deidentified ? { deidentified: true } : {}),
  },
  "tokens:create",
);
await store.appendAccessLog(study, {
  actor: "tokens:create",
  action: "key-create",
  details: { key: info.id, owner: owner.id, kind: info.kind, user, scope, expiresAt: info.expiresAt, format },
});
console.log(token);
