import { describe, expect, it } from "vitest";
import { OdmQuery } from "../../functions/api/routes/exports.ts";
import { readOdmQuery } from "../../functions/http/odm-download.ts";
import { ProblemError } from "../../functions/http/problems.ts";

/** The export page reads the ODM query without the API's zod schema (web may not import api): they must agree. */
describe("the ODM query of the pages", () => {
  const queries: Record<string, string>[] = [
    {},
    { audit: "true" },
    { audit: "false", clinicalData: "false" },
    { deidentify: "true", hashIds: "true" },
    { includeEnteredInError: "true" },
    { sites: "site-01, site-02,,", subjects: "01-101" },
    { sites: "", subjects: "," },
    { unknown: "ignored" },
    { deidentify: "" },
    { audit: "yes" },
    { clinicalData: "1" },
    { deidentify: "maybe", audit: "true" },
    { hashIds: "TRUE", includeEnteredInError: "no" },
  ];

  for (const query of queries) {
    it(`reads ${JSON.stringify(query)} as the API does`, () => {
      const api = OdmQuery.safeParse(query);
      if (api.success) expect(readOdmQuery(query)).toEqual(api.data);
      else {
        const refused = (() => {
          try {
            readOdmQuery(query);
          } catch (e) {
            return e;
          }
        })();
        expect(refused).toBeInstanceOf(ProblemError);
        expect((refused as ProblemError).status).toBe(400);
        const named = api.error.issues.map((i) => String(i.path[0]));
        for (const name of named) expect((refused as ProblemError).message).toContain(name);
      }
    });
  }

  it("refuses every malformed flag at once", () => {
    expect(() => readOdmQuery({ deidentify: "maybe", audit: "yes" })).toThrow(
      "audit: must be true or false; deidentify: must be true or false",
    );
  });
});
