import { type AppOptions, sessionIdleMs, signingWindowMs } from "../app.ts";
import { FUNCTION_ENV } from "../store/function-env.ts";
import { lazyFileObjects } from "../store/lazy-file-objects.ts";
import { lazySecret } from "../store/secrets.ts";

type SecretsClient = NonNullable<Parameters<typeof lazySecret>[1]>;

/**
 * The API function's app options from its environment, without a network
 * call: secrets are read and SDK clients made by the first request that needs
 * them, so a cold start pays only for what its request uses (a save needs
 * neither secret nor S3). `secretsClient` is for tests.
 */
export function apiOptions(env: NodeJS.ProcessEnv, secretsClient?: SecretsClient): AppOptions {
  const secret = (arn: string) => lazySecret(arn, secretsClient);
  const issuer = env[FUNCTION_ENV.oidcIssuer];
  const clientId = env[FUNCTION_ENV.oidcClientId];
  const clientSecretArn = env[FUNCTION_ENV.oidcClientSecretArn];
  const filesBucket = env[FUNCTION_ENV.filesBucket];
  return {
    sessionSecret: env.SESSION_SECRET ?? secret(requiredArn(env, FUNCTION_ENV.sessionSecretArn)),
    sessionIdleMs: sessionIdleMs(env.SESSION_IDLE_MINUTES),
    signingWindowMs: signingWindowMs(env.SIGNING_WINDOW_MINUTES),
    // Without an issuer, only API keys sign in.
    ...(issuer && clientId
      ? { oidc: { issuer, clientId, ...(clientSecretArn ? { clientSecret: secret(clientSecretArn) } : {}) } }
      : {}),
    ...(filesBucket ? { files: s3Files(filesBucket) } : {}),
  };
}

/** S3, with direct (presigned) uploads and downloads; the SDK's S3 client is imported by the first file operation. */
function s3Files(bucket: string) {
  return lazyFileObjects(async () => {
    const { s3Client, s3FileObjects } = await import("../store/s3-file-objects.ts");
    return s3FileObjects(s3Client(), bucket);
  }, true);
}

function requiredArn(env: NodeJS.ProcessEnv, name: string): string {
  const arn = env[name];
  // Refusing to start beats an instance that fails every sign-in later.
  if (!arn) throw new Error(`${name} is not set`);
  return arn;
}
