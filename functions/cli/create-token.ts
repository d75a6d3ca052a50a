import { parseArgs } from "node:util";
import { macKeyFromEnvironment } from "../store/mac-key.ts";
import { ALL_SITES, ROLES, type Role } from "../store/principal.ts";
import { createStore } from "../store/store.ts";
import { newToken } from "../store/tokens.ts";

/**
 * `npm run tokens:create -- --study S --role R --user U [--sites a,b] [--expires 2027-01-01]`
 * Creates a bearer token in the table named by TABLE_NAME (AWS credentials
 * from the environment; DYNAMODB_ENDPOINT for a local table) and prints it once:
 * only its hash is stored.
 */
const { values } = parseArgs({
  options: {
    study: { type: "string" },
    role: { type: "string" },
    user: { type: "string" },
    sites: { type: "string", default: ALL_SITES },
    expires: { type: "string" },
  },
});

const fail = (message: string) => {
  console.error(`tokens:create: ${message}`);
  process.exit(2);
};
if (!values.study || !values.user) fail("--study and --user are required");
if (!ROLES.includes(values.role as Role)) fail(`--role must be one of ${ROLES.join(", ")}`);
if (values.expires && Number.isNaN(Date.parse(values.expires))) fail("--expires must be a date");

const store = createStore({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  // A token is not an audit entry: the key is named but never read here.
  macKey: macKeyFromEnvironment(process.env.DATA_DIR ?? ".data"),
});
const token = newToken();
await store.storeToken(token, {
  study: values.study as string,
  user: values.user as string,
  role: values.role as Role,
  sites: (values.sites ?? ALL_SITES).split(",").map((s) => s.trim()),
  ...(values.expires ? { expiresAt: new Date(values.expires).toISOString() } : {}),
});
console.log(token);
