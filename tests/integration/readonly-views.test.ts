import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 9 item 7: roles that cannot save (monitor, sponsor, builder) read a
 * form as values with labels; no control takes typing that would never be
 * stored, and there is no save button.
 */

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";

/**
 * Controls a person could type into or tick, outside the header's sign-out
 * form and the queries section (a monitor's query is stored: as a query);
 * a monitor's Verify buttons are its own action, not data entry.
 */
function editableControls(html: string): string[] {
  const queries = html.indexOf('<section id="queries"');
  const main = html.slice(html.indexOf("<main"), queries === -1 ? undefined : queries);
  return [...main.matchAll(/<(input|select|textarea|button)\b[^>]*>/g)]
    .map((m) => m[0])
    .filter((tag) => !/type="hidden"/.test(tag) && !/\sdisabled\b/.test(tag) && !/\sdata-verify\b/.test(tag));
}

describe("a form page for a role that cannot save", () => {
  for (const role of ["monitor", "sponsor", "builder"]) {
    it(`shows ${role} the stored values as text, with no enabled control and no save button`, async () => {
      const subject = await product.enrol();
      const saved = await product.save(
        subject,
        "logs",
        "adverse_event",
        { data: { ae_term: "Headache" } },
        { instance: 1 },
      );
      expect(saved.status).toBe(200);
      const b = new Browser(product);
      await b.signIn(role);
      const page = await b.request(
        "GET",
        `${study}/subjects/${subject}/events/logs/forms/adverse_event/instances/1`,
      );
      expect(page.status).toBe(200);
      expect(editableControls(page.html)).toEqual([]);
      expect(page.html).not.toMatch(/Save as/);
      expect(page.html).toMatch(/<dt id="l-ae_term">[^<]*<\/dt>\s*<dd data-value="ae_term">Headache<\/dd>/);
      expect(page.html).toContain("Read only");
      expect(page.html.includes('id="raise-query"')).toBe(role === "monitor");
    });
  }

  it("still gives a site user the controls and the save buttons", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/vital_signs`);
    expect(editableControls(page.html).length).toBeGreaterThan(5);
    expect(page.html).toContain("Save as complete");
  });
});
