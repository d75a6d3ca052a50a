import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { accessLogEntries, type Product, startProduct } from "./harness.ts";

/** REDCap's own API answers, as saved from real projects: the shapes ours must match. */
const FIXTURES = [
  path.resolve(import.meta.dirname, "../../../shared/fixtures/redcap"),
  "/work/shared/fixtures/redcap",
].find((p) => {
  try {
    readFileSync(path.join(p, "redcapr-longitudinal/event.csv"));
    return true;
  } catch {
    return false;
  }
}) as string;
const header = (file: string) =>
  (parse(readFileSync(path.join(FIXTURES, file), "utf8"), { to: 1 }) as string[][])[0] ?? [];

let product: Product;
beforeAll(async () => {
  product = await startProduct();
  await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/subjects", {
    as: "site-01",
    body: { site: "site-01", arm: "rrms", subjectId: "01-007" },
  });
  await product.save("01-007", "screening", "diagnosis", {
    data: { diagnosis: "rrms", prior_dmt: ["natalizumab"] },
  });
  await product.save("01-007", "logs", "adverse_event", { data: { ae_term: "Fatigue" } }, { instance: 1 });
});
afterAll(() => product.close());

async function redcap(params: Record<string, string>, token = product.token("sponsor")) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, ...params }).toString(),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

const csvHeader = (text: string) => (parse(text, { to: 1 }) as string[][])[0] ?? [];

describe("the REDCap-compatible API (POST /api/)", () => {
  it("answers content=event, arm and formEventMapping with REDCap's columns", async () => {
    expect(csvHeader((await redcap({ content: "event", format: "csv" })).text)).toEqual(
      header("redcapr-longitudinal/event.csv"),
    );
    expect(csvHeader((await redcap({ content: "arm", format: "csv" })).text)).toEqual(
      header("redcapr-longitudinal/arm.csv"),
    );
    const mapping = JSON.parse((await redcap({ content: "formEventMapping", format: "json" })).text);
    expect(Object.keys(mapping[0])).toEqual(["arm_num", "unique_event_name", "form"]);
    expect(mapping).toContainEqual({ arm_num: 2, unique_event_name: "logs_arm_2", form: "adverse_event" });
  });

  it("answers content=metadata with the data dictionary's 18 columns, in REDCap's API names", async () => {
    const text = (await redcap({ content: "metadata", format: "csv" })).text;
    const ours = csvHeader(text);
    expect(ours).toHaveLength(header("redcapr-longitudinal/dictionary.csv").length);
    expect(ours[0]).toBe("field_name");
    const all = JSON.parse((await redcap({ content: "metadata", format: "json" })).text);
    expect(all[0]).toMatchObject({ field_name: "record_id", form_name: "consent" });
    const json = JSON.parse((await redcap({ content: "metadata", format: "json", "forms[0]": "edss" })).text);
    expect(new Set(json.map((r: { form_name: string }) => r.form_name))).toEqual(new Set(["edss"]));
    expect(json.find((r: { field_name: string }) => r.field_name === "edss_total")).toMatchObject({
      field_type: "dropdown",
    });
  });

  it("exports records in REDCap's flat shape: record id, event, repeat columns, ___ checkboxes, _complete", async () => {
    const res = await redcap({
      content: "record",
      format: "csv",
      type: "flat",
      "forms[0]": "diagnosis",
      "forms[1]": "adverse_event",
    });
    expect(res.status).toBe(200);
    const cols = csvHeader(res.text);
    const fixture = header("redcapr-longitudinal/data.csv");
    expect(cols[1]).toBe(fixture[1]); // redcap_event_name
    expect(cols).toEqual(
      expect.arrayContaining([
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "prior_dmt___natalizumab",
        "diagnosis_complete",
      ]),
    );
    expect(fixture.some((c) => /___/.test(c)) && fixture.some((c) => /_complete$/.test(c))).toBe(true);
    const rows = parse(res.text, { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.redcap_event_name === "screening_arm_1")).toMatchObject({
      record_id: "01-007",
      prior_dmt___natalizumab: "1",
      diagnosis_complete: "0",
    });
    expect(rows.find((r) => r.redcap_repeat_instrument === "adverse_event")).toMatchObject({
      redcap_repeat_instance: "1",
      ae_term: "Fatigue",
    });
  });

  it("filters records, fields and events given as PHP-style arrays", async () => {
    const json = JSON.parse(
      (
        await redcap({
          content: "record",
          format: "json",
          "records[0]": "01-007",
          "fields[0]": "record_id",
          "fields[1]": "diagnosis",
          "events[0]": "screening_arm_1",
        })
      ).text,
    );
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      record_id: "01-007",
      diagnosis: "rrms",
      redcap_event_name: "screening_arm_1",
    });
  });

  it("answers instrument, exportFieldNames, project and version", async () => {
    expect(JSON.parse((await redcap({ content: "instrument", format: "json" })).text)[0]).toEqual({
      instrument_name: "consent",
      instrument_label: expect.any(String),
    });
    expect(JSON.parse((await redcap({ content: "exportFieldNames", format: "json" })).text)).toContainEqual({
      original_field_name: "prior_dmt",
      choice_value: "natalizumab",
      export_field_name: "prior_dmt___natalizumab",
    });
    expect(JSON.parse((await redcap({ content: "project", format: "json" })).text)).toMatchObject({
      is_longitudinal: 1,
    });
    expect((await redcap({ content: "version" })).text).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("answers errors as REDCap does: 403 for a bad token, 400 with {error} for the rest, nothing written", async () => {
    const before = await product.snapshot();
    const bad = await redcap({ content: "record", format: "json" }, "nope");
    expect(bad.status).toBe(403);
    expect(JSON.parse(bad.text)).toEqual({ error: expect.stringContaining("permission") });
    expect((await redcap({ content: "nonsense", format: "json" })).status).toBe(400);
    expect((await redcap({ content: "record", format: "json", action: "import", data: "[]" })).status).toBe(
      403,
    );
    expect((await redcap({ content: "record", format: "xml" })).status).toBe(400);
    expect(await product.snapshot()).toEqual(before);
  });

  it("keeps a site-scoped token to its sites", async () => {
    const records = JSON.parse(
      (await redcap({ content: "record", format: "json" }, product.token("site-02"))).text,
    );
    expect(records).toEqual([]);
  });
});

describe("service keys", () => {
  const soon = () => new Date(Date.now() + 30 * 86_400_000).toISOString();
  const sponsorOwner = () => product.env.tokens.sponsor?.owner ?? "";
  beforeAll(async () => {
    product.env.tokens.admin = await storeDevKey(product.env.store, "redcap-test-admin", {
      user: "test-admin",
      role: "admin",
      study: product.env.studyId,
      sites: ["*"],
    });
  });

  it("are created by admins for a named owner with an expiry, shown once, listed without their value, and revoked", async () => {
    const created = await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/tokens", {
      as: "admin",
      body: {
        user: "acme-stats",
        owner: sponsorOwner(),
        scope: [{ role: "sponsor", sites: ["site-01"] }],
        expiresAt: soon(),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { token, id } = created.body;
    expect((await redcap({ content: "arm", format: "json" }, token)).status).toBe(200);
    const list = await product.call("GET", "/api/v1/studies/hucmsc-ms-nmo/tokens", { as: "admin" });
    const listed = list.body.tokens.find((t: { id: string }) => t.id === id);
    expect(listed).toMatchObject({
      user: "acme-stats",
      owner: sponsorOwner(),
      kind: "service",
      scope: [{ role: "sponsor", sites: ["site-01"] }],
      createdBy: "test-admin",
    });
    expect(JSON.stringify(list.body)).not.toContain(token);
    const write = await product.env.app.request("/api/v1/studies/hucmsc-ms-nmo/subjects", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ site: "site-01", arm: "rrms" }),
    });
    expect(write.status).toBe(403);
    expect(
      (await product.call("DELETE", `/api/v1/studies/hucmsc-ms-nmo/tokens/${id}`, { as: "admin" })).status,
    ).toBe(204);
    expect((await redcap({ content: "arm", format: "json" }, token)).status).toBe(403);
    const after = await product.call("GET", "/api/v1/studies/hucmsc-ms-nmo/tokens", { as: "admin" });
    expect(after.body.tokens.find((t: { id: string }) => t.id === id)).toMatchObject({
      revokedBy: "test-admin",
    });
  });

  it("must expire within a year, name known sites and roles the owner holds; only admins make them", async () => {
    const past = await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/tokens", {
      as: "admin",
      body: {
        user: "x",
        owner: sponsorOwner(),
        scope: [{ role: "sponsor", sites: ["site-09"] }],
        expiresAt: "2001-01-01T00:00:00Z",
      },
    });
    expect(past.status).toBe(422);
    expect(past.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      "/expiresAt",
      "/scope/0/sites/0",
    ]);
    const tooLate = await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/tokens", {
      as: "admin",
      body: {
        user: "x",
        owner: sponsorOwner(),
        scope: [{ role: "monitor", sites: ["*"] }],
        expiresAt: "2099-01-01T00:00:00Z",
      },
    });
    expect(tooLate.status).toBe(422);
    expect(tooLate.body.errors.map((e: { code: string }) => e.code).sort()).toEqual(["not-held", "too-late"]);
    const noExpiry = await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/tokens", {
      as: "admin",
      body: { user: "x", owner: sponsorOwner(), scope: [{ role: "sponsor", sites: ["*"] }] },
    });
    expect(noExpiry.status).toBe(400);
    for (const who of ["sponsor", "builder"]) {
      const refused = await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/tokens", {
        as: who,
        body: {
          user: "x",
          owner: sponsorOwner(),
          scope: [{ role: "sponsor", sites: ["*"] }],
          expiresAt: soon(),
        },
      });
      expect(refused.status, who).toBe(403);
    }
  });
});

describe("the REDCap API refuses what it does not do instead of faking success (issue 8, item 15)", () => {
  const rows = async (params: Record<string, string>) => {
    const res = await redcap({ content: "record", format: "json", ...params });
    expect(res.status, res.text).toBe(200);
    return JSON.parse(res.text) as Record<string, string | number>[];
  };
  const refused = async (params: Record<string, string>, message: RegExp) => {
    const res = await redcap({ format: "json", ...params });
    expect(res.status, res.text).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: expect.stringMatching(message) });
  };

  beforeAll(async () => {
    // 01-008 is in the NMO arm (REDCap's arm 2); 01-007 (above) in the RRMS arm (arm 1).
    await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/subjects", {
      as: "site-01",
      body: { site: "site-01", arm: "nmo", subjectId: "01-008" },
    });
    await product.save("01-008", "screening", "diagnosis", {
      data: { diagnosis: "nmosd", aqp4_igg: "positive", prior_dmt: ["natalizumab"] },
    });
  });

  it("answers an import (a data parameter, no action) other than records with REDCap's {error} 400 and writes nothing", async () => {
    const before = await product.snapshot();
    const data = JSON.stringify([{ record_id: "01-007", diagnosis: "nmosd" }]);
    for (const content of ["metadata", "arm", "event"])
      await refused({ content, data, token: product.token("site-01") }, /import/i);
    // The sponsor's key exports but may not enter data: REDCap's 403.
    const sponsor = await redcap({
      content: "record",
      format: "csv",
      returnFormat: "json",
      data: "record_id,diagnosis\n01-009,rrms\n",
    });
    expect(sponsor.status).toBe(403);
    expect(JSON.parse(sponsor.text).error).toMatch(/Import/);
    expect(await product.snapshot()).toEqual(before);
    expect((await rows({ "records[0]": "01-007", "fields[0]": "diagnosis" }))[0]).toMatchObject({
      diagnosis: "rrms",
    });
  });

  it("applies filterLogic per record × event row, with REDCap's logic", async () => {
    const nmo = await rows({ filterLogic: "[diagnosis] = 'nmosd'" });
    expect(nmo.map((r) => [r.record_id, r.redcap_event_name])).toEqual([["01-008", "screening_arm_2"]]);
    const fatigue = await rows({ filterLogic: "[ae_term] = 'Fatigue'", "forms[0]": "adverse_event" });
    expect(fatigue.map((r) => [r.record_id, r.redcap_repeat_instrument])).toEqual([
      ["01-007", "adverse_event"],
    ]);
    // The logic reads the whole row, not only the fields exported.
    const checked = await rows({ filterLogic: "[prior_dmt(natalizumab)] = '1'", "fields[0]": "aqp4_igg" });
    expect(checked.map((r) => r.record_id).sort()).toEqual(["01-007", "01-008"]);
    expect((await rows({ filterLogic: "" })).length).toBeGreaterThan(0);
    await refused({ content: "record", filterLogic: "[no_such_field] = 1" }, /filterLogic/);
    await refused({ content: "record", filterLogic: "[diagnosis] = " }, /filterLogic/);
  });

  it("reads events as arm-specific unique event names, and arms on arm, event and formEventMapping", async () => {
    const arm2 = await rows({ "events[0]": "screening_arm_2" });
    expect(new Set(arm2.map((r) => r.record_id))).toEqual(new Set(["01-008"]));
    const arm1 = await rows({ events: "screening_arm_1,logs_arm_1" });
    expect(new Set(arm1.map((r) => r.record_id))).toEqual(new Set(["01-007"]));
    const json = async (params: Record<string, string>) =>
      JSON.parse((await redcap({ format: "json", ...params })).text) as { arm_num: number }[];
    expect((await json({ content: "arm", "arms[0]": "2" })).map((a) => a.arm_num)).toEqual([2]);
    const events = await json({ content: "event", "arms[0]": "2" });
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.arm_num))).toEqual(new Set([2]));
    const mapping = await json({ content: "formEventMapping", arms: "1" });
    expect(new Set(mapping.map((e) => e.arm_num))).toEqual(new Set([1]));
    await refused({ content: "event", "arms[0]": "3" }, /"arms" are not valid: 3/);
  });

  it("returns the union of fields and forms, as REDCap does", async () => {
    const res = await rows({
      "fields[0]": "record_id",
      "fields[1]": "diagnosis",
      "forms[0]": "adverse_event",
    });
    const columns = new Set(res.flatMap((r) => Object.keys(r)));
    expect(columns).toContain("diagnosis");
    expect(columns).toContain("ae_term");
    expect(columns).toContain("adverse_event_complete");
    expect(columns).not.toContain("aqp4_igg");
    expect(res.find((r) => r.redcap_repeat_instrument === "adverse_event")).toMatchObject({
      ae_term: "Fatigue",
    });
    expect(res.find((r) => r.record_id === "01-008")).toMatchObject({ diagnosis: "nmosd" });
    const onlyAe = await rows({ "fields[0]": "record_id", "forms[0]": "adverse_event" });
    expect(onlyAe.find((r) => r.redcap_repeat_instrument === "adverse_event")).toMatchObject({
      ae_term: "Fatigue",
    });
    const meta = JSON.parse(
      (await redcap({ content: "metadata", format: "json", "fields[0]": "diagnosis", "forms[0]": "edss" }))
        .text,
    ) as { field_name: string; form_name: string }[];
    expect(new Set(meta.map((r) => r.form_name))).toEqual(new Set(["diagnosis", "edss"]));
    expect(meta.filter((r) => r.form_name === "diagnosis").map((r) => r.field_name)).toEqual(["diagnosis"]);
  });

  it("answers unknown field, form and event names with REDCap's error", async () => {
    await refused(
      { content: "record", "fields[0]": "diagnosis", "fields[1]": "nope" },
      /The following values in the parameter "fields" are not valid: nope/,
    );
    await refused({ content: "record", forms: "nope" }, /"forms" are not valid: nope/);
    await refused(
      { content: "record", "events[0]": "screening_arm_9" },
      /"events" are not valid: screening_arm_9/,
    );
    await refused({ content: "record", "events[0]": "screening" }, /"events" are not valid: screening/);
    await refused({ content: "metadata", "fields[0]": "nope" }, /"fields" are not valid: nope/);
    await refused({ content: "metadata", "forms[0]": "nope" }, /"forms" are not valid: nope/);
    await refused({ content: "exportFieldNames", field: "nope" }, /"field" is not valid/);
  });

  it("refuses parameters it does not support, and accepts the defaults REDCap clients send", async () => {
    // REDCap's API playground and PyCap / REDCapR send these on every record export.
    const defaults = {
      action: "export",
      type: "flat",
      csvDelimiter: "",
      rawOrLabel: "raw",
      rawOrLabelHeaders: "raw",
      exportCheckboxLabel: "false",
      exportSurveyFields: "false",
      exportDataAccessGroups: "false",
      exportBlankForGrayFormStatus: "false",
      filterLogic: "",
      dateRangeBegin: "",
      dateRangeEnd: "",
      returnFormat: "json",
    };
    expect((await rows(defaults)).length).toBeGreaterThan(0);
    expect((await redcap({ content: "metadata", format: "csv", returnFormat: "json" })).status).toBe(200);
    await refused({ content: "record", colour: "blue" }, /"colour"/);
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"])
      await refused({ content: "record", [name]: "x" }, new RegExp(`"${name}"`));
    await refused({ content: "arm", "fields[0]": "diagnosis" }, /"fields"/);
    await refused({ content: "record", rawOrLabelHeaders: "label" }, /rawOrLabelHeaders/);
    await refused({ content: "record", exportDataAccessGroups: "yes" }, /exportDataAccessGroups/);
    await refused({ content: "record", csvDelimiter: ";" }, /csvDelimiter/);
    await refused({ content: "record", rawOrLabel: "labels" }, /rawOrLabel/);
    await refused(
      { content: "record", exportBlankForGrayFormStatus: "true" },
      /exportBlankForGrayFormStatus/,
    );
    await refused(
      { content: "record", rawOrLabel: "label", exportCheckboxLabel: "true" },
      /exportCheckboxLabel/,
    );
  });
});

describe("filters of a de-identified token", () => {
  it("cannot probe real subject ids or identifiers through records or filterLogic", async () => {
    await storeDevKey(product.env.store, "redcap-deid-token", {
      user: "stats",
      role: "sponsor",
      study: product.env.studyId,
      sites: ["*"],
      deidentified: true,
    });
    const deid = (params: Record<string, string>) =>
      redcap({ content: "record", format: "json", ...params }, "redcap-deid-token");
    const all = JSON.parse((await deid({})).text) as { record_id: string }[];
    expect(all.length).toBeGreaterThan(0);
    expect(all.map((r) => r.record_id)).not.toContain("01-007");
    expect(JSON.parse((await deid({ "records[0]": "01-007" })).text)).toEqual([]);
    const key = all[0]?.record_id as string;
    const byKey = JSON.parse((await deid({ "records[0]": key })).text) as { record_id: string }[];
    expect(new Set(byKey.map((r) => r.record_id))).toEqual(new Set([key]));
    const probe = await deid({ filterLogic: "[record_id] = '01-007'" });
    expect(probe.status).toBe(400);
    expect(JSON.parse(probe.text).error).toMatch(/filterLogic/);
  });
});

describe("malformed REDCap API parameters (issue 8, item 12)", () => {
  it("answer REDCap's {error} with 400, never a 500", async () => {
    const cases: Record<string, string>[] = [
      { dateRangeBegin: "garbage" },
      { dateRangeEnd: "garbage" },
      { dateRangeBegin: "2024-13-45 10:00:00" },
      { dateRangeBegin: "2024-01-01 25:61:00" },
      { dateRangeEnd: "2024-02-30" },
      { type: "garbage" },
      { format: "garbage" },
      { rawOrLabel: "" },
      { "records[0]": "01-007", records: "{" },
    ];
    for (const params of cases) {
      const res = await redcap({ content: "record", format: "json", ...params });
      expect(res.status, `${JSON.stringify(params)} → ${res.text}`).toBeLessThan(500);
      if (res.status !== 200) expect(JSON.parse(res.text)).toEqual({ error: expect.any(String) });
    }
    const garbage = await redcap({ content: "record", format: "json", dateRangeBegin: "garbage" });
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.text).error).toMatch(/dateRangeBegin/);
    const xml = await redcap({ content: "record", format: "json", returnFormat: "xml", dateRangeEnd: "x" });
    expect(xml.status).toBe(400);
    expect(xml.text).toMatch(/<error>.*dateRangeEnd.*<\/error>/);
  });

  it("filter records by when they last changed, in REDCap's date-time format", async () => {
    const recent = await redcap({ content: "record", format: "json", dateRangeBegin: "2000-01-01 00:00:00" });
    expect(JSON.parse(recent.text).length).toBeGreaterThan(0);
    const future = await redcap({ content: "record", format: "json", dateRangeBegin: "2999-01-01" });
    expect(JSON.parse(future.text)).toEqual([]);
  });
});

describe("any parameter value on /api/", () => {
  it("answers 2xx or REDCap's {error} 4xx, never a 5xx, and writes nothing", async () => {
    // Every export answered is logged; nothing else may be written.
    const before = await product.snapshot(accessLogEntries);
    const names = ["content", "format", "type", "records", "fields[0]", "forms", "events[]", "arms", "field"];
    const more = [
      "rawOrLabel",
      "filterLogic",
      "dateRangeBegin",
      "dateRangeEnd",
      "returnFormat",
      "action",
      "data",
    ];
    const contents = [
      "record",
      "metadata",
      "event",
      "arm",
      "formEventMapping",
      "exportFieldNames",
      "version",
    ];
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom("", "json", "csv", "flat", "label", "[diagnosis] = 'x'", "2024-01-01", "01-007", "1"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...contents),
        fc.dictionary(fc.constantFrom(...names, ...more), value, { maxKeys: 4 }),
        async (content, params) => {
          const res = await redcap({ content, format: "json", ...params });
          expect(res.status, `${JSON.stringify(params)} → ${res.text}`).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    expect(await product.snapshot(accessLogEntries)).toEqual(before);
  });
});

describe("REDCap clients connect unchanged (issue 13, item 4)", () => {
  // What PyCap's export_records posts (requests form-encodes `fields[0]` as `fields%5B0%5D`).
  const pycapRecords = {
    content: "record",
    format: "json",
    returnFormat: "json",
    type: "flat",
    rawOrLabel: "raw",
    rawOrLabelHeaders: "raw",
    exportCheckboxLabel: "false",
    exportSurveyFields: "false",
    exportDataAccessGroups: "false",
    "records[0]": "01-007",
    "fields[0]": "record_id",
    "fields[1]": "prior_dmt",
    "forms[0]": "diagnosis",
    "forms[1]": "adverse_event",
  };

  it("gives every JSON record value as text, as REDCap does", async () => {
    const res = await redcap(pycapRecords);
    expect(res.status, res.text).toBe(200);
    const rows = JSON.parse(res.text) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) for (const value of Object.values(row)) expect(typeof value).toBe("string");
    expect(rows.find((r) => r.redcap_event_name === "screening_arm_1")).toMatchObject({
      record_id: "01-007",
      prior_dmt___natalizumab: "1",
      diagnosis_complete: "0",
    });
    expect(rows.find((r) => r.redcap_repeat_instrument === "adverse_event")).toMatchObject({
      redcap_repeat_instance: "1",
    });
  });

  it("answers exportFieldNames as REDCap: the record id first, each form's _complete, field= filtering", async () => {
    const all = JSON.parse((await redcap({ content: "exportFieldNames", format: "json" })).text);
    expect(all[0]).toEqual({
      original_field_name: "record_id",
      choice_value: "",
      export_field_name: "record_id",
    });
    expect(all).toContainEqual({
      original_field_name: "diagnosis_complete",
      choice_value: "",
      export_field_name: "diagnosis_complete",
    });
    const one = JSON.parse(
      (await redcap({ content: "exportFieldNames", format: "json", field: "prior_dmt" })).text,
    );
    expect(one.length).toBeGreaterThan(0);
    expect(new Set(one.map((r: { original_field_name: string }) => r.original_field_name))).toEqual(
      new Set(["prior_dmt"]),
    );
  });

  it("answers content=project with REDCap's whole key set and the study's own values", async () => {
    const project = JSON.parse(
      (await redcap({ content: "project", format: "json", returnFormat: "json" })).text,
    );
    expect(Object.keys(project)).toEqual(
      expect.arrayContaining([
        "project_id",
        "project_title",
        "creation_time",
        "production_time",
        "in_production",
        "purpose_other",
        "custom_record_label",
        "is_longitudinal",
        "has_repeating_instruments_or_events",
        "ddp_enabled",
        "project_irb_number",
        "project_pi_firstname",
        "display_today_now_button",
        "missing_data_codes",
        "external_modules",
        "bypass_branching_erase_field_prompt",
      ]),
    );
    expect(project).toMatchObject({ is_longitudinal: 1, has_repeating_instruments_or_events: 1 });
  });

  it("generates the next record name at the caller's site, and refuses a caller who cannot create records", async () => {
    const ids = (await product.env.store.listSubjects(product.env.studyId, ["site-01"])).map((s) => s.id);
    expect(ids).toContain("01-007");
    const highest = Math.max(0, ...ids.filter((id) => /^01-\d+$/.test(id)).map((id) => Number(id.slice(3))));
    const next = await redcap({ content: "generateNextRecordName" }, product.token("site-01"));
    expect(next.status, next.text).toBe(200);
    expect(next.text).toBe(`01-${String(highest + 1).padStart(3, "0")}`);
    const sponsor = await redcap({ content: "generateNextRecordName", returnFormat: "json" });
    expect(sponsor.status).toBe(403);
    expect(JSON.parse(sponsor.text)).toEqual({ error: expect.any(String) });
  });

  it("answers repeatingFormsEvents: the logs on the logs event of each arm", async () => {
    const repeating = JSON.parse((await redcap({ content: "repeatingFormsEvents", format: "json" })).text);
    expect(repeating).toContainEqual({
      event_name: "logs_arm_1",
      form_name: "adverse_event",
      custom_form_label: "",
    });
    expect(repeating).toContainEqual({
      event_name: "logs_arm_2",
      form_name: "adverse_event",
      custom_form_label: "",
    });
    const csv = await redcap({ content: "repeatingFormsEvents", format: "csv" });
    expect(csvHeader(csv.text)).toEqual(["event_name", "form_name", "custom_form_label"]);
  });

  it("answers sites as REDCap's data access groups, and their column on request", async () => {
    const groups = JSON.parse(
      (await redcap({ content: "dag", format: "json" }, product.token("site-01"))).text,
    );
    expect(groups).toEqual([
      { data_access_group_name: expect.any(String), unique_group_name: "site_01", data_access_group_id: 1 },
    ]);
    const rows = JSON.parse(
      (await redcap({ ...pycapRecords, exportDataAccessGroups: "true" }, product.token("site-01"))).text,
    ) as Record<string, string>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.redcap_data_access_group).toBe("site_01");
    const plain = JSON.parse((await redcap(pycapRecords)).text) as Record<string, string>[];
    expect(Object.keys(plain[0] ?? {})).not.toContain("redcap_data_access_group");
  });

  it("maps each person to the data access group of their site (blank at every site), within the caller's sites", async () => {
    const all = await redcap({ content: "userDagMapping", format: "json" }, product.token("monitor"));
    expect(all.status, all.text).toBe(200);
    const rows = JSON.parse(all.text) as { username: string; redcap_data_access_group: string }[];
    expect(rows).toContainEqual({ username: "dev-site-01", redcap_data_access_group: "site_01" });
    expect(rows).toContainEqual({ username: "dev-site-02", redcap_data_access_group: "site_02" });
    expect(rows).toContainEqual({ username: "dev-monitor", redcap_data_access_group: "" });
    const site = JSON.parse(
      (await redcap({ content: "userDagMapping", format: "json" }, product.token("site-01"))).text,
    ) as { redcap_data_access_group: string }[];
    expect(new Set(site.map((r) => r.redcap_data_access_group))).toEqual(new Set(["site_01", ""]));
  });

  it("answers errors in returnFormat, else in the format asked, else in XML, as REDCap does", async () => {
    const csv = await redcap({ content: "nonsense", format: "csv" });
    expect([csv.status, csv.type, csv.text.split("\n")[0]]).toEqual([400, "text/csv", "error"]);
    const xml = await redcap({ content: "nonsense" });
    expect(xml.type).toMatch(/xml/);
    expect(xml.text).toMatch(/<hash><error>.*<\/error><\/hash>/);
    const json = await redcap({ content: "nonsense", format: "csv", returnFormat: "json" });
    expect(JSON.parse(json.text)).toEqual({ error: expect.stringContaining("content") });
    const badToken = await redcap({ content: "record", format: "json", returnFormat: "xml" }, "nope");
    expect([badToken.status, badToken.text]).toEqual([403, expect.stringContaining("<error>")]);
  });
});
