import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GenerateMacCommand, VerifyMacCommand } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { headMessage, signHead } from "../../functions/engine/audit-chain.ts";
import { defaultMacKeyFile, fileMacKey, kmsMacKey, memoryMacKey } from "../../functions/store/mac-key.ts";

describe("a local MAC key", () => {
  it("verifies its own MACs and nothing else", async () => {
    const key = memoryMacKey(Buffer.alloc(32, 1));
    const mac = await key.mac("message");
    expect(await key.verify("message", mac)).toBe(true);
    expect(await key.verify("message!", mac)).toBe(false);
    expect(await key.verify("message", "not hex")).toBe(false);
    expect(await memoryMacKey(Buffer.alloc(32, 2)).verify("message", mac)).toBe(false);
  });

  it("computes the HMAC the engine's head signature does, so KMS and local keys agree", async () => {
    const bytes = Buffer.alloc(32, 7);
    const hash = "a".repeat(64);
    expect(await memoryMacKey(bytes).mac(headMessage("c", 3, hash))).toBe(signHead(bytes, "c", 3, hash));
  });

  it("is created once, mode 600, in a folder beside the data folder, and refused when missing unless asked", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "mac-key-"));
    const file = defaultMacKeyFile(path.join(root, ".data"));
    expect(file).toBe(path.join(root, ".edc-keys", "audit-mac.key"));
    await expect(fileMacKey(file).mac("m")).rejects.toThrow(/no audit MAC key/);
    const mac = await fileMacKey(file, { create: true }).mac("m");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readFileSync(file, "utf8");
    // A second start reads the same key rather than making another.
    expect(await fileMacKey(file, { create: true }).verify("m", mac)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(stored);
  });
});

describe("the KMS MAC key", () => {
  function fakeKms(answer: (command: unknown) => unknown) {
    const sent: unknown[] = [];
    return {
      sent,
      client: {
        send: async (command: unknown) => {
          sent.push(command);
          return answer(command);
        },
      } as never,
    };
  }

  it("asks GenerateMac for HMAC_SHA_256 over the message's UTF-8 with the configured key", async () => {
    const kms = fakeKms(() => ({ Mac: new Uint8Array(32).fill(0xab) }));
    const mac = await kmsMacKey("arn:aws:kms:eu-west-1:1:key/k", kms.client).mac("é");
    expect(mac).toBe("ab".repeat(32));
    const [command] = kms.sent;
    expect(command).toBeInstanceOf(GenerateMacCommand);
    const input = (command as GenerateMacCommand).input;
    expect(input.KeyId).toBe("arn:aws:kms:eu-west-1:1:key/k");
    expect(input.MacAlgorithm).toBe("HMAC_SHA_256");
    expect(Buffer.from(input.Message as Uint8Array).toString("hex")).toBe("c3a9");
  });

  it("asks VerifyMac with the MAC's bytes, and reads KMS's invalid-MAC exception as false", async () => {
    const kms = fakeKms(() => {
      throw Object.assign(new Error("invalid"), { name: "KMSInvalidMacException" });
    });
    const key = kmsMacKey("k", kms.client);
    expect(await key.verify("m", "0f".repeat(32))).toBe(false);
    const input = (kms.sent[0] as VerifyMacCommand).input;
    expect(kms.sent[0]).toBeInstanceOf(VerifyMacCommand);
    expect(input.MacAlgorithm).toBe("HMAC_SHA_256");
    expect(Buffer.from(input.Mac as Uint8Array).toString("hex")).toBe("0f".repeat(32));
    expect(Buffer.from(input.Message as Uint8Array).toString()).toBe("m");
    const valid = fakeKms(() => ({ MacValid: true }));
    expect(await kmsMacKey("k", valid.client).verify("m", "0f".repeat(32))).toBe(true);
  });

  it("lets any other KMS failure through rather than calling the entry forged", async () => {
    const kms = fakeKms(() => {
      throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
    });
    await expect(kmsMacKey("k", kms.client).verify("m", "0f".repeat(32))).rejects.toThrow("throttled");
  });
});
