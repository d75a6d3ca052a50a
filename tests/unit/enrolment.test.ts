import { describe, expect, it } from "vitest";
import type { StudyFile } from "../../functions/engine/definition.ts";
import { checkEnrolment } from "../../functions/engine/enrolment.ts";

const study = {
  arms: [{ id: "rrms", label: "RRMS" }],
  sites: [
    { id: "site-01", name: "Site 01", code: "01" },
    { id: "site-02", name: "Site 02", code: "02" },
  ],
  subjectIdPattern: "^[0-9]{2}-[0-9]{3}$",
} as unknown as StudyFile;

describe("checkEnrolment", () => {
  const check = (subjectId?: string, site = "site-01", arm = "rrms") =>
    checkEnrolment(study, { site, arm, subjectId }, ["site-01"]);

  it("accepts a generated id (none given) and an id with the site's code", async () => {
    expect(await check()).toEqual({ site: study.sites[0], errors: [] });
    expect((await check("01-777")).errors).toEqual([]);
  });

  it("refuses another site's code at /subjectId, the same for every such id", async () => {
    expect((await check("02-001")).errors).toEqual([
      { pointer: "/subjectId", code: "site-code", message: "must start with 01-, the code of site-01" },
    ]);
    expect((await check("02-777")).errors).toEqual((await check("02-001")).errors);
    expect((await check("02-777")).site).toBeUndefined();
  });

  it("reports the pattern, an unknown site and arm, and a site outside the caller's", async () => {
    expect((await check("1-1")).errors.map((e) => e.code)).toEqual(["pattern"]);
    expect((await check(undefined, "site-09", "x")).errors.map((e) => e.code)).toEqual([
      "unknown-site",
      "unknown-arm",
    ]);
    expect((await check(undefined, "site-02")).errors.map((e) => e.code)).toEqual(["not-your-site"]);
  });
});
