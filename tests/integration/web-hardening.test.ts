import { createHash } from "node:crypto";
import { handle } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BODY_LIMITS } from "../../functions/http/body-limits.ts";
import { BASE, type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";
const ORIGIN = "http://localhost";

describe("sign-in sends the user only to a path on this site (issue 8 item 4, item 12 CR/LF)", () => {
  const hostile = [
    "/\\evil.example",
    "/\t/evil.example",
    "/\\/evil.example",
    "//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/..//evil.example",
    "/\r\n/evil.example",
    "/studies\r\nSet-Cookie: x=1",
  ];

  for (const next of hostile) {
    it(`after sign-in with next=${JSON.stringify(next)}, stays on our origin (303, never 500)`, async () => {
      const b = new Browser(product);
      const res = await b.request("POST", "/signin", { token: product.token("site-01"), next });
      expect(res.status).toBe(303);
      // What a browser does with the Location header: resolve it against the page's URL.
      const target = new URL(res.location ?? "", ORIGIN);
      expect(target.origin).toBe(ORIGIN);
      expect(res.location).toBe(study);
    });
  }

  it("keeps a same-origin next, query and fragment included", async () => {
    const b = new Browser(product);
    const next = `${study}/enrol?x=1#top`;
    const res = await b.request("POST", "/signin", { token: product.token("site-01"), next });
    expect(res.location).toBe(next);
  });

  it("does not carry a hostile next into the sign-in form", async () => {
    const b = new Browser(product);
    for (const next of hostile) {
      const res = await b.request("GET", `/signin?next=${encodeURIComponent(next)}`);
      expect(res.status).toBe(200);
      expect(res.html).toContain('name="next" value=""');
    }
    const kept = await b.request("GET", `/signin?next=${encodeURIComponent(`${study}/enrol`)}`);
    expect(kept.html).toContain(`name="next" value="${study}/enrol"`);
  });
});

/** A body that is produced only as it is read: counts what the server pulled. */
function endlessBody(totalBytes: number, chunkBytes = 64 * 1024) {
  const chunk = new TextEncoder().encode(`token=${"x".repeat(chunkBytes - 6)}`).subarray(0, chunkBytes);
  const pulled = { bytes: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= totalBytes) controller.close();
      else {
        pulled.bytes += chunk.length;
        controller.enqueue(chunk);
      }
    },
  });
  return { stream, pulled };
}

describe("request bodies are limited on every route before parsing (issue 8 item 8)", () => {
  it("refuses a large sign-in post by its Content-Length with 413 and an HTML page", async () => {
    const before = await product.snapshot();
    const size = BODY_LIMITS.signIn + 1;
    const res = await product.env.app.request("/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(size) },
      body: `token=${"x".repeat(size - 6)}`,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("too large");
    expect(await product.snapshot()).toEqual(before);
  });

  it("refuses a streamed sign-in post without Content-Length, reading no more than the limit", async () => {
    const before = await product.snapshot();
    const { stream, pulled } = endlessBody(20 * 1024 * 1024);
    const res = await product.env.app.request("/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    // Two chunks of slack: the stream may be read one chunk ahead.
    expect(pulled.bytes).toBeLessThanOrEqual(BODY_LIMITS.signIn + 2 * 64 * 1024);
    expect(await product.snapshot()).toEqual(before);
  });

  it("refuses an oversized form save from a signed-in user with 413 and writes nothing", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const formUrl = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const form = await b.request("GET", formUrl);
    const before = await product.snapshot();
    const res = await b.request("POST", formUrl, {
      _csrf: b.csrf(form.html),
      _rev: "0",
      _status: "incomplete",
      heart_rate: "60",
      padding: "x".repeat(BODY_LIMITS.default + 1),
    });
    expect(res.status).toBe(413);
    expect(res.html).toContain("too large");
    expect(await product.snapshot()).toEqual(before);
  });

  it("refuses a streamed form save without Content-Length with 413", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const before = await product.snapshot();
    const { stream, pulled } = endlessBody(20 * 1024 * 1024);
    const res = await product.env.app.request(
      `${study}/subjects/${subject}/events/screening/forms/vital_signs`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: b.cookie },
        body: stream,
        duplex: "half",
      } as RequestInit,
    );
    expect(res.status).toBe(413);
    expect(pulled.bytes).toBeLessThanOrEqual(BODY_LIMITS.default + 2 * 64 * 1024);
    expect(await product.snapshot()).toEqual(before);
  });

  it("gives builder uploads of definition files more room than form posts, and still a limit", async () => {
    const b = new Browser(product);
    await b.signIn("builder");
    const home = await b.request("GET", `${study}/builder`);
    const upload = (bytes: number) => {
      const form = new FormData();
      form.append("_csrf", b.csrf(home.html));
      form.append("upload", new File([`{"$id":"big","x":"${"x".repeat(bytes)}"}`], "big.json"));
      return form;
    };
    const roomy = await b.request("POST", `${study}/builder/draft`, upload(BODY_LIMITS.default * 2));
    expect(roomy.status).not.toBe(413);
    const before = await product.snapshot();
    const huge = await b.request("POST", `${study}/builder/draft`, upload(BODY_LIMITS.builder));
    expect(huge.status).toBe(413);
    expect(await product.snapshot()).toEqual(before);
  });

  it("keeps the API's limit answered as problem+json", async () => {
    const res = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      raw: JSON.stringify({ site: "site-01", arm: "rrms", pad: "x".repeat(BODY_LIMITS.default) }),
    });
    expect(res.status).toBe(413);
    expect(res.contentType).toContain("application/problem+json");
  });
});

describe("browser security headers (issue 8 item 9)", () => {
  const expectCommon = (headers: Headers) => {
    expect(headers.get("x-content-type-options")).toBe("nosniff");
    expect(headers.get("x-frame-options")).toBe("DENY");
    expect(headers.get("referrer-policy")).toBe("same-origin");
    const csp = headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? "";
    expect(scriptSrc).toContain("'self'");
    expect(scriptSrc).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-inline");
    return csp;
  };

  it("sends them, no-store, on the sign-in page; the page's only inline style is the one the CSP hashes", async () => {
    const res = await new Browser(product).request("GET", "/signin");
    const csp = expectCommon(res.headers);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.html)?.[1] ?? "";
    const hash = createHash("sha256").update(style).digest("base64");
    expect(/style-src ([^;]*)/.exec(csp)?.[1]).toContain(`'sha256-${hash}'`);
    expect(res.html).not.toMatch(/\sstyle="/);
  });

  it("sends them on pages with data: form and builder pages run no inline script", async () => {
    const subject = await product.enrol();
    const site = new Browser(product);
    await site.signIn("site-01");
    const builder = new Browser(product);
    await builder.signIn("builder");
    const pages = [
      await site.request("GET", study),
      await site.request("GET", `${study}/subjects/${subject}`),
      await site.request("GET", `${study}/subjects/${subject}/events/screening/forms/vital_signs`),
      await builder.request("GET", `${study}/builder`),
      await builder.request("GET", `${study}/builder/edit?file=instruments/mri.json`),
      await builder.request("GET", `${study}/builder/preview/diagnosis`),
    ];
    for (const page of pages) {
      expect(page.status).toBe(200);
      expectCommon(page.headers);
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(page.html).not.toMatch(/\sstyle="/);
      expect(page.html).not.toMatch(/\son[a-z]+="/);
      // Every <script> either loads a same-origin file or is a data block the browser does not run.
      for (const tag of page.html.match(/<script\b[^>]*>/g) ?? []) {
        expect(tag).toMatch(/\ssrc="\/(assets|studies\/[^/"]+\/validators)\/|\stype="application\/json"/);
      }
    }
    // No page compiles code in the browser, the builder's editor included: every page forbids eval.
    const evalAllowed = pages.map((page) =>
      /script-src [^;]*'unsafe-eval'/.test(page.headers.get("content-security-policy") ?? ""),
    );
    expect(evalAllowed).toEqual([false, false, false, false, false, false]);
    expect(pages.map((page) => page.headers.get("content-security-policy"))).toEqual(
      pages.map(() => expect.stringContaining("script-src 'self';")),
    );
  });

  it("sends them, no-store, on API answers, API errors and exports", async () => {
    const calls = [
      `${BASE}/subjects`,
      `${BASE}/subjects/99-999`,
      `${BASE}/records?format=csv`,
      `${BASE}/odm`,
      "/api/v1/openapi.json",
    ];
    for (const path of calls) {
      const res = await product.env.app.request(path, {
        headers: {
          authorization: `Bearer ${product.token(path.includes("subjects") ? "site-01" : "sponsor")}`,
        },
      });
      expect(res.status, path).toBeLessThan(500);
      expectCommon(res.headers);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      await res.arrayBuffer();
    }
  });

  it("sends them, no-store, on web exports and the not-found page", async () => {
    const b = new Browser(product);
    await b.signIn("sponsor");
    for (const path of [
      `${study}/exports/records?format=csv`,
      `${study}/exports/dictionary.csv`,
      "/nowhere",
    ]) {
      const res = await b.request("GET", path);
      expectCommon(res.headers);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
  });

  it("keeps the content-hashed scripts cacheable for a year, with nosniff", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const subject = await product.enrol();
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/edss`);
    const srcs = [...page.html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(srcs.map((src) => src.replace(/\.[0-9a-f]{12}\.js$/, ""))).toEqual([
      `${study}/validators/1/edss`,
      "/assets/form",
    ]);
    const [validator = "", form = ""] = srcs;
    const js = await product.env.app.request(form);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    // The instrument's checks spell out the protocol: behind the session, cached privately.
    const checks = await b.request("GET", validator);
    expect(checks.status).toBe(200);
    expect(checks.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    expect(checks.headers.get("content-type")).toContain("text/javascript");
    expect((await product.env.app.request(validator)).status).not.toBe(200);
  });

  it("loads RE2 only for a form whose checks have patterns, and refuses unknown validator paths with 404", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const subject = await product.enrol();
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/demographics`);
    const srcs = [...page.html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(srcs.map((src) => src.replace(/\.[0-9a-f]{12}\.js$/, ""))).toEqual([
      `${study}/validators/1/demographics`,
      "/assets/pattern",
      "/assets/form",
    ]);
    const good = srcs[0] ?? "";
    const hash = /\.([0-9a-f]{12})\.js$/.exec(good)?.[1] ?? "";
    for (const bad of [
      good.replace(hash, "0".repeat(12)),
      good.replace("/validators/1/", "/validators/99/"),
      good.replace("/validators/1/", "/validators/x/"),
      `${study}/validators/1/__proto__.${hash}.js`,
      `${study}/validators/1/constructor.${hash}.js`,
      `${study}/validators/1/demographics.js`,
      good.replace(study, "/studies/other-study"),
    ]) {
      const res = await b.request("GET", bad);
      expect(res.status, bad).toBe(404);
    }
  });

  it("adds HSTS over https (as in AWS, through the Lambda adapter), not over plain http", async () => {
    const local = await product.env.app.request("/signin");
    expect(local.headers.get("strict-transport-security")).toBeNull();
    const lambda = handle(product.env.app);
    const result = (await lambda(
      {
        version: "2.0",
        routeKey: "$default",
        rawPath: "/signin",
        rawQueryString: "",
        headers: { host: "abc.execute-api.eu-west-1.amazonaws.com" },
        requestContext: {
          domainName: "abc.execute-api.eu-west-1.amazonaws.com",
          http: {
            method: "GET",
            path: "/signin",
            protocol: "HTTP/1.1",
            sourceIp: "203.0.113.1",
            userAgent: "t",
          },
          requestId: "r",
          routeKey: "$default",
          stage: "$default",
          time: "",
          timeEpoch: 0,
          accountId: "1",
          apiId: "abc",
          domainPrefix: "abc",
        },
        isBase64Encoded: false,
      } as never,
      {} as never,
    )) as { statusCode: number; headers: Record<string, string> };
    expect(result.statusCode).toBe(200);
    expect(result.headers["strict-transport-security"]).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
    expect(result.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  });
});

describe("bad query parameters on web pages", () => {
  // Found by the API fuzz: `deidentify=` (empty) on the ODM download page answered 500.
  it("answers a malformed export option with 400 and a page naming it", async () => {
    const b = new Browser(product);
    await b.signIn("monitor");
    for (const query of ["deidentify=", "audit=yes", "deidentify=maybe&audit=true"]) {
      const res = await b.request("GET", `${study}/exports/odm?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.html).toMatch(/deidentify|audit/);
    }
  });
});

describe("form posts whose body cannot be read", () => {
  // Found probing hostile input: a multipart body that is not multipart answered 500, even signed out.
  const garbled = [
    "multipart/form-data; boundary=zz",
    "multipart/form-data",
    'multipart/form-data; boundary="unterminated',
  ];

  it("answers a sign-in post with a garbled multipart body with 400 and a page, not 500", async () => {
    for (const contentType of garbled) {
      const res = await product.env.app.request("/signin", {
        method: "POST",
        headers: { "content-type": contentType, origin: ORIGIN },
        body: "token=edc_x&next=/",
        redirect: "manual",
      });
      expect(res.status, contentType).toBe(400);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toContain("could not be read");
    }
  });

  it("answers a signed-in form save with a garbled multipart body with 400, writing nothing", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const formUrl = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    await b.request("GET", formUrl);
    const before = await product.snapshot();
    for (const contentType of garbled) {
      const res = await b.request("POST", formUrl, undefined, {
        "content-type": contentType,
        origin: ORIGIN,
      });
      expect(res.status, contentType).toBe(400);
      expect(res.html).toContain("could not be read");
    }
    const res = await product.env.app.request(formUrl, {
      method: "POST",
      headers: { cookie: b.cookie, origin: ORIGIN, "content-type": "multipart/form-data; boundary=zz" },
      body: '--zz\r\nContent-Disposition: form-data; name="_rev"\r\n\r\n0',
    });
    expect(res.status).toBe(400);
    expect(await product.snapshot()).toEqual(before);
  });
});
