import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * `hashIds` keys the subject ids of a de-identified export. Asked without
 * `deidentify`, the downloads used to ignore it and answer real ids and
 * identifiers, which the caller believed hashed; a bulk export job already
 * refuses the pair. Every download now refuses it the same way, writing
 * nothing out.
 */

let product: Product;
let subject: string;

beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  subject = await product.enrol();
  const saved = await product.save(subject, "screening", "demographics", {
    data: { initials: "QZY", date_of_birth: "1967-08-19" },
  });
  expect(saved.status).toBe(200);
});
afterAll(() => product.close());

describe("hashIds without deidentify", () => {
  for (const route of ["records?format=csv", "changes", "odm"]) {
    it(`GET /${route} refuses it with a pointer to hashIds`, async () => {
      const res = await product.call(
        "GET",
        `${BASE}/${route}${route.includes("?") ? "&" : "?"}hashIds=true`,
        {
          as: "sponsor",
        },
      );
      expect(res.status).toBe(400);
      expect(res.contentType).toContain("application/problem+json");
      expect(res.body.errors).toEqual([
        { pointer: "/hashIds", code: "deidentify", message: "hashIds needs deidentify" },
      ]);
      expect(JSON.stringify(res.body)).not.toContain(subject);
    });
  }

  it("still answers hashed ids with deidentify", async () => {
    const res = await product.call("GET", `${BASE}/records?format=csv&deidentify=true&hashIds=true`, {
      as: "sponsor",
    });
    expect(res.status).toBe(200);
    expect(res.body).not.toContain(subject);
  });

  it("the exports page's download refuses it too, without a 500 or the real ids", async () => {
    const browser = new Browser(product);
    await browser.signIn("sponsor");
    const res = await browser.request(
      "GET",
      `/studies/${product.env.studyId}/exports/records?format=csv&hashIds=true`,
    );
    expect(res.status).toBe(400);
    expect(res.html).not.toContain(subject);
  });
});
