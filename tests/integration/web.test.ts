import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { keys } from "../../functions/store/keys.ts";
import { BASE, type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";

describe("signing in", () => {
  it("sends an unsigned-in visitor to the sign-in page, then back where they were going", async () => {
    const b = new Browser(product);
    const res = await b.request("GET", `${study}/enrol`);
    expect(res.status).toBe(302);
    expect(res.location).toBe(`/signin?next=${encodeURIComponent(`${study}/enrol`)}`);
    const signed = await b.request("POST", "/signin", {
      token: product.token("site-01"),
      next: `${study}/enrol`,
    });
    expect(signed.status).toBe(303);
    expect(signed.location).toBe(`${study}/enrol`);
  });

  it("sets an HttpOnly, SameSite session cookie that holds no token", async () => {
    const b = new Browser(product);
    const res = await b.signIn("site-01");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toContain(product.token("site-01"));
    expect(res.location).toBe(study);
  });

  it("refuses a wrong token with a message and no cookie", async () => {
    const b = new Browser(product);
    const res = await b.request("POST", "/signin", { token: "edc_wrong" });
    expect(res.status).toBe(401);
    expect(res.html).toContain("not valid");
    expect(b.cookie).toBe("");
  });

  it("ignores a tampered session cookie", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    b.cookie = `${b.cookie.slice(0, -3)}abc`;
    const res = await b.request("GET", study);
    expect(res.status).toBe(302);
    expect(res.location).toContain("/signin");
  });

  it("refuses a cross-site sign-in post", async () => {
    const b = new Browser(product);
    const res = await b.request(
      "POST",
      "/signin",
      { token: product.token("site-01") },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
  });

  it("signs out, and a copy of the signed-out cookie no longer works", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const copy = b.cookie;
    const page = await b.request("GET", study);
    const out = await b.request("POST", "/signout", { _csrf: b.csrf(page.html) });
    expect(out.status).toBe(303);
    expect((await b.request("GET", study)).status).toBe(302);
    b.cookie = copy;
    const replay = await b.request("GET", study);
    expect(replay.status).toBe(302);
    expect(replay.location).toContain("/signin");
  });
});

describe("CSRF", () => {
  it("refuses a form post without the session's CSRF token and writes nothing", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const before = await product.snapshot();
    const res = await b.request("POST", `${study}/enrol`, { site: "site-01", arm: "rrms", _csrf: "forged" });
    expect(res.status).toBe(403);
    expect(await product.snapshot()).toEqual(before);
  });

  it("does not accept another session's CSRF token", async () => {
    const a = new Browser(product);
    const b = new Browser(product);
    await a.signIn("site-01");
    await b.signIn("site-01");
    const token = a.csrf((await a.request("GET", study)).html);
    const res = await b.request("POST", `${study}/enrol`, { site: "site-01", arm: "rrms", _csrf: token });
    expect(res.status).toBe(403);
  });
});

describe("pages without JavaScript", () => {
  it("enrols, saves a form by full post, shows server errors beside fields, and keeps what was typed", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const enrolPage = await b.request("GET", `${study}/enrol`);
    const enrolled = await b.request("POST", `${study}/enrol`, {
      site: "site-01",
      arm: "rrms",
      _csrf: b.csrf(enrolPage.html),
    });
    expect(enrolled.status).toBe(303);
    const subjectUrl = enrolled.location ?? "";
    const subjectPage = await b.request("GET", subjectUrl);
    expect(subjectPage.html).toContain("Screening");
    const formUrl = `${subjectUrl}/events/screening/forms/vital_signs`;
    const form = await b.request("GET", formUrl);
    expect(form.html).toContain('for="f-systolic_bp"');

    const bad = await b.request("POST", formUrl, {
      _csrf: b.csrf(form.html),
      _rev: "0",
      _status: "incomplete",
      systolic_bp: "400",
      heart_rate: "sixty",
    });
    expect(bad.status).toBe(422);
    expect(bad.html).toMatch(/id="e-systolic_bp"[^>]*>must be between/);
    expect(bad.html).toMatch(/id="e-heart_rate"[^>]*>must be a whole number/);
    expect(bad.html).toContain('value="sixty"');

    const good = await b.request("POST", formUrl, {
      _csrf: b.csrf(form.html),
      _rev: "0",
      _status: "incomplete",
      systolic_bp: "120",
      diastolic_bp: "80",
    });
    expect(good.status).toBe(303);
    expect(good.location).toBe(`${new URL(formUrl, "http://x").pathname}?saved=1`);
    const after = await b.request("GET", good.location ?? "");
    expect(after.html).toContain("Saved as revision 1");
    expect(after.html).toMatch(/id="f-systolic_bp"[^>]*value="120"/);
    expect(after.html).toContain('data-history="systolic_bp"');
  });

  it("asks for a reason to change a complete form and shows it in the field history", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/consent`;
    const page = await b.request("GET", url);
    const fields = { consent_date: "2024-01-05", consent_version: "2.1", consent_signed: "true" };
    const saved = await b.request("POST", url, {
      ...fields,
      _csrf: b.csrf(page.html),
      _rev: "0",
      _status: "complete",
    });
    expect(saved.status, saved.html.slice(0, 2000)).toBe(303);
    const again = await b.request("GET", url);
    expect(again.html).toMatch(/data-reason[^>]*>/);
    const noReason = await b.request("POST", url, {
      ...fields,
      consent_version: "2.2",
      _csrf: b.csrf(again.html),
      _rev: b.rev(again.html),
      _status: "complete",
    });
    expect(noReason.status).toBe(422);
    expect(noReason.html).toMatch(/id="e-_reason"[^>]*>Say why/);
    const withReason = await b.request("POST", url, {
      ...fields,
      consent_version: "2.2",
      _reason: "Wrong version transcribed",
      _csrf: b.csrf(again.html),
      _rev: b.rev(again.html),
      _status: "complete",
    });
    expect(withReason.status).toBe(303);
    const history = (await b.request("GET", url)).html;
    const details =
      /<details class="history" data-history="consent_version">([\s\S]*?)<\/details>/.exec(history)?.[1] ??
      "";
    expect(details).toContain("2.1 → <strong>2.2</strong>");
    expect(details).toContain("dev-site-01");
    expect(details).toContain("Wrong version transcribed");
  });

  it("on a stale save, re-applies the user's own edits on top of what was saved meanwhile", async () => {
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const alice = new Browser(product);
    const bob = new Browser(product);
    await alice.signIn("site-01");
    await bob.signIn("site-01");
    const first = await alice.request("POST", url, {
      _csrf: alice.csrf((await alice.request("GET", url)).html),
      _rev: "0",
      _status: "incomplete",
      heart_rate: "60",
      temperature: "36.5",
    });
    expect(first.status).toBe(303);
    const alicePage = await alice.request("GET", url);
    const bobPage = await bob.request("GET", url);
    // Bob changes the temperature and saves first.
    expect(
      (
        await bob.request("POST", url, {
          _csrf: bob.csrf(bobPage.html),
          _rev: "1",
          _status: "incomplete",
          heart_rate: "60",
          temperature: "37.9",
        })
      ).status,
    ).toBe(303);
    // Alice, still on revision 1, changes the heart rate only.
    const stale = await alice.request("POST", url, {
      _csrf: alice.csrf(alicePage.html),
      _rev: "1",
      _status: "incomplete",
      heart_rate: "72",
      temperature: "36.5",
    });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain("data-conflict");
    expect(stale.html).toMatch(/36\.5 °C → <strong>37\.9 °C<\/strong>/);
    expect(stale.html).toMatch(/id="f-heart_rate"[^>]*value="72"/); // her edit kept
    expect(stale.html).toMatch(/id="f-temperature"[^>]*value="37.9"/); // his edit kept
    expect(alice.rev(stale.html)).toBe("2");
    const retry = await alice.request("POST", url, {
      _csrf: alice.csrf(stale.html),
      _rev: alice.rev(stale.html),
      _status: "incomplete",
      heart_rate: "72",
      temperature: "37.9",
    });
    expect(retry.status).toBe(303);
    const final = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
    });
    expect(final.body).toMatchObject({ rev: 3, data: { heart_rate: 72, temperature: 37.9 } });
  });

  it("shows only the caller's sites on the dashboard and answers 404 for another site's subject", async () => {
    const other = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
    const mine = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const dashboard = await b.request("GET", study);
    expect(dashboard.html).toContain(`data-subject="${mine}"`);
    expect(dashboard.html).not.toContain(`data-subject="${other}"`);
    expect((await b.request("GET", `${study}/subjects/${other}`)).status).toBe(404);
    expect((await b.request("GET", `${study}/subjects/${other}/events/screening/forms/edss`)).status).toBe(
      404,
    );
  });

  it("offers on the dashboard what the permission table grants: exports to every role", async () => {
    const links = async (name: string) => {
      const b = new Browser(product);
      await b.signIn(name);
      const html = (await b.request("GET", study)).html;
      return ["exports", "builder", "enrol"].filter((to) => html.includes(`href="${study}/${to}"`));
    };
    expect(await links("site-01")).toEqual(["exports", "enrol"]);
    expect(await links("monitor")).toEqual(["exports"]);
    expect(await links("builder")).toEqual(["exports", "builder"]);
  });

  it("reads the subject's forms once for a form post: the save reuses the page's reads", async () => {
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const b = new Browser(product);
    await b.signIn("site-01");
    const csrf = b.csrf((await b.request("GET", url)).html);
    const partition = keys.subjectPartition("hucmsc-ms-nmo", subject);
    const send = vi.spyOn(product.env.store.db.doc, "send");
    try {
      const saved = await b.request("POST", url, {
        _csrf: csrf,
        _rev: "0",
        _status: "incomplete",
        heart_rate: "60",
      });
      expect(saved.status).toBe(303);
      const partitionQueries = send.mock.calls.filter(
        ([command]) =>
          command instanceof QueryCommand && command.input.ExpressionAttributeValues?.[":pk"] === partition,
      );
      // The instance's revisions, the subject's current states and its review log (locks): one query each.
      expect(partitionQueries).toHaveLength(3);
      const prefixes = partitionQueries.map(
        ([command]) => (command as QueryCommand).input.ExpressionAttributeValues?.[":prefix"],
      );
      expect(new Set(prefixes).size).toBe(3);
    } finally {
      send.mockRestore();
    }
  });

  it("lets a monitor read pages but not post data", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("monitor");
    const url = `${study}/subjects/${subject}/events/screening/forms/edss`;
    const page = await b.request("GET", url);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("Save as complete");
    const post = await b.request("POST", url, {
      _csrf: b.csrf(page.html),
      _rev: "0",
      _status: "incomplete",
      edss_total: "2",
    });
    expect(post.status).toBe(403);
  });

  it("lists repeating adverse events with an add link to the next instance", async () => {
    const subject = await product.enrol();
    await product.save(subject, "logs", "adverse_event", { data: { ae_term: "Headache" } }, { instance: 1 });
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}`);
    expect(page.html).toContain("Headache");
    expect(page.html).toContain(`/events/logs/forms/adverse_event/instances/2`);
  });

  it("shows due and overdue visits from the schedule", async () => {
    const subject = await product.enrol();
    // Day 1 long ago: every follow-up not done is overdue by now.
    await product.save(subject, "iv_1", "infusion", { data: { infusion_date: "2020-01-01", route: "iv" } });
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}`);
    expect(page.html).toContain(`day 1 is <strong><span class="date">2020-01-01</span></strong>`);
    expect(page.html).toMatch(/id="event-m3"[\s\S]*?overdue/);
    expect(page.html).toContain("2020-03-30"); // m3 target: day 90
  });

  it("serves the form script with long caching", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const subject = await product.enrol();
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/edss`);
    const sources = [...page.html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? "");
    const form = sources.find((s) => s.startsWith("/assets/form.")) ?? "";
    expect(form).toMatch(/^\/assets\/form\.[0-9a-f]{12}\.js$/);
    const js = await product.env.app.request(form);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    // The instrument's precompiled checks: per definition version, content-hashed, behind the session.
    const checks = sources.find((s) => s.includes("/validators/")) ?? "";
    expect(checks).toMatch(/\/validators\/1\/edss\.[0-9a-f]+\.js$/);
    const code = await b.request("GET", checks);
    expect(code.status).toBe(200);
  });
});

describe("API problems stay JSON", () => {
  it("keeps answering API errors as problem+json", async () => {
    const res = await product.call("GET", `${BASE}/subjects/99-999`, { as: "site-01" });
    expect(res.contentType).toContain("application/problem+json");
  });
});
