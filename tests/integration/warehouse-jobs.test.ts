import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import type { WarehouseManifest } from "../../functions/exports/warehouse-manifest.ts";
import { runExportJob } from "../../functions/http/export-job-runner.ts";
import { checked } from "../helpers/warehouse-checks.ts";
import { BASE, Product, STUDY } from "./harness.ts";

/**
 * The warehouse formats as bulk export jobs: the stored files validate as
 * the producers' own test checks them, the manifest's SHA-256s are the
 * job's and the access log's, and a job's `nextCursor` starts the next
 * increment, which holds exactly what changed since.
 */

let product: Product;
const subjects: string[] = [];
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0, exportJobs: { start: () => {} } }));
  for (let n = 0; n < 3; n++) {
    const s = await product.enrol();
    subjects.push(s);
    const saved = await product.save(s, "screening", "vital_signs", { data: { heart_rate: 60 + n } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  }
});
afterAll(() => product.close());

async function runJob(body: Record<string, unknown>, as = "monitor") {
  const res = await product.call("POST", `${BASE}/exports`, { as, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const id = res.body.id as string;
  await runExportJob(product.env.store, product.env.exportTarget, STUDY, id, {
    feedSettleMs: 0,
    warehouse: { partRows: 2 },
  });
  const job = (await product.call("GET", `${BASE}/exports/${id}`, { as })).body;
  expect(job.state, job.error).toBe("done");
  const stored = new Map<string, Buffer>();
  for (const file of job.files as { name: string; url: string }[]) {
    const got = await product.env.app.request(file.url);
    expect(got.status).toBe(200);
    stored.set(file.name, Buffer.from(await got.arrayBuffer()));
  }
  const manifest = JSON.parse(stored.get("manifest.json")?.toString() ?? "") as WarehouseManifest;
  const tables = new Map([...stored].filter(([name]) => name.endsWith(".ndjson.gz")));
  return { id, job, manifest, rows: checked(manifest, tables), stored };
}

const mine = (rows: Record<string, unknown>[] | undefined) =>
  (rows ?? []).filter((r) => subjects.includes(String(r.subject)));

describe("warehouse export jobs", () => {
  it("a snapshot job's files validate; its manifest's SHA-256s are the job's and the access log's", async () => {
    const { id, job, manifest, rows, stored } = await runJob({ format: "warehouse" });
    expect(manifest.kind).toBe("snapshot");
    expect(mine(rows.get("vital_signs")).map((r) => r.heart_rate)).toEqual([60, 61, 62]);
    const inManifest = manifest.tables.flatMap((t) => t.files.map(({ name, sha256 }) => ({ name, sha256 })));
    const tableFiles = (job.files as { name: string; sha256: string }[])
      .filter((f) => f.name.endsWith(".ndjson.gz"))
      .map(({ name, sha256 }) => ({ name, sha256 }));
    expect(tableFiles.sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(
      [...inManifest].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
    expect(job.files.map((f: { name: string }) => f.name).slice(-2)).toEqual(["manifest.json", "athena.sql"]);
    expect(stored.get("athena.sql")?.toString()).toContain(`LOCATION '${STUDY}/${id}/form=vital_signs/'`);
    expect(job.nextCursor).toBe(manifest.cursor.next);
    const { entries } = await product.env.store.readAccessLog(STUDY, {});
    const done = entries.find((e) => e.details.job === id && e.action === "export-job-done");
    expect(done?.details.files).toEqual(
      job.files.map(({ name, bytes, rows, sha256 }: Record<string, unknown>) => ({
        name,
        bytes,
        rows,
        sha256,
      })),
    );
    expect(done?.details.nextCursor).toBe(manifest.cursor.next);
  });

  it("warehouse-changes from a job's nextCursor holds what changed since; its own cursor, nothing", async () => {
    const snapshot = await runJob({ format: "warehouse", deidentify: true, hashIds: true });
    expect(snapshot.manifest.deidentified).toBe(true);
    const [a] = subjects;
    if (!a) throw new Error("setup");
    const saved = await product.save(a, "screening", "vital_signs", { data: { heart_rate: 99 }, rev: 1 });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const changes = await runJob({ format: "warehouse-changes", cursor: snapshot.job.nextCursor });
    expect(changes.manifest).toMatchObject({ kind: "increment", cursor: { from: snapshot.job.nextCursor } });
    const changed = changes.manifest.tables
      .filter((t) => t.kind === "changes")
      .flatMap((t) => changes.rows.get(t.name) ?? []);
    expect(changed.map((r) => [r.subject, r.form, r.revision, r.heart_rate])).toEqual([
      [a, "vital_signs", 2, 99],
    ]);
    const again = await runJob({ format: "warehouse-changes", cursor: changes.job.nextCursor });
    expect(again.manifest.tables.filter((t) => t.kind === "changes").flatMap((t) => t.files)).toEqual([]);
    expect(again.job.nextCursor).toBe(changes.job.nextCursor);
  });

  it("refuses a bad cursor, a cursor on a snapshot, and field filters, with pointers", async () => {
    const bad = async (body: Record<string, unknown>, pointer: string) => {
      const res = await product.call("POST", `${BASE}/exports`, { as: "monitor", body });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(JSON.stringify(res.body)).toContain(pointer);
    };
    await bad({ format: "warehouse-changes", cursor: "not-a-cursor" }, "/cursor");
    await bad({ format: "warehouse", cursor: "x" }, "/cursor");
    await bad({ format: "warehouse", fields: ["heart_rate"] }, "/fields");
  });
});
