import { describe, expect, it } from "vitest";
import { intersectGrants, withinGrants } from "../../functions/store/principal.ts";

describe("a key's scope against its owner's grant", () => {
  it("keeps each role at the sites the owner still holds it", () => {
    expect(
      intersectGrants(
        [
          { role: "coordinator", sites: ["*"] },
          { role: "monitor", sites: ["site-01", "site-02"] },
        ],
        [
          { role: "coordinator", sites: ["site-02"] },
          { role: "monitor", sites: ["*"] },
        ],
      ),
    ).toEqual([
      { role: "coordinator", sites: ["site-02"] },
      { role: "monitor", sites: ["site-01", "site-02"] },
    ]);
  });

  it("drops a role the owner no longer holds, or holds at none of the key's sites", () => {
    expect(
      intersectGrants(
        [
          { role: "sponsor", sites: ["*"] },
          { role: "coordinator", sites: ["site-01"] },
        ],
        [{ role: "coordinator", sites: ["site-02"] }],
      ),
    ).toEqual([]);
  });

  it("unites the sites of two grants of one role, all sites winning", () => {
    expect(
      intersectGrants(
        [{ role: "coordinator", sites: ["*"] }],
        [
          { role: "coordinator", sites: ["site-01"] },
          { role: "coordinator", sites: ["*"] },
        ],
      ),
    ).toEqual([{ role: "coordinator", sites: ["*"] }]);
  });

  it("is within the grant only when every role is held at every site, all sites meaning future ones too", () => {
    const held = [{ role: "coordinator" as const, sites: ["site-01", "site-02"] }];
    expect(withinGrants([{ role: "coordinator", sites: ["site-02"] }], held)).toBe(true);
    expect(withinGrants([{ role: "coordinator", sites: ["site-03"] }], held)).toBe(false);
    expect(withinGrants([{ role: "coordinator", sites: ["*"] }], held)).toBe(false);
    expect(withinGrants([{ role: "monitor", sites: ["site-01"] }], held)).toBe(false);
    expect(withinGrants([{ role: "monitor", sites: ["*"] }], [{ role: "monitor", sites: ["*"] }])).toBe(true);
  });
});
