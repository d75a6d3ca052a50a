import { handle } from "hono/aws-lambda";
import { createApp } from "../app.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { readSecret } from "../store/secrets.ts";
import { createStore } from "../store/store.ts";

/** API Gateway (HTTP API) → the Hono app. Created once per Lambda instance, outside the handler. */
async function sessionSecret(): Promise<string> {
  if (process.env.SESSION_SECRET) return process.env.SESSION_SECRET;
  const arn = process.env.SESSION_SECRET_ARN;
  if (!arn) throw new Error("SESSION_SECRET_ARN is not set");
  return readSecret(arn);
}

const store = createStore({ macKey: deployedMacKey() });
export const handler = handle(createApp(store, { sessionSecret: await sessionSecret() }));
