import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { IMPORT_REASON, importRecords } from "../../functions/http/redcap-import.ts";
import { memoryFileObjects } from "../../functions/store/file-objects.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { newToken } from "../../functions/store/tokens.ts";
import { multipart, startFileStudy } from "./file-study.ts";
import { type Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * REDCap's `content=file` on `/api/` (export, import, delete of one file
 * field), its rights and refusals, and file references on the record
 * import's and the form page's save paths. The reference study's consent
 * form has a scan and a signature field here.
 */

let product: Product;
let close: () => Promise<void>;
const keys: Record<string, string> = {};
let own = "";
let other = "";
const PDF = Buffer.from("%PDF-1.4\n% a signed consent scan\n");

beforeAll(async () => {
  ({ product, close } = await startFileStudy());
  const key = async (name: string, principal: Parameters<typeof storeDevKey>[2]) => {
    keys[name] = newToken("redcap");
    await storeDevKey(product.env.store, keys[name], principal);
  };
  await key("site1", { user: "c1", role: "coordinator", study: STUDY, sites: ["site-01"] });
  await key("site2", { user: "c2", role: "coordinator", study: STUDY, sites: ["site-02"] });
  await key("sponsor", { user: "sp", role: "sponsor", study: STUDY, sites: [ALL_SITES] });
  await key("deid", {
    user: "deid",
    role: "coordinator",
    study: STUDY,
    sites: ["site-01"],
    deidentified: true,
  });
  own = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
  other = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
});
afterAll(() => close());

async function api(fields: Record<string, string>, file?: Parameters<typeof multipart>[1]) {
  const init = file
    ? (() => {
        const { body, contentType } = multipart(fields, file);
        return { headers: { "content-type": contentType }, body: new Uint8Array(body) };
      })()
    : {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
      };
  const res = await product.env.app.request("/api/", { method: "POST", ...init });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
const text = (r: { bytes: Buffer }) => r.bytes.toString("utf8");

const where = (record: string, field = "consent_scan") => ({
  content: "file",
  record,
  field,
  // The reference study numbers its arms rrms 1, nmo 2.
  event: record === other ? "screening_arm_2" : "screening_arm_1",
  returnFormat: "json",
});
const importScan = (
  key: string,
  record: string,
  bytes = PDF,
  filename = "consent.pdf",
  type = "application/pdf",
) => api({ token: key, action: "import", ...where(record) }, { name: "file", filename, type, bytes });
const exportScan = (key: string, record: string) => api({ token: key, action: "export", ...where(record) });

describe("content=file", () => {
  it("import stores the file and saves its reference as an audited change; export answers the bytes with REDCap's headers; delete clears it", async () => {
    const imported = await importScan(keys.site1 as string, own);
    expect(imported.status, text(imported)).toBe(200);
    expect(imported.bytes.length).toBe(0);

    const exported = await exportScan(keys.site1 as string, own);
    expect(exported.status, text(exported)).toBe(200);
    expect(exported.bytes.equals(PDF)).toBe(true);
    expect(exported.headers.get("content-type")).toBe('application/pdf; name="consent.pdf"');

    const { revisions } = await product.env.store.readCasebook(STUDY, own);
    const saved = revisions.filter((r) => r.form === "consent");
    expect(saved.at(-1)?.data?.consent_scan).toMatchObject({ name: "consent.pdf", size: PDF.length });
    expect(saved.at(-1)?.reason).toBe(IMPORT_REASON);

    // The record export names the file, as REDCap's does.
    const records = await api({
      token: keys.site1 as string,
      content: "record",
      format: "csv",
      records: own,
      fields: "record_id,consent_scan",
    });
    const rows = parse(text(records), { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.redcap_event_name === "screening_arm_1")?.consent_scan).toBe("consent.pdf");

    const deleted = await api({ token: keys.site1 as string, action: "delete", ...where(own) });
    expect(deleted.status, text(deleted)).toBe(200);
    expect(deleted.bytes.length).toBe(0);
    const after = await product.env.store.readCasebook(STUDY, own);
    const last = after.revisions.filter((r) => r.form === "consent").at(-1);
    expect(last?.data && "consent_scan" in last.data).toBe(false);
    expect(last?.reason).toBe(IMPORT_REASON);
    const gone = await exportScan(keys.site1 as string, own);
    expect(gone.status).toBe(400);
    expect(JSON.parse(text(gone))).toEqual({ error: "There is no file to download for this record" });
    // The replaced file stays in the history: its first revision still names it.
    expect(
      after.revisions.some((r) => (r.data?.consent_scan as { name?: string })?.name === "consent.pdf"),
    ).toBe(true);
  });

  it("a record of another site is answered as a record that does not exist, for export, import and delete", async () => {
    expect((await importScan(keys.site2 as string, other)).status).toBe(200);
    const unknown = await exportScan(keys.site1 as string, "01-no-such-record");
    expect(unknown.status).toBe(400);
    const answers = [
      await exportScan(keys.site1 as string, other),
      await importScan(keys.site1 as string, other),
      await api({ token: keys.site1 as string, action: "delete", ...where(other) }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(400);
      expect(text(a)).toBe(text(unknown).replace("01-no-such-record", other));
    }
    // The other site's file is still there.
    expect((await exportScan(keys.site2 as string, other)).bytes.equals(PDF)).toBe(true);
  });

  it("a de-identified key cannot export files; a read-only key cannot import or delete them", async () => {
    await importScan(keys.site1 as string, own);
    const deid = await exportScan(keys.deid as string, own);
    expect(deid.status).toBe(403);
    expect(JSON.parse(text(deid)).error).toMatch(/de-identified/);
    const sponsor = await importScan(keys.sponsor as string, own);
    expect(sponsor.status).toBe(403);
    expect(JSON.parse(text(sponsor))).toEqual({ error: "You do not have API Import/Update privileges" });
    // The sponsor reads identified data at every site: it may export the file.
    expect((await exportScan(keys.sponsor as string, own)).status).toBe(200);
  });

  it("refuses what REDCap refuses, in its error shape, writing nothing", async () => {
    const before = await product.snapshot();
    const cases: [Record<string, string>, RegExp][] = [
      [{ ...where(own), field: "consent_date" }, /is not a file upload field/],
      [{ ...where(own), field: "no_such_field" }, /does not exist/],
      [{ ...where(own), event: "nowhere_arm_1" }, /nowhere_arm_1/],
      [{ content: "file", record: own, field: "consent_scan", returnFormat: "json" }, /event/],
      [{ ...where(own), repeat_instance: "2" }, /repeat_instance/],
      [{ ...where(own), action: "rename" }, /action/],
    ];
    for (const [fields, message] of cases) {
      const res = await api({ token: keys.site1 as string, action: "export", ...fields });
      expect(res.status, JSON.stringify(fields)).toBe(400);
      expect(JSON.parse(text(res)).error).toMatch(message);
    }
    const noFile = await api({ token: keys.site1 as string, action: "import", ...where(own) });
    expect(noFile.status).toBe(400);
    expect(JSON.parse(text(noFile)).error).toMatch(/"file"/);
    const wrongType = await api(
      { token: keys.site1 as string, action: "import", ...where(own, "consent_signature") },
      { name: "file", filename: "consent.pdf", type: "application/pdf", bytes: PDF },
    );
    expect(wrongType.status).toBe(400);
    expect(JSON.parse(text(wrongType)).error).toMatch(/image\/png/);
    const empty = await importScan(keys.site1 as string, own, Buffer.alloc(0));
    expect(empty.status).toBe(400);
    const csv = await api({
      token: keys.site1 as string,
      action: "export",
      ...where(own, "consent_date"),
      returnFormat: "csv",
    });
    expect(text(csv)).toMatch(/^error\n/);
    expect(await product.snapshot()).toEqual(before);
  });

  it("a part without a Content-Type is typed by its extension", async () => {
    const res = await api(
      { token: keys.site1 as string, action: "import", ...where(own) },
      { name: "file", filename: "scan.pdf", bytes: PDF },
    );
    expect(res.status, text(res)).toBe(200);
    const exported = await exportScan(keys.site1 as string, own);
    expect(exported.headers.get("content-type")).toBe('application/pdf; name="scan.pdf"');
  });
});

describe("file references on the record import's save path", () => {
  it("a reference to bytes never uploaded is refused, and nothing is written", async () => {
    const definition = await product.env.store.definitions.current(STUDY);
    if (!definition) throw new Error("no definition");
    const principal = (await product.env.store.findToken(keys.site1 as string))?.principal;
    if (!principal) throw new Error("no principal");
    // A store that holds other bytes, but not these.
    const files = memoryFileObjects();
    await files.put(new Uint8Array(PDF));
    const before = await product.snapshot();
    const outcome = await importRecords(
      product.env.store,
      principal,
      definition,
      [
        {
          record: own,
          eventName: "screening_arm_1",
          arm: "rrms",
          event: "screening",
          form: "consent",
          instance: 1,
          values: {
            consent_scan: {
              sha256: "ab".repeat(32),
              size: 10,
              name: "never.pdf",
              mediaType: "application/pdf",
            },
          },
          blanks: [],
          given: true,
        },
      ],
      { overwrite: false, dryRun: false, forceAutoNumber: false, files },
    );
    expect(outcome).toMatchObject({
      kind: "refused",
      refused: [{ record: own, field: "consent_scan", value: "never.pdf" }],
    });
    expect(await product.snapshot()).toEqual(before);
  });
});

describe("file references on the form page's save path", () => {
  it("a forged post naming bytes never uploaded is refused (422), and nothing is written", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const b = new Browser(product);
    await b.signIn("site-01");
    const formUrl = `/studies/${STUDY}/subjects/${subject}/events/screening/forms/consent`;
    const form = await b.request("GET", formUrl);
    const before = await product.snapshot();
    const fake = { sha256: "cd".repeat(32), size: 10, name: "forged.pdf", mediaType: "application/pdf" };
    const res = await b.request("POST", formUrl, {
      _csrf: b.csrf(form.html),
      _rev: "0",
      _status: "incomplete",
      consent_scan: JSON.stringify(fake),
    });
    expect(res.status).toBe(422);
    expect(res.html).toContain("1 file(s) of consent were not uploaded");
    expect(await product.snapshot()).toEqual(before);
  });
});
