import { expect, it } from "vitest";
import { sizes } from "../bench/cases/page-weight.ts";

/**
 * Issue 15: the form page's script at most 15 KB gzipped, its checks
 * precompiled per instrument; the builder's editor script at most 30 KB.
 */
it("keeps the form script within 15 KB and the editor's within 30 KB gzipped, and reports each validator's weight", async () => {
  const weights = await sizes({ before: false });
  expect(weights["script.form.gzip"]).toBeLessThanOrEqual(15 * 1024);
  // The builder's editor: meta-schema checks precompiled, RE2 from the shared pattern script (was 105,064 B at d56b89b).
  expect(weights["script.builder.gzip"]).toBeLessThanOrEqual(30 * 1024);
  const validators = Object.entries(weights).filter(([k]) => k.startsWith("validator."));
  expect(validators.length).toBeGreaterThan(10);
  console.log(
    Object.entries(weights)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n"),
  );
}, 60_000);
