import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevEnvironment } from "../../functions/dev-environment.ts";
import { HttpBrowser, serveProduct } from "./http-browser.ts";

/**
 * People and their grants, through the admin API, and the sign-in of a person
 * through the local OpenID provider's real login form, over HTTP.
 */

const STUDY = "hucmsc-ms-nmo";
const ADMIN_KEY = "test-admin-key";
let env: DevEnvironment;
let base: string;

/** Signs in at the provider's own login form; answers the page the app lands the person on. */
async function signIn(username: string) {
  const person = env.signIn?.people.find((p) => p.username === username);
  if (!person) throw new Error(`no dev person ${username}`);
  const browser = new HttpBrowser();
  const form = await browser.follow(`${base}/auth/login`);
  expect(form.at.origin).toBe(new URL(env.signIn?.issuer ?? "").origin);
  const action = /<form method="post" action="([^"]+)"/.exec(await form.res.text())?.[1] ?? "";
  const landed = await browser.follow(new URL(action, form.at), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password: person.password }).toString(),
  });
  return { browser, landed };
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/api/v1/studies/${STUDY}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as any) };
}

async function personId(username: string): Promise<string> {
  const { body } = await api("GET", "/people");
  const found = body.people.find((p: { email?: string }) => p.email === `${username}@example.org`);
  if (!found) throw new Error(`${username} not listed`);
  return found.id;
}

let close: () => Promise<void>;
beforeAll(async () => {
  ({ env, base, close } = await serveProduct(ADMIN_KEY));
});

afterAll(() => close());

describe("people and their grants", () => {
  it("lists the dev people with the roles the dev study grants them", async () => {
    const { status, body } = await api("GET", "/people");
    expect(status).toBe(200);
    const monitor = body.people.find((p: { email?: string }) => p.email === "monitor@example.org");
    expect(monitor.grant.roles).toEqual([{ role: "monitor", sites: ["*"] }]);
    expect(body.people.some((p: { grant?: unknown }) => p.grant === undefined)).toBe(false);
  });

  it("grants, changes and revokes, keeping who did each and when", async () => {
    const id = await personId("sponsor");
    const granted = await api("PUT", `/people/${id}/grant`, {
      roles: [
        { role: "monitor", sites: ["site-02"] },
        { role: "coordinator", sites: ["site-01"] },
      ],
    });
    expect(granted.status).toBe(200);
    expect(granted.body.grant.roles).toHaveLength(2);
    expect((await api("DELETE", `/people/${id}/grant`)).status).toBe(204);
    expect((await api("DELETE", `/people/${id}/grant`)).status).toBe(404);
    const regranted = await api("PUT", `/people/${id}/grant`, { roles: [{ role: "sponsor", sites: ["*"] }] });
    const history = regranted.body.grant.history as { action: string; by: string; at: string }[];
    expect(history.map((h) => h.action)).toEqual(["grant", "change", "revoke", "grant"]);
    expect(history.slice(1).every((h) => h.by === "test-admin" && !Number.isNaN(Date.parse(h.at)))).toBe(
      true,
    );
    expect(regranted.body.grant.revokedAt).toBeUndefined();
  });

  it("refuses unknown sites and people, and anyone but an admin", async () => {
    const id = await personId("monitor");
    const bad = await api("PUT", `/people/${id}/grant`, { roles: [{ role: "monitor", sites: ["site-99"] }] });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].pointer).toBe("/roles/0/sites/0");
    expect(
      (await api("PUT", `/people/${"0".repeat(24)}/grant`, { roles: [{ role: "monitor", sites: ["*"] }] }))
        .status,
    ).toBe(404);
    const asMonitor = await fetch(`${base}/api/v1/studies/${STUDY}/people`, {
      headers: { authorization: `Bearer ${env.tokens.monitor?.token}` },
    });
    expect(asMonitor.status).toBe(403);
  });

  it("signs a person in through the provider, and a revocation stops the session at once", async () => {
    const { browser, landed } = await signIn("coordinator-site-01");
    expect(landed.res.status).toBe(200);
    expect(landed.at.pathname).toBe(`/studies/${STUDY}`);
    const html = await landed.res.text();
    expect(html).toContain("coordinator-site-01@example.org");
    expect(html).toContain("coordinator at site-01");
    expect((await api("DELETE", `/people/${await personId("coordinator-site-01")}/grant`)).status).toBe(204);
    const after = await browser.go(`${base}/studies/${STUDY}`);
    expect(after.status).toBe(302);
    expect(after.headers.get("location")).toMatch(/^\/signin/);
  });

  it("tells a person with no role here to ask an admin", async () => {
    await api("DELETE", `/people/${await personId("builder")}/grant`);
    const { landed } = await signIn("builder");
    expect(landed.res.status).toBe(403);
    expect(await landed.res.text()).toContain("hold no role at any study");
  });
});
