import { describe, expect, it } from "vitest";
import { uniqueGroupName } from "../../functions/engine/redcap/project-xml.ts";

describe("REDCap's unique data access group names, as its exports spell them", () => {
  it("lower-cases, turns spaces into _, drops other characters and keeps 18", () => {
    // REDCapR's dag-write project: groups "dag-a" and "dag-b" are exported as daga and dagb.
    expect(uniqueGroupName("dag-a")).toBe("daga");
    expect(uniqueGroupName("Site 01 (North)")).toBe("site_01_north");
    expect(uniqueGroupName("Vanderbilt University Medical")).toBe("vanderbilt_univers");
  });
});
