import { type AppOptions, sessionIdleMs, signingWindowMs } from "../app.ts";
import type { OriginVerifySettings } from "../http/origin-verify.ts";
import { lazyExportTarget } from "../store/export-target.ts";
import { FUNCTION_ENV, ORIGIN_VERIFY_HEADER } from "../store/function-env.ts";
import { lazyFileObjects } from "../store/lazy-file-objects.ts";
import { originVerifySource } from "../store/origin-verify-secret.ts";
import { lazySecret, readSecret } from "../store/secrets.ts";

type SecretsClient = NonNullable<Parameters<typeof lazySecret>[1]>;

/**
 * The API function's app options from its environment, without a network
 * call: secrets are read and SDK clients made by the first request that needs
 * them, so a cold start pays only for what its request uses (a save needs no
 * S3; in AWS every request needs the origin secret, read with the session
 * secret). `secretsClient` is for tests.
 */
export function apiOptions(env: NodeJS.ProcessEnv, secretsClient?: SecretsClient): AppOptions {
  const secret = (arn: string) => lazySecret(arn, secretsClient);
  const issuer = env[FUNCTION_ENV.oidcIssuer];
  const clientId = env[FUNCTION_ENV.oidcClientId];
  const clientSecretArn = env[FUNCTION_ENV.oidcClientSecretArn];
  const filesBucket = env[FUNCTION_ENV.filesBucket];
  const exportsBucket = env[FUNCTION_ENV.exportsBucket];
  const originVerifyArn = env[FUNCTION_ENV.originVerifySecretArn];
  const sessionSecret = env.SESSION_SECRET ?? secret(requiredArn(env, FUNCTION_ENV.sessionSecretArn));
  return {
    sessionSecret,
    ...(originVerifyArn
      ? { originVerify: originVerify(() => readSecret(originVerifyArn, secretsClient?.()), sessionSecret) }
      : {}),
    sessionIdleMs: sessionIdleMs(env.SESSION_IDLE_MINUTES),
    signingWindowMs: signingWindowMs(env.SIGNING_WINDOW_MINUTES),
    // Without an issuer, only API keys sign in.
    ...(issuer && clientId
      ? { oidc: { issuer, clientId, ...(clientSecretArn ? { clientSecret: secret(clientSecretArn) } : {}) } }
      : {}),
    ...(filesBucket ? { files: s3Files(filesBucket) } : {}),
    // Jobs are started by the table's stream (handlers/export-job-worker.ts); the API only presigns downloads.
    ...(exportsBucket ? { exportJobs: { target: s3Exports(exportsBucket) } } : {}),
  };
}

/**
 * Every request needs the origin secret before anything else, and a page needs the session secret next:
 * the first check starts both reads at once, so a cold start serving a page waits for one Secrets
 * Manager round trip, not two in a row (an API call's cold start reads the session secret unused, once).
 */
function originVerify(
  read: () => Promise<string>,
  sessionSecret: string | (() => Promise<string>),
): OriginVerifySettings {
  const values = originVerifySource(read);
  let sessionRead = typeof sessionSecret === "string";
  return {
    header: ORIGIN_VERIFY_HEADER,
    accepted: () => {
      if (!sessionRead && typeof sessionSecret !== "string") {
        sessionRead = true;
        // Only started here; a failure is the page's to answer when it asks (lazySecret reads again).
        sessionSecret().catch(() => {});
      }
      return values();
    },
  };
}

function s3Exports(bucket: string) {
  return lazyExportTarget(async () => {
    const [{ s3Client }, { s3ExportTarget }] = await Promise.all([
      import("../store/s3-file-objects.ts"),
      import("../store/s3-export-target.ts"),
    ]);
    return s3ExportTarget(s3Client(), bucket);
  });
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
