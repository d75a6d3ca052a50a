import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES, type Role } from "../../functions/store/principal.ts";
import { accessLogEntries, BASE, type Product, STUDY, startProduct } from "./harness.ts";

/**
 * REDCap's logging export (`content=log`) from the audit. REDCap's shape, as
 * PyCap (redcap-tools/PyCap redcap/methods/logging.py) and REDCapR
 * (OuhscBbmc/REDCapR R/redcap-log-read.R) read it: rows of timestamp,
 * username, action, details, record; REDCapR sends `beginTime` `YYYY-MM-DD
 * 00:00` and `endTime` `YYYY-MM-DD 24:00` and reads `timestamp` as a date-time.
 */
const COLUMNS = ["timestamp", "username", "action", "details", "record"] as const;
type Row = Record<(typeof COLUMNS)[number], string>;

let product: Product;
async function key(name: string, role: Role, sites: string[], deidentified = false) {
  product.env.tokens[name] = await storeDevKey(product.env.store, `log-${name}`, {
    user: `log-${name}`,
    role,
    study: STUDY,
    sites,
    ...(deidentified ? { deidentified: true } : {}),
  });
}

beforeAll(async () => {
  product = await startProduct();
  await key("data_manager", "data_manager", [ALL_SITES]);
  await key("admin", "admin", [ALL_SITES]);
  await key("monitor-01", "monitor", ["site-01"]);
  await key("monitor-deid", "monitor", [ALL_SITES], true);
  await product.enrol("site-01", { site: "site-01", arm: "rrms", subjectId: "01-007" });
  await product.save("01-007", "screening", "demographics", { data: { initials: "JD", sex: "female" } });
  await product.save("01-007", "screening", "diagnosis", {
    data: { diagnosis: "rrms", prior_dmt: ["natalizumab"] },
  });
  await product.enrol("site-02", { site: "site-02", arm: "rrms", subjectId: "02-003" });
  const lock = await product.call("POST", `${BASE}/subjects/01-007/locks`, {
    as: "data_manager",
    body: { target: { event: "screening", form: "diagnosis", instance: 1 } },
  });
  expect(lock.status, JSON.stringify(lock.body)).toBe(201);
  const query = await product.call("POST", `${BASE}/subjects/01-007/queries`, {
    as: "monitor",
    body: {
      target: { event: "screening", form: "demographics", instance: 1, field: "sex" },
      text: "Check JD's sex",
    },
  });
  expect(query.status, JSON.stringify(query.body)).toBe(201);
});
afterAll(() => product.close());

async function log(params: Record<string, string>, as = "monitor") {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: product.token(as), content: "log", ...params }).toString(),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}
const rows = async (params: Record<string, string>, as?: string) => {
  const res = await log({ format: "json", ...params }, as);
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as Row[];
};

describe("content=log (REDCap's logging export)", () => {
  it("answers REDCap's rows, newest first, with data changes written as REDCap writes them", async () => {
    const all = await rows({});
    for (const row of all) expect(Object.keys(row)).toEqual([...COLUMNS]);
    expect(all.every((r) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(r.timestamp))).toBe(true);
    expect(all.map((r) => r.timestamp)).toEqual(
      all
        .map((r) => r.timestamp)
        .sort()
        .reverse(),
    );
    const of007 = all.filter((r) => r.record === "01-007");
    expect(of007.at(-1)).toMatchObject({
      action: "Created Record 01-007",
      username: "dev-site-01",
      details: "record_id = '01-007', redcap_data_access_group = 'site_01'",
    });
    const demographics = of007.find((r) => r.details.includes("initials"));
    expect(demographics?.action).toBe("Updated Record 01-007");
    expect(demographics?.details).toContain("[event = screening_arm_1]");
    expect(demographics?.details).toContain("initials = 'JD'");
    expect(demographics?.details).toContain("sex = 'female'");
    expect(demographics?.details).toContain("demographics_complete = '0'");
    expect(of007.find((r) => r.details.includes("prior_dmt"))?.details).toContain(
      "prior_dmt(natalizumab) = checked",
    );
    expect(of007.find((r) => r.action === "Lock/Unlock Record 01-007")?.details).toContain(
      "Action: Lock instrument",
    );
    expect(of007.find((r) => r.action === "Data Resolution Workflow 01-007")?.details).toContain(
      "Comment: Check JD's sex",
    );
    expect(all.some((r) => r.record === "02-003")).toBe(true);
  });

  it("answers CSV with REDCap's header, which REDCapR reads as a table", async () => {
    const res = await log({ format: "csv" });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/csv/);
    const table = parse(res.text) as string[][];
    expect(table[0]).toEqual([...COLUMNS]);
    expect(table.slice(1).length).toBe((await rows({})).length);
  });

  it("filters by logtype, user, record, dag and REDCapR's day bounds", async () => {
    const added = await rows({ logtype: "record_add" });
    expect(added.map((r) => r.action).sort()).toEqual(["Created Record 01-007", "Created Record 02-003"]);
    expect((await rows({ logtype: "lock_record" })).map((r) => r.username)).toEqual(["log-data_manager"]);
    const edits = await rows({ logtype: "record_edit" });
    expect(edits.length).toBe(2);
    expect(edits.every((r) => r.action.startsWith("Updated Record"))).toBe(true);
    expect(await rows({ logtype: "export" })).toEqual([]);
    expect((await rows({ user: "dev-site-02" })).map((r) => r.record)).toEqual(["02-003"]);
    expect(new Set((await rows({ record: "01-007" })).map((r) => r.record))).toEqual(new Set(["01-007"]));
    expect(new Set((await rows({ dag: "site_02" })).map((r) => r.record))).toEqual(new Set(["02-003"]));
    const today = new Date().toISOString().slice(0, 10);
    const day = await rows({ beginTime: `${today} 00:00`, endTime: `${today} 24:00` });
    expect(day.length).toBe((await rows({})).length);
    expect(await rows({ endTime: "2000-01-01 24:00" })).toEqual([]);
    expect(await rows({ beginTime: "2999-01-01 00:00:00" })).toEqual([]);
  });

  it("refuses bad parameters with REDCap's {error}, never a 500", async () => {
    const cases: Record<string, string>[] = [
      { logtype: "everything" },
      { beginTime: "2024-13-01 10:00" },
      { endTime: "2024-02-30 24:00" },
      { endTime: "2024-02-01 24:30" },
      { dag: "nowhere" },
      { format: "xml" },
      { fields: "initials" },
    ];
    for (const params of cases) {
      const res = await log({ format: "json", returnFormat: "json", ...params });
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(Object.keys(JSON.parse(res.text))).toEqual(["error"]);
    }
  });

  it("keeps a caller to its own sites: another site's records and groups are not there", async () => {
    const mine = await rows({}, "monitor-01");
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((r) => r.record === "02-003")).toBe(false);
    expect((await log({ format: "json", dag: "site_02" }, "monitor-01")).status).toBe(400);
    expect(await rows({ record: "02-003" }, "monitor-01")).toEqual([]);
  });

  it("takes verify-audit: refused to a sponsor, a coordinator and a de-identified key", async () => {
    for (const as of ["sponsor", "site-01", "monitor-deid"]) {
      const res = await log({ format: "json" }, as);
      expect(res.status, as).toBe(403);
      expect(JSON.parse(res.text)).toEqual({ error: expect.any(String) });
    }
  });

  it("shows an admin (who reads no identified data) the log without identifier values or free text", async () => {
    const text = (await log({ format: "json" }, "admin")).text;
    const all = JSON.parse(text) as Row[];
    expect(all.some((r) => r.details.includes("initials = [identifier withheld]"))).toBe(true);
    expect(all.some((r) => r.details.includes("sex = 'female'"))).toBe(true);
    expect(text).not.toContain("JD");
  });

  it("is logged as an export of the audit, the record asked for counted, never named", async () => {
    await rows({ record: "01-007", logtype: "record" });
    const entries = (await product.snapshot())
      .map((s) => JSON.parse(s))
      .filter((item) => accessLogEntries(item) && item.details?.content === "log");
    expect(entries.length).toBeGreaterThan(0);
    expect(JSON.stringify(entries)).not.toContain("01-007");
    expect(entries.some((e) => e.details.filters?.recordsCount === 1)).toBe(true);
  });
});
