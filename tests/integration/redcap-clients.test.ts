import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES, type Role } from "../../functions/store/principal.ts";
import { newToken } from "../../functions/store/tokens.ts";
import { multipart, startFileStudy } from "./file-study.ts";
import { type Product, STUDY } from "./harness.ts";

/**
 * The REDCap clients people use, replayed exactly: each request is the form
 * body the client's source builds (field names, lists as a comma string or
 * `fields[0]`, booleans as the language prints them, empty parameters kept),
 * encoded as the client's HTTP library encodes it, and each answer is read
 * the way the client reads it.
 *
 * Sources (MIT; read in the public code index, not copied):
 * - REDCapR (OuhscBbmc/REDCapR): R/kernel-api.R (httr::POST, encode = "form",
 *   so httr's compose_query: NULLs dropped, curl_escape(as.character(x)),
 *   R's FALSE → "FALSE"); R/redcap-read-oneshot.R (commit c5be88d);
 *   R/redcap-write-oneshot.R (commit 03efb09: httr::POST without `encode`,
 *   i.e. multipart; utils::write.csv; answer split on "\n", header dropped);
 *   R/redcap-metadata-read.R; R/redcap-project-info-read.R;
 *   R/redcap-event-read.R; R/redcap-arm-export.R; R/redcap-log-read.R
 *   (commit a7a9175: beginTime "%Y-%m-%d 00:00", endTime "%Y-%m-%d 24:00").
 *   Every answer goes through readr::read_csv: a header row, typed columns.
 *   sanitize_token: 32 hexadecimal characters.
 * - PyCap (redcap-tools/PyCap): redcap/methods/base.py (_initialize_payload:
 *   token, content, format, type=flat for records; 32-character token
 *   asserted; imports json.dumps with separators (",", ":")),
 *   redcap/methods/records.py (lists as `fields[0]`…, eventName=label by
 *   default, forceAutoNumber as Python's False), redcap/methods/logging.py
 *   (beginTime "%Y-%m-%d %H:%M:%S"), redcap/methods/metadata.py,
 *   project_info.py, arms.py, events.py. Bodies go through requests
 *   (urlencode with quote_plus, False → "False"); JSON answers are decoded and
 *   an object with an "error" key is raised as RedcapError.
 * - Files: PyCap redcap/methods/files.py (export_file, import_file,
 *   delete_file: `format` deleted from the payload, returnFormat json, the file
 *   as requests' files={"file": (name, object)}, the name parsed from the
 *   Content-Type); REDCapR R/redcap-file-upload-oneshot.R (multipart,
 *   httr::upload_file, returnFormat csv) and R/redcap-file-download-oneshot.R
 *   (form-encoded, the name taken from the Content-Type's `name=`).
 */

let product: Product;
let close: () => Promise<void>;
const tokens: Record<string, string> = {};
async function key(name: string, role: Role, sites: string[]) {
  tokens[name] = newToken("redcap");
  await storeDevKey(product.env.store, tokens[name], { user: `client-${name}`, role, study: STUDY, sites });
}

beforeAll(async () => {
  ({ product, close } = await startFileStudy());
  await key("sponsor", "sponsor", [ALL_SITES]);
  await key("coordinator", "coordinator", ["site-01"]);
  await key("monitor", "monitor", [ALL_SITES]);
  await product.enrol("site-01", { site: "site-01", arm: "rrms", subjectId: "01-007" });
  await product.save("01-007", "screening", "diagnosis", {
    data: { diagnosis: "rrms", prior_dmt: ["natalizumab"] },
  });
});
afterAll(() => close());

/** curl_escape: everything but ALPHA, DIGIT and -._~ is percent-encoded (encodeURIComponent leaves !'()*). */
const curlEscape = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
type RValue = string | boolean | null;
/** httr's form encoding of an R list: NULL elements dropped, logicals as R prints them. */
const httrForm = (body: Record<string, RValue>) =>
  Object.entries(body)
    .filter(([, v]) => v !== null)
    .map(
      ([k, v]) =>
        `${curlEscape(k)}=${curlEscape(typeof v === "boolean" ? (v ? "TRUE" : "FALSE") : String(v))}`,
    )
    .join("&");
type PyValue = string | boolean;
/** requests' form encoding of a dict: urlencode with quote_plus, booleans as Python prints them. */
const requestsForm = (payload: Record<string, PyValue>) =>
  Object.entries(payload)
    .map(([k, v]) => {
      const text = typeof v === "boolean" ? (v ? "True" : "False") : v;
      const quote = (s: string) => curlEscape(s).replaceAll("%20", "+");
      return `${quote(k)}=${quote(text)}`;
    })
    .join("&");

async function post(body: string | FormData) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    ...(typeof body === "string"
      ? { headers: { "content-type": "application/x-www-form-urlencoded" }, body }
      : { body }),
  });
  return { status: res.status, text: await res.text() };
}

/** A multipart body as the client's HTTP library writes it: its text parts, then the file part. */
async function postMultipart(fields: Record<string, string>, file: Parameters<typeof multipart>[1]) {
  const { body, contentType } = multipart(fields, file);
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** An answer kept as bytes (a file export), with its headers. */
async function postBytes(body: string) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const SCAN = Buffer.from("%PDF-1.4\n% the consent of 01-007\n");

/** readr::read_csv: the first line is the header; every later line a row of that many cells. */
function readrCsv(text: string): { names: string[]; rows: Record<string, string>[] } {
  const table = parse(text.replaceAll("\r\n", "\n"), { relax_column_count: false }) as string[][];
  const names = table[0] ?? [];
  expect(new Set(names).size, "readr would rename duplicate columns").toBe(names.length);
  return { names, rows: table.slice(1).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i] ?? ""]))) };
}
const readrInteger = (v: string | undefined) => v === "" || /^-?\d+$/.test(v ?? "");
/** readr's col_logical: T/F, TRUE/FALSE, true/false, 1/0, or empty (NA). */
const readrLogical = (v: string | undefined) =>
  ["", "T", "F", "TRUE", "FALSE", "true", "false", "1", "0"].includes(v ?? "");

/** PyCap: json-decode; an object with "error" is its RedcapError. */
function pycapJson(res: { status: number; text: string }) {
  const content: unknown = JSON.parse(res.text);
  const bad =
    typeof content === "object" && content !== null && !Array.isArray(content) && "error" in content;
  return { content, bad };
}

describe("REDCapR, as its sources send and read", () => {
  it("its token is REDCap's: 32 hexadecimal characters", () => {
    for (const t of Object.values(tokens)) expect(t).toMatch(/^[0-9A-F]{32}$/);
  });

  it("redcap_read_oneshot: every default sent (FALSE as R prints it), fields as a comma list; read with readr", async () => {
    const res = await post(
      httrForm({
        token: tokens.sponsor as string,
        content: "record",
        format: "csv",
        type: "flat",
        rawOrLabel: "raw",
        rawOrLabelHeaders: "raw",
        exportCheckboxLabel: "false",
        exportSurveyFields: "false",
        exportDataAccessGroups: "false",
        filterLogic: "",
        dateRangeBegin: "",
        dateRangeEnd: "",
        exportBlankForGrayFormStatus: false,
        fields: "record_id,diagnosis,prior_dmt",
      }),
    );
    expect(res.status, res.text).toBe(200);
    const { names, rows } = readrCsv(res.text);
    expect(names[0]).toBe("record_id");
    expect(names).toContain("redcap_event_name");
    expect(names).toContain("prior_dmt___natalizumab");
    expect(
      rows.find((r) => r.record_id === "01-007" && r.diagnosis === "rrms")?.prior_dmt___natalizumab,
    ).toBe("1");
  });

  it("redcap_read_oneshot with a filter and records: filterLogic text and records as a comma list", async () => {
    const res = await post(
      httrForm({
        token: tokens.sponsor as string,
        content: "record",
        format: "csv",
        type: "flat",
        rawOrLabel: "raw",
        rawOrLabelHeaders: "raw",
        exportCheckboxLabel: "false",
        exportSurveyFields: "false",
        exportDataAccessGroups: "true",
        filterLogic: "[diagnosis] = 'rrms'",
        dateRangeBegin: "2000-01-01 00:00:00",
        dateRangeEnd: "",
        exportBlankForGrayFormStatus: false,
        records: "01-007,01-999",
        fields: "record_id,diagnosis",
      }),
    );
    expect(res.status, res.text).toBe(200);
    const { names, rows } = readrCsv(res.text);
    expect(names[0]).toBe("record_id");
    expect(names).toContain("redcap_data_access_group");
    expect(new Set(rows.map((r) => r.record_id))).toEqual(new Set(["01-007"]));
  });

  it("redcap_write_oneshot: write.csv's quoted CSV, multipart; the ids read from the answer's lines after the header", async () => {
    const csv = ['"record_id","redcap_event_name","diagnosis"', '"01-050","screening_arm_1","rrms"'].join(
      "\n",
    );
    const form = new FormData();
    for (const [k, v] of Object.entries({
      token: tokens.coordinator as string,
      content: "record",
      format: "csv",
      type: "flat",
      data: csv,
      overwriteBehavior: "overwrite",
      returnContent: "ids",
      returnFormat: "csv",
    }))
      form.append(k, v);
    const res = await post(form);
    expect(res.status, res.text).toBe(200);
    // R's strsplit drops the empty string after a final newline.
    const elements = res.text.split("\n");
    if (elements.at(-1) === "") elements.pop();
    expect(elements.slice(1).map((id) => id.replaceAll('"', ""))).toEqual(["01-050"]);
  });

  it("redcap_metadata_read: empty forms and fields are no filter; field_name first, record id first", async () => {
    const res = await post(
      httrForm({
        token: tokens.sponsor as string,
        content: "metadata",
        format: "csv",
        forms: "",
        fields: "",
      }),
    );
    expect(res.status, res.text).toBe(200);
    const { names, rows } = readrCsv(res.text);
    expect(names[0]).toBe("field_name");
    expect(rows[0]?.field_name).toBe("record_id");
  });

  it("redcap_project_info_read: every column is one REDCapR types, each value parses as its type", async () => {
    const res = await post(httrForm({ token: tokens.sponsor as string, content: "project", format: "csv" }));
    expect(res.status, res.text).toBe(200);
    const { names, rows } = readrCsv(res.text);
    const integers = ["project_id", "purpose"];
    const logicals = [
      "in_production",
      "is_longitudinal",
      "has_repeating_instruments_or_events",
      "surveys_enabled",
      "scheduling_enabled",
      "record_autonumbering_enabled",
      "randomization_enabled",
      "ddp_enabled",
      "display_today_now_button",
    ];
    const characters = [
      "project_title",
      "creation_time",
      "production_time",
      "project_language",
      "purpose_other",
      "project_notes",
      "custom_record_label",
      "secondary_unique_field",
      "project_irb_number",
      "project_grant_number",
      "project_pi_firstname",
      "project_pi_lastname",
      "missing_data_codes",
      "external_modules",
      "bypass_branching_erase_field_prompt",
    ];
    expect(names.filter((n) => ![...integers, ...logicals, ...characters].includes(n))).toEqual([]);
    expect(rows).toHaveLength(1);
    for (const n of integers) expect(readrInteger(rows[0]?.[n]), n).toBe(true);
    for (const n of logicals) expect(readrLogical(rows[0]?.[n]), n).toBe(true);
    expect(rows[0]?.is_longitudinal).toBe("1");
  });

  it("redcap_event_read and redcap_arm_export: the columns they type, integers where they read integers", async () => {
    const events = readrCsv(
      (await post(httrForm({ token: tokens.sponsor as string, content: "event", format: "csv" }))).text,
    );
    expect(events.names).toEqual([
      "event_name",
      "arm_num",
      "unique_event_name",
      "custom_event_label",
      "event_id",
    ]);
    for (const r of events.rows) expect(readrInteger(r.arm_num) && readrInteger(r.event_id)).toBe(true);
    expect(events.rows.map((r) => r.unique_event_name)).toContain("screening_arm_1");
    const arms = readrCsv(
      (await post(httrForm({ token: tokens.sponsor as string, content: "arm", format: "csv" }))).text,
    );
    expect(arms.names).toEqual(["arm_num", "name"]);
    expect(arms.rows.every((r) => readrInteger(r.arm_num))).toBe(true);
  });

  it("redcap_log_read: a day from 00:00 to 24:00, record and user NULL (dropped); timestamp a readr date-time", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await post(
      httrForm({
        token: tokens.monitor as string,
        content: "log",
        format: "csv",
        beginTime: `${today} 00:00`,
        endTime: `${today} 24:00`,
        record: null,
        user: null,
      }),
    );
    expect(res.status, res.text).toBe(200);
    const { names, rows } = readrCsv(res.text);
    expect(names).toEqual(["timestamp", "username", "action", "details", "record"]);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows)
      expect(Number.isNaN(Date.parse(`${r.timestamp?.replace(" ", "T")}:00Z`))).toBe(false);
    expect(rows.some((r) => r.action === "Created Record 01-007")).toBe(true);
  });

  it("redcap_file_upload_oneshot: multipart, httr's upload_file typed by mime::guess_type, returnFormat csv; success is a 200", async () => {
    const res = await postMultipart(
      {
        token: tokens.coordinator as string,
        content: "file",
        action: "import",
        record: "01-007",
        field: "consent_scan",
        returnFormat: "csv",
        event: "screening_arm_1",
      },
      { name: "file", filename: "consent-01-007.pdf", type: "application/pdf", bytes: SCAN },
    );
    expect(res.status, res.bytes.toString()).toBe(200);
  });

  it("redcap_file_download_oneshot: form-encoded, returnFormat csv; the file name read from the Content-Type's name=", async () => {
    const res = await postBytes(
      httrForm({
        token: tokens.sponsor as string,
        content: "file",
        action: "export",
        record: "01-007",
        field: "consent_scan",
        returnFormat: "csv",
        event: "screening_arm_1",
      }),
    );
    expect(res.status, res.bytes.toString()).toBe(200);
    // regmatches(headers, regexpr("name=.*", headers)), then gsub('(name=.)|(")', "").
    const contentType = res.headers.get("content-type") ?? "";
    const fileName = (/name=.*/.exec(contentType)?.[0] ?? "").replace(/(name=.)|(")/g, "");
    expect(fileName).toBe("consent-01-007.pdf");
    expect(res.bytes.equals(SCAN)).toBe(true);
  });

  it("an error is REDCap's: not a 200, so REDCapR reports the raw text", async () => {
    const res = await post(httrForm({ token: "0".repeat(32), content: "record", format: "csv" }));
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/^error\n/);
  });
});

describe("PyCap, as its sources send and read", () => {
  it("export_records(): format json, type flat, rawOrLabel raw and eventName label by default; a list comes back", async () => {
    const res = await post(
      requestsForm({
        token: tokens.sponsor as string,
        content: "record",
        format: "json",
        type: "flat",
        rawOrLabel: "raw",
        eventName: "label",
      }),
    );
    expect(res.status, res.text).toBe(200);
    const { content, bad } = pycapJson(res);
    expect(bad).toBe(false);
    const records = content as Record<string, string>[];
    expect(Object.keys(records[0] ?? {})[0]).toBe("record_id");
    expect(records.find((r) => r.record_id === "01-007")?.redcap_event_name).toBe("screening_arm_1");
  });

  it("export_records(records=…, fields=…): lists as records[0], fields[0], fields[1]", async () => {
    const res = await post(
      requestsForm({
        token: tokens.sponsor as string,
        content: "record",
        format: "json",
        type: "flat",
        "records[0]": "01-007",
        "fields[0]": "record_id",
        "fields[1]": "diagnosis",
        rawOrLabel: "raw",
        eventName: "label",
        exportDataAccessGroups: true,
      }),
    );
    const { content, bad } = pycapJson(res);
    expect(bad, res.text).toBe(false);
    const rows = content as Record<string, string>[];
    expect(new Set(rows.map((r) => r.record_id))).toEqual(new Set(["01-007"]));
    expect(rows.some((r) => r.diagnosis === "rrms" && r.redcap_data_access_group === "site_01")).toBe(true);
  });

  it("import_records(): compact json.dumps, returnFormat json, forceAutoNumber False as Python prints it; {'count': 1}", async () => {
    const res = await post(
      requestsForm({
        token: tokens.coordinator as string,
        content: "record",
        returnFormat: "json",
        type: "flat",
        data: JSON.stringify([
          { record_id: "01-051", redcap_event_name: "screening_arm_1", diagnosis: "rrms" },
        ]),
        format: "json",
        overwriteBehavior: "normal",
        returnContent: "count",
        dateFormat: "YMD",
        forceAutoNumber: false,
      }),
    );
    const { content, bad } = pycapJson(res);
    expect(bad, res.text).toBe(false);
    expect(content).toEqual({ count: 1 });
  });

  it("metadata, is_longitudinal (formEventMapping), export_project_info, export_arms, export_events: no error", async () => {
    const call = async (payload: Record<string, PyValue>) => {
      const res = await post(requestsForm({ token: tokens.sponsor as string, ...payload }));
      const decoded = pycapJson(res);
      expect(decoded.bad, `${payload.content}: ${res.text}`).toBe(false);
      return decoded.content;
    };
    const metadata = (await call({ content: "metadata", format: "json" })) as { field_name: string }[];
    expect(metadata[0]?.field_name).toBe("record_id"); // PyCap's def_field
    expect(Array.isArray(await call({ content: "formEventMapping", format: "json" }))).toBe(true);
    const project = (await call({ content: "project", format: "json" })) as Record<string, unknown>;
    expect(project.project_title).toBeTruthy();
    expect(await call({ content: "arm", format: "json", "arms[0]": "1" })).toContainEqual(
      expect.objectContaining({ arm_num: 1 }),
    );
    expect(await call({ content: "event", format: "json", "arms[0]": "1" })).toContainEqual(
      expect.objectContaining({ unique_event_name: "screening_arm_1" }),
    );
  });

  it("export_logging(begin_time=…): content log, beginTime with seconds; a list of REDCap's rows", async () => {
    const res = await post(
      requestsForm({
        token: tokens.monitor as string,
        content: "log",
        format: "json",
        logtype: "record",
        beginTime: "2000-01-01 00:00:00",
      }),
    );
    const { content, bad } = pycapJson(res);
    expect(bad, res.text).toBe(false);
    expect((content as Record<string, string>[]).some((r) => r.record === "01-007")).toBe(true);
  });

  it("import_file, export_file, delete_file: the payload without format, returnFormat json; the name from the Content-Type; {} after import and delete", async () => {
    const payload = (action: string) => ({
      token: tokens.coordinator as string,
      content: "file",
      returnFormat: "json",
      action,
      field: "consent_scan",
      record: "01-007",
      event: "screening_arm_1",
    });
    // requests: the data fields as parts, then files={"file": (file_name, file_object)}: a part with no Content-Type.
    const imported = await postMultipart(payload("import"), {
      name: "file",
      filename: "myupload.pdf",
      bytes: SCAN,
    });
    expect(imported.status, imported.bytes.toString()).toBe(200);
    // PyCap's empty_json: an empty answer is {}.
    expect(imported.bytes.length).toBe(0);

    const exported = await postBytes(requestsForm(payload("export")));
    expect(exported.status, exported.bytes.toString()).toBe(200);
    const contentMap = Object.fromEntries(
      (exported.headers.get("content-type") ?? "")
        .split(";")
        .map((kv) => kv.trim())
        .filter((kv) => kv.includes("="))
        .map((kv) => [kv.split("=")[0], (kv.split("=")[1] ?? "").replaceAll('"', "")]),
    );
    expect(contentMap).toEqual({ name: "myupload.pdf" });
    expect(exported.bytes.equals(SCAN)).toBe(true);

    const deleted = await postBytes(requestsForm(payload("delete")));
    expect(deleted.status, deleted.bytes.toString()).toBe(200);
    expect(deleted.bytes.length).toBe(0);
    const again = await post(requestsForm(payload("export")));
    expect(pycapJson(again).bad).toBe(true);
  });

  it("a refusal decodes to {'error': …}, which PyCap raises as RedcapError", async () => {
    const res = await post(
      requestsForm({ token: "0".repeat(32), content: "record", format: "json", type: "flat" }),
    );
    expect(res.status).toBe(403);
    expect(pycapJson(res).bad).toBe(true);
  });
});
