import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

type SecretsClient = Pick<SecretsManagerClient, "send">;

// Imported at the first read, like the client is made then: a cold start that reads no secret loads neither.
const sdk = () => import("@aws-sdk/client-secrets-manager");

let sharedClient: Promise<SecretsClient> | undefined;
/** One client per process, made at the first read: a cold start that reads no secret builds none. */
function defaultClient(): Promise<SecretsClient> {
  sharedClient ??= sdk().then(({ SecretsManagerClient }) => new SecretsManagerClient({}));
  return sharedClient;
}

/** A Secrets Manager secret's string value (the stack's generated secrets hold strings). */
export async function readSecret(arn: string, client?: SecretsClient): Promise<string> {
  const { GetSecretValueCommand } = await sdk();
  const { SecretString } = await (client ?? (await defaultClient())).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  if (!SecretString) throw new Error(`secret ${arn} has no string value`);
  return SecretString;
}

/**
 * The secret, read at the first call and kept for the life of the Lambda
 * instance — as when it was read at init, so a rotated secret reaches an
 * instance when the instance is replaced, as before. A failed read is not
 * kept: that request fails and the next one reads again.
 */
export function lazySecret(arn: string, client?: () => SecretsClient): () => Promise<string> {
  let value: Promise<string> | undefined;
  return () => {
    if (!value) {
      const reading = readSecret(arn, client?.());
      reading.catch(() => {
        if (value === reading) value = undefined;
      });
      value = reading;
    }
    return value;
  };
}
