import { handle } from "hono/aws-lambda";
import { createApp, sessionIdleMs, signingWindowMs } from "../app.ts";
import { FUNCTION_ENV } from "../store/function-env.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { s3Client, s3FileObjects } from "../store/s3-file-objects.ts";
import { readSecret } from "../store/secrets.ts";
import { createStore } from "../store/store.ts";

/** API Gateway (HTTP API) → the Hono app. Created once per Lambda instance, outside the handler. */
async function sessionSecret(): Promise<string> {
  if (process.env.SESSION_SECRET) return process.env.SESSION_SECRET;
  const arn = process.env[FUNCTION_ENV.sessionSecretArn];
  if (!arn) throw new Error(`${FUNCTION_ENV.sessionSecretArn} is not set`);
  return readSecret(arn);
}

/** The OpenID provider people sign in at; without an issuer, only API keys sign in. */
async function oidc() {
  const issuer = process.env[FUNCTION_ENV.oidcIssuer];
  const clientId = process.env[FUNCTION_ENV.oidcClientId];
  if (!issuer || !clientId) return undefined;
  const secretArn = process.env[FUNCTION_ENV.oidcClientSecretArn];
  return { issuer, clientId, ...(secretArn ? { clientSecret: await readSecret(secretArn) } : {}) };
}

const signIn = await oidc();
const filesBucket = process.env[FUNCTION_ENV.filesBucket];
export const handler = handle(
  createApp(createStore({ macKey: deployedMacKey() }), {
    sessionSecret: await sessionSecret(),
    sessionIdleMs: sessionIdleMs(process.env.SESSION_IDLE_MINUTES),
    signingWindowMs: signingWindowMs(process.env.SIGNING_WINDOW_MINUTES),
    ...(signIn ? { oidc: signIn } : {}),
    ...(filesBucket ? { files: s3FileObjects(s3Client(), filesBucket) } : {}),
  }),
);
