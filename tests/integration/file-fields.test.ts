import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { fileStudyForms } from "./file-study.ts";
import { BASE, Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * File and signature fields through the API: upload, save, download, site
 * isolation, refusals. The reference study's consent form gains a scan and
 * a signature in a copy of forms/, kept in a data folder so the local
 * object store writes real files.
 */

let product: Product;
let dir: string;
let own: string;
let other: string;

const PDF = Buffer.from("%PDF-1.4\n% a consent scan\n");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "file-fields-"));
  const forms = fileStudyForms(1000);
  product = new Product(await startDevEnvironment({ formsDir: forms, dataDir: path.join(dir, "data") }));
  product.env.tokens.deid = await storeDevKey(product.env.store, "deid-coordinator-files", {
    user: "deid",
    role: "coordinator",
    study: STUDY,
    sites: ["site-01"],
    deidentified: true,
  });
  own = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
  other = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
});
afterAll(async () => {
  await product.close();
  await rm(dir, { recursive: true, force: true });
});

const uploadPath = (subject: string, field: string) =>
  `${product.formPath(subject, "screening", "consent", 1)}/files/${field}`;

const upload = (
  subject: string,
  field: string,
  bytes: Buffer,
  mediaType: string,
  as = "site-01",
  name = "consent.pdf",
) =>
  product.call("POST", uploadPath(subject, field), {
    as,
    body: { name, mediaType, contentBase64: bytes.toString("base64") },
  });

async function download(subject: string, sha256: string, as = "site-01") {
  const res = await product.env.app.request(`${BASE}/subjects/${subject}/files/${sha256}`, {
    headers: { authorization: `Bearer ${product.token(as)}` },
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe("file fields through the API", () => {
  it("upload answers a reference; the save stores it; the download gives the bytes back", async () => {
    const up = await upload(own, "consent_scan", PDF, "application/pdf");
    expect(up.status).toBe(201);
    expect(up.body).toEqual({
      sha256: (await import("node:crypto")).createHash("sha256").update(PDF).digest("hex"),
      size: PDF.length,
      name: "consent.pdf",
      mediaType: "application/pdf",
    });
    // The local object store keeps it under its hash, in the data folder.
    const stored = await readdir(path.join(dir, "data", "files", up.body.sha256.slice(0, 2)));
    expect(stored).toEqual([up.body.sha256]);
    const saved = await product.save(own, "screening", "consent", { data: { consent_scan: up.body } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.data.consent_scan).toEqual(up.body);
    const got = await download(own, up.body.sha256);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(PDF)).toBe(true);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    expect(got.headers.get("content-disposition")).toMatch(/^attachment; filename="consent.pdf"/);
  });

  it("a signature is a PNG; replacing a file is an audited change and the old file stays downloadable", async () => {
    const sig = await upload(own, "consent_signature", PNG, "image/png", "site-01", "signature.png");
    expect(sig.status).toBe(201);
    expect((await upload(own, "consent_signature", PDF, "application/pdf")).status).toBe(422);
    const first = (
      await product.call("GET", product.formPath(own, "screening", "consent"), { as: "site-01" })
    ).body;
    const replacement = Buffer.from("%PDF-1.4\n% the corrected scan\n");
    const next = await upload(
      own,
      "consent_scan",
      replacement,
      "application/pdf",
      "site-01",
      "consent-v2.pdf",
    );
    const saved = await product.save(own, "screening", "consent", {
      data: { consent_scan: next.body, consent_signature: sig.body },
      rev: first.rev,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const audit = await product.call("GET", `${BASE}/subjects/${own}/audit`, { as: "site-01" });
    expect(JSON.stringify(audit.body)).toContain("consent-v2.pdf");
    const old = first.data.consent_scan.sha256;
    expect((await download(own, old)).bytes.equals(PDF)).toBe(true);
    expect((await download(own, next.body.sha256)).bytes.equals(replacement)).toBe(true);
  });

  it("refuses a file of a type or size the field does not allow, and a field that is not a file", async () => {
    const html = await upload(own, "consent_scan", Buffer.from("<script>"), "text/html");
    expect(html.status).toBe(422);
    expect(html.body.errors[0]).toMatchObject({ pointer: "/consent_scan", code: "file-type" });
    const big = await upload(own, "consent_scan", Buffer.alloc(1001, 1), "application/pdf");
    expect(big.body.errors[0]).toMatchObject({ code: "file-size" });
    expect((await upload(own, "consent_date", PDF, "application/pdf")).status).toBe(404);
    expect((await upload(own, "consent_scan", PDF, "application/pdf", "site-01", "../x.pdf")).status).toBe(
      422,
    );
    const notBase64 = await product.call("POST", uploadPath(own, "consent_scan"), {
      as: "site-01",
      body: { name: "a.pdf", mediaType: "application/pdf", contentBase64: "%%%" },
    });
    expect(notBase64.status).toBe(400);
  });

  it("the save refuses a reference to bytes never uploaded, or of another size", async () => {
    const current = (
      await product.call("GET", product.formPath(own, "screening", "consent"), { as: "site-01" })
    ).body;
    const fake = { sha256: "b".repeat(64), size: 10, name: "made-up.pdf", mediaType: "application/pdf" };
    const refused = await product.save(own, "screening", "consent", {
      data: { ...current.data, consent_scan: fake },
      rev: current.rev,
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ pointer: "/consent_scan", code: "file-missing" }),
    ]);
    const wrongSize = await product.save(own, "screening", "consent", {
      data: { ...current.data, consent_scan: { ...current.data.consent_scan, size: 3 } },
      rev: current.rev,
    });
    expect(wrongSize.status).toBe(422);
    expect(JSON.stringify(wrongSize.body.errors)).toContain("file-missing");
  });

  it("never serves a file across sites, of another subject, or to a de-identified caller", async () => {
    const up = await upload(own, "consent_scan", Buffer.from("%PDF site one only"), "application/pdf");
    const current = (
      await product.call("GET", product.formPath(own, "screening", "consent"), { as: "site-01" })
    ).body;
    await product.save(own, "screening", "consent", {
      data: { ...current.data, consent_scan: up.body },
      rev: current.rev,
    });
    expect((await download(own, up.body.sha256)).status).toBe(200);
    expect((await download(own, up.body.sha256, "site-02")).status).toBe(404);
    // Another subject whose revisions never referenced it: 404, though the bytes exist.
    expect((await download(other, up.body.sha256, "site-02")).status).toBe(404);
    expect((await download(own, "c".repeat(64))).status).toBe(404);
    expect((await download(own, up.body.sha256, "deid")).status).toBe(403);
    // Uploading for a subject of another site: 404 like a subject that does not exist.
    expect((await upload(other, "consent_scan", PDF, "application/pdf")).status).toBe(404);
  });
});

describe("file fields on the form page", () => {
  it("shows the file with its download link, keeps it through a page save, and downloads it at the caller's site only", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const up = await upload(subject, "consent_scan", PDF, "application/pdf", "site-01", "scan é.pdf");
    await product.save(subject, "screening", "consent", { data: { consent_scan: up.body } });
    const b = new Browser(product);
    await b.signIn("site-01");
    const url = `/studies/${STUDY}/subjects/${subject}/events/screening/forms/consent`;
    const form = await b.request("GET", url);
    const link = `/studies/${STUDY}/subjects/${subject}/files/${up.body.sha256}`;
    expect(form.html).toContain(`href="${link}"`);
    expect(form.html).toContain("scan é.pdf");
    // Saving the page with another field changed keeps the file (the control carries its reference).
    const hidden = /name="consent_scan"[^>]*value="([^"]*)"/.exec(form.html)?.[1] ?? "";
    expect(hidden).not.toBe("");
    const kept = hidden.replaceAll("&quot;", '"').replaceAll("&#34;", '"');
    const saved = await b.request("POST", url, {
      _csrf: b.csrf(form.html),
      _rev: b.rev(form.html),
      _status: "incomplete",
      consent_scan: kept,
      consent_version: "2.1",
    });
    expect(saved.status, saved.html.match(/role="alert">[^<]+/g)?.join("\n")).toBe(303);
    const after = await product.call("GET", product.formPath(subject, "screening", "consent"), {
      as: "site-01",
    });
    expect(after.body.data).toMatchObject({ consent_scan: up.body, consent_version: "2.1" });
    const got = await b.request("GET", link);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-disposition")).toMatch(/^attachment;/);
    const elsewhere = new Browser(product);
    await elsewhere.signIn("site-02");
    expect((await elsewhere.request("GET", link)).status).toBe(404);
  });
});

describe("the file manifest", () => {
  it("lists the files current instances hold, at the caller's sites only, as JSON or CSV", async () => {
    const mine = await product.call("GET", `${BASE}/files`, { as: "site-01" });
    expect(mine.status).toBe(200);
    const current = (
      await product.call("GET", product.formPath(own, "screening", "consent"), { as: "site-01" })
    ).body;
    expect(mine.body).toContainEqual({
      subject: own,
      event: "screening",
      form: "consent",
      instance: 1,
      field: "consent_scan",
      ...current.data.consent_scan,
    });
    expect(mine.body.every((r: { subject: string }) => r.subject !== other)).toBe(true);
    const theirs = await product.call("GET", `${BASE}/files`, { as: "site-02" });
    expect(theirs.body).toEqual([]);
    const csv = await product.call("GET", `${BASE}/files?format=csv`, { as: "site-01" });
    expect(csv.contentType).toMatch(/^text\/csv/);
    expect(csv.body.split("\n")[0]).toBe("subject,event,form,instance,field,name,size,sha256,mediaType");
    expect(csv.body).toContain(current.data.consent_scan.sha256);
    expect((await product.call("GET", `${BASE}/files`, { as: "deid" })).status).toBe(403);
  });

  it("lists every file past the first page of subjects (it reads subjects 100 at a time)", async () => {
    const subjects: string[] = [];
    let scan: unknown;
    for (let i = 0; i < 130; i++) {
      const subject = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
      if (!scan) {
        const up = await upload(subject, "consent_scan", PDF, "application/pdf", "site-02");
        expect(up.status).toBe(201);
        scan = up.body;
      }
      const saved = await product.save(
        subject,
        "screening",
        "consent",
        { data: { consent_scan: scan } },
        { as: "site-02" },
      );
      expect(saved.status).toBe(200);
      subjects.push(subject);
    }
    const listed = await product.call("GET", `${BASE}/files`, { as: "site-02" });
    expect(listed.status).toBe(200);
    const rows = listed.body as { subject: string }[];
    expect(rows.map((r) => r.subject).sort()).toEqual([...subjects].sort());
  }, 120_000);
});
