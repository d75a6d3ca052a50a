import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";

/**
 * Two tabs (or two people) press "Add concomitant medication" at once: both
 * open the same next number. The second save is another medication, not an
 * edit of the first: it was offered as a conflict to "re-apply on top of"
 * the first one, and saving again there overwrote the first medication.
 */

let e2e: E2E;

describeInBrowser("log entries added at the same time in two tabs", () => {
  beforeAll(async () => {
    // Pages are checked with axe-core elsewhere (site-journey); here only the numbers matter.
    e2e = await startE2E({ a11yOnLoad: false });
  }, 60_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it("keeps both: the later save takes the next number and says so", async () => {
    const subject = await e2e.enrol();
    const { context, page: first } = await e2e.signedInPage("site-01");
    try {
      const second = await context.newPage();
      for (const tab of [first, second]) {
        await tab.goto(`/studies/${STUDY}/subjects/${subject}`);
        await tab.getByRole("link", { name: "Add concomitant medication" }).click();
        await tab.waitForURL("**/events/logs/forms/con_med/instances/1");
      }
      for (const [tab, drug] of [
        [first, "Ibuprofen"],
        [second, "Baclofen"],
      ] as const) {
        await tab.locator("#f-drug").click();
        await tab.keyboard.type(drug, { delay: 20 });
        await tab.getByRole("button", { name: "Save as incomplete" }).click();
        // Saved, or refused as a conflict: either way the page says so.
        await tab.locator(".notice.ok, [data-conflict]").waitFor();
        expect(await tab.locator(".notice.ok, [data-conflict]").textContent()).toContain(
          "Saved as revision 1.",
        );
      }
      expect(new URL(second.url()).pathname).toBe(
        `/studies/${STUDY}/subjects/${subject}/events/logs/forms/con_med/instances/2`,
      );
      expect(await second.locator(".notice.ok").textContent()).toContain(
        "Someone else added #1 meanwhile: yours is kept as a new entry, #2.",
      );
      expect(await second.inputValue("#f-drug")).toBe("Baclofen");
      const stored = async (instance: number) =>
        (
          await e2e.api(
            "site-01",
            "GET",
            `/studies/${STUDY}/subjects/${subject}/events/logs/forms/con_med/instances/${instance}`,
          )
        ).body;
      expect(await stored(1)).toMatchObject({ rev: 1, data: { drug: "Ibuprofen" } });
      expect(await stored(2)).toMatchObject({ rev: 1, data: { drug: "Baclofen" } });
    } finally {
      await context.close();
    }
  });
});
