import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";

/**
 * A reason is free text written by a site about a subject, and it names the
 * person as easily as a query does ("initials were those of her maiden name,
 * Smyth"). De-identified exports already drop review entries' text and
 * reasons; a revision's reason (a correction, a missing-data code's reason,
 * an entered-in-error mark) must go the same way, in the change feed and in
 * ODM, while what the reason was attached to (the change, the code, the mark)
 * stays.
 */

const NAME = "Smyth";
let product: Product;
let subject: string;

beforeAll(async () => {
  // Settled at once, so the change feed delivers what was just saved.
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  subject = await product.enrol();
  const demographics = { initials: "QZY", date_of_birth: "1967-08-19", sex: "female", height: 160 };
  const first = await product.save(subject, "screening", "demographics", {
    data: demographics,
    status: "complete",
    missing: { weight: { code: "UNK", reason: `Mrs ${NAME} declined the scale` } },
  } as never);
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  const corrected = await product.save(subject, "screening", "demographics", {
    data: { ...demographics, initials: "QZX", height: 161 },
    status: "complete",
    rev: 1,
    reason: `Initials were those of her maiden name, ${NAME}`,
    missing: { weight: { code: "UNK", reason: `Mrs ${NAME} declined the scale` } },
  } as never);
  expect(corrected.status, JSON.stringify(corrected.body)).toBe(200);
  const ae = await product.save(
    subject,
    "logs",
    "adverse_event",
    { data: { ae_term: "Headache" }, status: "incomplete" },
    { instance: 1 },
  );
  expect(ae.status).toBe(200);
  const marked = await product.call(
    "POST",
    `${product.formPath(subject, "logs", "adverse_event", 1)}/entered-in-error`,
    { as: "site-01", body: { rev: 1, reason: `Belongs to ${NAME}'s sister` } },
  );
  expect(marked.status, JSON.stringify(marked.body)).toBe(200);
});
afterAll(() => product.close());

const get = async (path: string) => {
  const res = await product.env.app.request(path, {
    headers: { authorization: `Bearer ${product.token("sponsor")}` },
  });
  expect(res.status).toBe(200);
  return res.text();
};

describe("a de-identified export leaves revision reasons out", () => {
  it("the change feed: no reason on revisions, the change and the mark still there", async () => {
    const identified = JSON.parse(await get(`${BASE}/changes?limit=100`)).changes;
    expect(JSON.stringify(identified)).toContain(NAME);

    const text = await get(`${BASE}/changes?limit=100&deidentify=true&hashIds=true`);
    expect(text).not.toContain(NAME);
    const changes = JSON.parse(text).changes as Record<string, unknown>[];
    expect(changes).toHaveLength(identified.length);
    for (const c of changes) expect(c).not.toHaveProperty("reason");
    const correction = changes.find((c) => c.form === "demographics" && c.rev === 2);
    expect(correction?.changes).toEqual([{ field: "height", old: 160, new: 161 }]);
    const mark = changes.find((c) => c.action === "entered-in-error");
    expect(mark).toMatchObject({ enteredInError: true, form: "adverse_event" });
  });

  it("ODM with its audit trail: no ReasonForChange text, the missing code and the mark still there", async () => {
    const identified = await get(`${BASE}/odm?audit=true&includeEnteredInError=true`);
    expect(identified).toContain(NAME);

    const xml = await get(`${BASE}/odm?audit=true&deidentify=true&hashIds=true&includeEnteredInError=true`);
    expect(xml).not.toContain(NAME);
    expect(xml).toContain('<FlagValue CodeListOID="CL.missing">UNK</FlagValue>');
    expect(xml).toContain("<ReasonForChange>Entered in error</ReasonForChange>");
    expect(xml).toContain('<Comment SponsorOrSite="Site">Entered in error</Comment>');
    const snapshot = await get(`${BASE}/odm?deidentify=true&includeEnteredInError=true`);
    expect(snapshot).not.toContain(NAME);
    expect(snapshot).toContain('<Comment SponsorOrSite="Site">UNK</Comment>');
  });
});
