import { describe, expect, it } from "vitest";
import { can, roleNames, seesSite, sitesOf } from "../../functions/http/permissions.ts";
import { type Principal, readRole } from "../../functions/store/principal.ts";

const STUDY = "s";
const SITES = ["site-01", "site-02", "site-03"];
const person = (roles: Principal["roles"], extra: Partial<Principal> = {}): Principal => ({
  user: "p@example.org",
  person: "p1",
  study: STUDY,
  roles,
  ...extra,
});

describe("can over several grants", () => {
  const both = person([
    { role: "coordinator", sites: ["site-01"] },
    { role: "monitor", sites: ["site-02"] },
  ]);

  it("allows an action when one grant holds it at the site", () => {
    expect(can(both, "enter-data", { study: STUDY, site: "site-01" })).toBe(true);
    expect(can(both, "verify", { study: STUDY, site: "site-02" })).toBe(true);
  });

  it("does not lend one grant's action to another grant's sites", () => {
    expect(can(both, "enter-data", { study: STUDY, site: "site-02" })).toBe(false);
    expect(can(both, "verify", { study: STUDY, site: "site-01" })).toBe(false);
    expect(can(both, "read-identified", { study: STUDY, site: "site-03" })).toBe(false);
  });

  it("sees the union of the sites its reading grants cover, narrowed by action", () => {
    expect(sitesOf(both, SITES)).toEqual(["site-01", "site-02"]);
    expect(sitesOf(both, SITES, "enrol")).toEqual(["site-01"]);
    expect(seesSite(both, "site-03")).toBe(false);
  });

  it("grants nothing with no grant, another study, or a de-identified flag beyond exports", () => {
    expect(can(person([]), "read-deidentified")).toBe(false);
    expect(can(both, "read-identified", { study: "other" })).toBe(false);
    const deid = person([{ role: "sponsor", sites: ["*"] }], { deidentified: true });
    expect(can(deid, "export", { study: STUDY, site: "site-03" })).toBe(true);
    expect(can(deid, "read-identified")).toBe(false);
  });

  it("gives the investigator the coordinator's actions and signing, the admin no identified reads", () => {
    const investigator = person([{ role: "investigator", sites: ["site-01"] }]);
    expect(can(investigator, "sign", { study: STUDY, site: "site-01" })).toBe(true);
    expect(can(person([{ role: "coordinator", sites: ["*"] }]), "sign")).toBe(false);
    const admin = person([{ role: "admin", sites: ["*"] }]);
    expect(can(admin, "manage-users")).toBe(true);
    expect(can(admin, "read-identified")).toBe(false);
    expect(roleNames(both)).toBe("coordinator, monitor");
  });

  it("reads the first tokens' role `site` as coordinator and an unknown role as none", () => {
    expect(readRole("site")).toBe("coordinator");
    expect(readRole("data_manager")).toBe("data_manager");
    expect(readRole("root")).toBeUndefined();
  });
});
