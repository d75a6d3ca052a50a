import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { KMSClient } from "@aws-sdk/client-kms";
import { FUNCTION_ENV } from "./function-env.ts";

/**
 * The key that MACs every chained audit entry. The table never holds it, so
 * whoever can rewrite the table can recompute hashes but not MACs. The MAC is
 * HMAC-SHA-256 over the UTF-8 message, hex: a local key and a KMS HMAC_256 key
 * give the same kind of value, so the store does not care which it has.
 */
export interface MacKey {
  /** Names the key in reports (a KMS key ARN, or a local key's file and fingerprint); never the key itself. */
  readonly id: string;
  mac(message: string): Promise<string>;
  verify(message: string, mac: string): Promise<boolean>;
}

const KEY_BYTES = 32;

// Imported at the first MAC, not at a cold start: a request that writes nothing never loads the KMS client.
const kms = () => import("@aws-sdk/client-kms");
const HEX_MAC = /^[0-9a-f]{64}$/;

/** A key held in memory (tests, and the in-memory dev environment). */
export function memoryMacKey(key: Uint8Array = randomBytes(KEY_BYTES), id = "memory"): MacKey {
  if (key.byteLength < KEY_BYTES) throw new RangeError(`a MAC key needs at least ${KEY_BYTES} bytes`);
  const sign = (message: string) => createHmac("sha256", key).update(message, "utf8").digest("hex");
  return {
    id: `${id} (${fingerprint(key)})`,
    mac: async (message) => sign(message),
    verify: async (message, mac) =>
      HEX_MAC.test(mac) && timingSafeEqual(Buffer.from(sign(message), "hex"), Buffer.from(mac, "hex")),
  };
}

/** Where `npm start` keeps its key: beside the data folder, not in it, so a copy of the data does not carry it. */
export function defaultMacKeyFile(dataDir: string): string {
  return (
    process.env.AUDIT_MAC_KEY_FILE ??
    path.join(path.dirname(path.resolve(dataDir)), ".edc-keys", "audit-mac.key")
  );
}

/**
 * A key in a file (hex, 32 random bytes), read at the first use. With
 * `create`, a missing file is made (mode 600, folder 700); without it, a
 * missing file is an error: a verifier that made itself a fresh key would
 * report every entry as forged.
 */
export function fileMacKey(file: string, options: { create?: boolean } = {}): MacKey {
  let loaded: Promise<MacKey> | undefined;
  const key = () => {
    loaded ??= readOrCreateKey(file, options.create === true).then((bytes) => memoryMacKey(bytes, file));
    return loaded;
  };
  return {
    id: file,
    mac: async (message) => (await key()).mac(message),
    verify: async (message, mac) => (await key()).verify(message, mac),
  };
}

async function readOrCreateKey(file: string, create: boolean): Promise<Buffer> {
  if (!existsSync(file)) {
    if (!create)
      throw new Error(`no audit MAC key at ${file} (set AUDIT_MAC_KEY_FILE, or AUDIT_MAC_KEY_ID for KMS)`);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // "wx": two processes starting at once must not each write a key and MAC with different ones.
    await writeFile(file, `${randomBytes(KEY_BYTES).toString("hex")}\n`, { mode: 0o600, flag: "wx" }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      },
    );
  }
  const text = (await readFile(file, "utf8")).trim();
  if (!/^[0-9a-f]{64,}$/i.test(text))
    throw new Error(`${file} does not hold a hex key of ${KEY_BYTES} bytes or more`);
  return Buffer.from(text, "hex");
}

/** A KMS HMAC_256 key: the key material never leaves KMS. */
export function kmsMacKey(keyId: string, client: Pick<KMSClient, "send">): MacKey {
  return {
    id: keyId,
    mac: async (message) => {
      const { GenerateMacCommand } = await kms();
      const { Mac } = await client.send(
        new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: "HMAC_SHA_256", Message: utf8(message) }),
      );
      if (!Mac) throw new Error(`KMS GenerateMac with ${keyId} returned no MAC`);
      return Buffer.from(Mac).toString("hex");
    },
    verify: async (message, mac) => {
      if (!HEX_MAC.test(mac)) return false;
      const { VerifyMacCommand } = await kms();
      try {
        const { MacValid } = await client.send(
          new VerifyMacCommand({
            KeyId: keyId,
            MacAlgorithm: "HMAC_SHA_256",
            Message: utf8(message),
            Mac: Buffer.from(mac, "hex"),
          }),
        );
        return MacValid === true;
      } catch (error) {
        // KMS answers a MAC that does not verify with an exception, not with MacValid false.
        if ((error as { name?: unknown }).name === "KMSInvalidMacException") return false;
        throw error;
      }
    },
  };
}

/**
 * The key of a deployed function: the KMS key the stack names, or (a bundle
 * run outside AWS, as its tests do) an existing key file. A function with
 * neither refuses to start rather than write entries it cannot seal.
 */
export function deployedMacKey(): MacKey {
  const keyId = process.env[FUNCTION_ENV.auditMacKeyId];
  if (keyId) return kmsMacKey(keyId, kmsAtFirstUse());
  const file = process.env.AUDIT_MAC_KEY_FILE;
  if (file) return fileMacKey(file);
  throw new Error(`${FUNCTION_ENV.auditMacKeyId} is not set`);
}

/** A KMS client made at the first MAC, not at a cold start: a request that writes nothing never needs one. */
function kmsAtFirstUse(): Pick<KMSClient, "send"> {
  let client: Promise<KMSClient> | undefined;
  return {
    send: (async (...args: Parameters<KMSClient["send"]>) => {
      client ??= kms().then(({ KMSClient }) => new KMSClient({}));
      return (await client).send(...args);
    }) as KMSClient["send"],
  };
}

/**
 * The key a process outside the local server uses (the Lambdas, the CLIs):
 * KMS when `AUDIT_MAC_KEY_ID` is set (the stack sets it), else the local key
 * file of `dataDir` (never created here: only `npm start` makes one).
 */
export function macKeyFromEnvironment(dataDir: string): MacKey {
  const keyId = process.env[FUNCTION_ENV.auditMacKeyId];
  return keyId ? kmsMacKey(keyId, kmsAtFirstUse()) : fileMacKey(defaultMacKeyFile(dataDir));
}

function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "utf8"));
}

/** Eight hex digits of the key's hash: tells two keys apart in a report without revealing either. */
function fingerprint(key: Uint8Array): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}
