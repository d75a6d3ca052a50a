import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { s3FileObjects } from "../../functions/store/s3-file-objects.ts";
import { startLocalS3 } from "../helpers/local-s3.ts";
import { fileStudyForms } from "./file-study.ts";
import { BASE, Product } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Direct uploads (start → PUT the bytes → complete) and downloads, in both
 * stores: S3 (a real local S3 server, presigned URLs) and the local data
 * folder (the API's own PUT route). The consent form gains a scan field of
 * at most 1000 bytes, PDF or image.
 */

let dir: string;
let s3: Awaited<ReturnType<typeof startLocalS3>>;
let inS3: Product;
let local: Product;

const PDF = Buffer.from("%PDF-1.4\n% a scan too large for a request body, in spirit\n");
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "direct-uploads-"));
  const forms = fileStudyForms(1000);
  s3 = await startLocalS3();
  inS3 = new Product(
    await startDevEnvironment({ formsDir: forms, files: s3FileObjects(s3.client, s3.bucket) }),
  );
  local = new Product(await startDevEnvironment({ formsDir: forms, dataDir: path.join(dir, "data") }));
}, 60_000);
afterAll(async () => {
  await inS3?.close();
  await local?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const filesPath = (p: Product, subject: string) =>
  `${p.formPath(subject, "screening", "consent", 1)}/files/consent_scan`;

const start = (p: Product, subject: string, body: Record<string, unknown>, as = "site-01") =>
  p.call("POST", `${filesPath(p, subject)}/uploads`, { as, body });

const complete = (p: Product, subject: string, uploadId: string, as = "site-01", field = "consent_scan") =>
  p.call("POST", `${filesPath(p, subject).replace(/consent_scan$/, field)}/uploads/${uploadId}`, {
    as,
    body: {},
  });

function download(p: Product, subject: string, sha256: string, as = "site-01") {
  return p.env.app.request(`${BASE}/subjects/${subject}/files/${sha256}`, {
    headers: { authorization: `Bearer ${p.token(as)}` },
  });
}

/** What a client does with the upload target: PUT the bytes with exactly the headers given. */
async function putBytes(p: Product, target: { url: string; headers: Record<string, string> }, body: Buffer) {
  const init = { method: "PUT", headers: target.headers, body: new Uint8Array(body) };
  // The local target is the app's own route; the S3 one is the real server behind a presigned URL.
  const res = target.url.startsWith("http://localhost/")
    ? await p.env.app.request(target.url, init)
    : await fetch(target.url, init);
  await res.arrayBuffer();
  return res.status;
}

describe("direct uploads to S3 (presigned)", () => {
  it("start → PUT to the presigned URL → complete → save → download by a 302 to a presigned URL; another site gets 404", async () => {
    const subject = await inS3.enrol();
    const started = await start(inS3, subject, {
      name: "consent é.pdf",
      mediaType: "application/pdf",
      size: PDF.length,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const target = started.body;
    expect(target).toMatchObject({ method: "PUT", headers: { "Content-Type": "application/pdf" } });
    const url = new URL(target.url);
    expect(url.pathname).toBe(`/${s3.bucket}/staging/${target.uploadId}`);
    // Type and length are signed (S3 refuses other bytes); no checksum of an empty body rides along.
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");
    expect(Number(url.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(900);
    expect([...url.searchParams.keys()].some((k) => k.toLowerCase().includes("checksum"))).toBe(false);
    expect(Date.parse(target.expiresAt)).toBeGreaterThan(Date.now());

    expect(await putBytes(inS3, target, PDF)).toBe(200);
    const done = await complete(inS3, subject, target.uploadId);
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body).toEqual({
      sha256: sha(PDF),
      size: PDF.length,
      name: "consent é.pdf",
      mediaType: "application/pdf",
    });
    expect(await s3.keys("staging/")).toEqual([]);
    expect(await s3.keys("objects/")).toContain(`objects/${sha(PDF)}`);
    // Completed once: the id is spent.
    expect((await complete(inS3, subject, target.uploadId)).status).toBe(404);

    const saved = await inS3.save(subject, "screening", "consent", { data: { consent_scan: done.body } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const res = await download(inS3, subject, sha(PDF));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") as string);
    expect(location.pathname).toBe(`/${s3.bucket}/objects/${sha(PDF)}`);
    expect(location.searchParams.get("X-Amz-Expires")).toBe("60");
    const got = await fetch(location);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(PDF)).toBe(true);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    expect(got.headers.get("content-disposition")).toBe(
      `attachment; filename="consent _.pdf"; filename*=UTF-8''consent%20%C3%A9.pdf`,
    );

    const elsewhere = await download(inS3, subject, sha(PDF), "site-02");
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get("location")).toBeNull();
    expect((await download(inS3, subject, "d".repeat(64))).status).toBe(404);

    // The page's download link redirects the same way, at the caller's sites only.
    const link = `/studies/${inS3.env.studyId}/subjects/${subject}/files/${sha(PDF)}`;
    const browser = new Browser(inS3);
    await browser.signIn("site-01");
    const page = await browser.request("GET", link);
    expect(page.status).toBe(302);
    expect(new URL(page.headers.get("location") as string).pathname).toBe(
      `/${s3.bucket}/objects/${sha(PDF)}`,
    );
    const other = new Browser(inS3);
    await other.signIn("site-02");
    expect((await other.request("GET", link)).status).toBe(404);
  });

  it("binds an upload to the form field it was started for: another subject, site or field cannot complete it", async () => {
    const subject = await inS3.enrol();
    const second = await inS3.enrol();
    const theirs = await inS3.enrol("site-02", { site: "site-02", arm: "nmo" });
    const started = await start(inS3, subject, { name: "a.pdf", mediaType: "application/pdf", size: 9 });
    expect(await putBytes(inS3, started.body, Buffer.from("%PDF-1.4\n"))).toBe(200);
    expect((await complete(inS3, second, started.body.uploadId)).status).toBe(404);
    expect((await complete(inS3, theirs, started.body.uploadId, "site-02")).status).toBe(404);
    expect((await complete(inS3, subject, started.body.uploadId, "site-01", "consent_date")).status).toBe(
      404,
    );
    // Starting on another site's subject is the 404 of a subject that does not exist.
    expect((await start(inS3, theirs, { name: "a.pdf", mediaType: "application/pdf", size: 9 })).status).toBe(
      404,
    );
    expect((await complete(inS3, subject, started.body.uploadId)).status).toBe(201);
  });

  it("refuses bytes over the field's limit or of another type at completion (422, pointer), and keeps nothing of them", async () => {
    const subject = await inS3.enrol();
    const objectsBefore = await s3.keys("objects/");
    // s3rver does not enforce the signed length and type, as S3 does: the completion is the last line.
    const big = await start(inS3, subject, { name: "big.pdf", mediaType: "application/pdf", size: 10 });
    expect(
      await putBytes(inS3, { url: big.body.url, headers: big.body.headers }, Buffer.alloc(1001, 7)),
    ).toBe(200);
    const tooBig = await complete(inS3, subject, big.body.uploadId);
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.errors).toEqual([
      expect.objectContaining({ pointer: "/consent_scan", code: "file-size" }),
    ]);

    const html = await start(inS3, subject, { name: "x.pdf", mediaType: "application/pdf", size: 8 });
    expect(
      await putBytes(
        inS3,
        { url: html.body.url, headers: { "Content-Type": "text/html" } },
        Buffer.from("<script>"),
      ),
    ).toBe(200);
    const wrongType = await complete(inS3, subject, html.body.uploadId);
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors).toEqual([
      expect.objectContaining({ pointer: "/consent_scan", code: "file-type" }),
    ]);
    expect(await s3.keys("objects/")).toEqual(objectsBefore);
    expect(await s3.keys("staging/")).toEqual([]);
  });

  it("refuses a declared type or size the field does not allow before anything is staged; completing before the PUT is 409", async () => {
    const subject = await inS3.enrol();
    const html = await start(inS3, subject, { name: "a.html", mediaType: "text/html", size: 10 });
    expect(html.status).toBe(422);
    expect(html.body.errors[0]).toMatchObject({ pointer: "/consent_scan", code: "file-type" });
    const big = await start(inS3, subject, { name: "a.pdf", mediaType: "application/pdf", size: 1001 });
    expect(big.body.errors[0]).toMatchObject({ pointer: "/consent_scan", code: "file-size" });
    const badName = await start(inS3, subject, { name: "../a.pdf", mediaType: "application/pdf", size: 5 });
    expect(badName.body.errors[0]).toMatchObject({ pointer: "/name", code: "file-name" });
    expect((await start(inS3, subject, { name: "a.pdf", mediaType: "application/pdf" })).status).toBe(400);
    expect(await s3.keys("staging/")).toEqual([]);

    const early = await start(inS3, subject, { name: "a.pdf", mediaType: "application/pdf", size: 5 });
    const incomplete = await complete(inS3, subject, early.body.uploadId);
    expect(incomplete.status).toBe(409);
    expect(incomplete.body.type).toMatch(/upload-incomplete/);
    // In S3 the bytes never pass through the API: its own PUT route is not there.
    expect(
      await putBytes(
        inS3,
        { url: `http://localhost/api/v1/uploads/${early.body.uploadId}`, headers: early.body.headers },
        Buffer.from("%PDF-"),
      ),
    ).toBe(404);
  });
});

describe("direct uploads on the local server (the API's own PUT route)", () => {
  it("start → PUT to the API → complete → save → the download streams the bytes", async () => {
    const subject = await local.enrol();
    const started = await start(local, subject, {
      name: "a.pdf",
      mediaType: "Application/PDF",
      size: PDF.length,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.url).toBe(`http://localhost/api/v1/uploads/${started.body.uploadId}`);
    expect(started.body.headers).toEqual({ "Content-Type": "application/pdf" });
    expect(await putBytes(local, started.body, PDF)).toBe(204);
    const done = await complete(local, subject, started.body.uploadId);
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body).toMatchObject({ sha256: sha(PDF), size: PDF.length, mediaType: "application/pdf" });
    expect(await readdir(path.join(dir, "data", "files", sha(PDF).slice(0, 2)))).toEqual([sha(PDF)]);
    expect(await readdir(path.join(dir, "data", "files", "staging"))).toEqual([]);
    await local.save(subject, "screening", "consent", { data: { consent_scan: done.body } });
    const res = await download(local, subject, sha(PDF));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it("takes only the declared type and length, for a started upload, and is bounded by the body limit", async () => {
    const subject = await local.enrol();
    const started = await start(local, subject, { name: "a.pdf", mediaType: "application/pdf", size: 5 });
    const target = started.body;
    expect(
      await putBytes(local, { ...target, headers: { "Content-Type": "text/html" } }, Buffer.from("%PDF-")),
    ).toBe(400);
    expect(await putBytes(local, target, Buffer.from("%PDF-1"))).toBe(400);
    expect(
      await putBytes(
        local,
        { ...target, url: "http://localhost/api/v1/uploads/not-an-id" },
        Buffer.from("%PDF-"),
      ),
    ).toBe(404);
    expect(
      await putBytes(
        local,
        { ...target, url: "http://localhost/api/v1/uploads/00000000-0000-4000-8000-000000000000" },
        Buffer.from("%PDF-"),
      ),
    ).toBe(404);
    expect(await putBytes(local, target, Buffer.alloc(6 * 1024 * 1024 + 1))).toBe(413);
    expect(await putBytes(local, target, Buffer.from("%PDF-"))).toBe(204);
    expect((await complete(local, subject, target.uploadId)).status).toBe(201);
    // Spent: neither the PUT nor the completion takes it again.
    expect(await putBytes(local, target, Buffer.from("%PDF-"))).toBe(404);
    expect((await complete(local, subject, target.uploadId)).status).toBe(404);
  });
});
