import type { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { createApp } from "../../functions/app.ts";
import { apiOptions } from "../../functions/handlers/api-options.ts";
import { ORIGIN_VERIFY_HEADER } from "../../functions/store/function-env.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { createStore } from "../../functions/store/store.ts";
import { newSession, SESSION_COOKIE, sealSession } from "../../functions/web/session.ts";

const SESSION_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:session";

/** Secrets Manager as the API function sees it: counts reads; `answer` decides each one. */
function fakeSecrets(answer: (read: number) => string | Error) {
  const asked: string[] = [];
  const client = {
    send: async (command: GetSecretValueCommand) => {
      asked.push(String(command.input.SecretId));
      const value = answer(asked.length);
      if (value instanceof Error) throw value;
      return { SecretString: value };
    },
  };
  return { asked, client: () => client as never };
}

/** The deployed app's composition with a store that is never reached by these requests. */
function deployedApp(secrets: ReturnType<typeof fakeSecrets>, env: NodeJS.ProcessEnv = {}) {
  const options = apiOptions({ SESSION_SECRET_ARN: SESSION_ARN, ...env }, secrets.client);
  const store = createStore({ tableName: "t", doc: {} as never, macKey: memoryMacKey() });
  return createApp(store, options);
}

const sessionCookie = (secret: string) => `${SESSION_COOKIE}=${sealSession(secret, newSession("hash"))}`;

describe("the API function's session secret", () => {
  it("is not fetched at init, nor by an API request; the first page that needs it reads it once", async () => {
    const secrets = fakeSecrets(() => "first-secret");
    const app = deployedApp(secrets);
    expect(secrets.asked).toEqual([]);
    expect((await app.request("/api/v1/openapi.json")).status).toBe(200);
    expect(secrets.asked).toEqual([]);
    const start = await app.request("/", { headers: { cookie: sessionCookie("first-secret") } });
    expect(start.headers.get("location")).toBe("/home");
    await app.request("/");
    expect(secrets.asked).toEqual([SESSION_ARN]);
  });

  it("is kept for the life of the instance, as when it was read at init: a rotated secret reaches new instances", async () => {
    let value = "first-secret";
    const secrets = fakeSecrets(() => value);
    const app = deployedApp(secrets);
    expect(
      (await app.request("/", { headers: { cookie: sessionCookie(value) } })).headers.get("location"),
    ).toBe("/home");
    value = "rotated-secret";
    const old = await app.request("/", { headers: { cookie: sessionCookie("first-secret") } });
    expect(old.headers.get("location")).toBe("/home");
    const rotated = await app.request("/", { headers: { cookie: sessionCookie("rotated-secret") } });
    expect(rotated.headers.get("location")).toBe("/signin");
    expect(secrets.asked).toHaveLength(1);
    const fresh = deployedApp(secrets);
    const after = await fresh.request("/", { headers: { cookie: sessionCookie("rotated-secret") } });
    expect(after.headers.get("location")).toBe("/home");
  });

  it("a refused read (revoked access, deleted secret) fails that request only; the next one reads again", async () => {
    const denied = Object.assign(new Error("not authorized"), { name: "AccessDeniedException" });
    const secrets = fakeSecrets((read) => (read === 1 ? denied : "first-secret"));
    const app = deployedApp(secrets);
    const failed = await app.request("/", { headers: { cookie: sessionCookie("first-secret") } });
    expect(failed.status).toBe(500);
    const retried = await app.request("/", { headers: { cookie: sessionCookie("first-secret") } });
    expect(retried.headers.get("location")).toBe("/home");
    expect(secrets.asked).toHaveLength(2);
  });

  it("an OpenID client secret is read at the first sign-in, not at init", () => {
    const secrets = fakeSecrets(() => "client-secret");
    const options = apiOptions(
      {
        SESSION_SECRET_ARN: SESSION_ARN,
        OIDC_ISSUER: "https://idp.example.test",
        OIDC_CLIENT_ID: "edc",
        OIDC_CLIENT_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oidc",
      },
      secrets.client,
    );
    expect(typeof options.oidc?.clientSecret).toBe("function");
    expect(secrets.asked).toEqual([]);
  });

  it("without SESSION_SECRET_ARN (and no SESSION_SECRET) the function refuses to start", () => {
    expect(() => apiOptions({}, fakeSecrets(() => "x").client)).toThrow(/SESSION_SECRET_ARN is not set/);
  });
});

describe("the API function's origin check (ORIGIN_VERIFY_SECRET_ARN)", () => {
  const ORIGIN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:origin";
  const ORIGIN = "o".repeat(48);
  const bySecret = (id: number, asked: string[]) =>
    asked[id - 1] === ORIGIN_ARN ? JSON.stringify({ current: ORIGIN }) : "first-secret";

  it("reads the origin and session secrets together at the first request, then neither again", async () => {
    const secrets = fakeSecrets((read) => bySecret(read, secrets.asked));
    const app = deployedApp(secrets, { ORIGIN_VERIFY_SECRET_ARN: ORIGIN_ARN });
    expect(secrets.asked).toEqual([]);
    const refused = await app.request("/api/v1/openapi.json");
    expect(refused.status).toBe(403);
    // Both reads started by the first check, before the answer: one round trip for a cold start's page.
    expect([...secrets.asked].sort()).toEqual([ORIGIN_ARN, SESSION_ARN].sort());
    const page = await app.request("/", {
      headers: { [ORIGIN_VERIFY_HEADER]: ORIGIN, cookie: sessionCookie("first-secret") },
    });
    expect(page.headers.get("location")).toBe("/home");
    expect(secrets.asked).toHaveLength(2);
  });

  it("is off without the ARN: the local server and the tests' handlers answer without the header", async () => {
    const options = apiOptions({ SESSION_SECRET_ARN: SESSION_ARN }, fakeSecrets(() => "x").client);
    expect(options.originVerify).toBeUndefined();
  });
});
