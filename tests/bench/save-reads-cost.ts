/**
 * Store calls, sequential round trips, items and read units of one save of a
 * new EDSS (caches warm), on a new casebook and a late one, at BEFORE and now.
 * `node --import tsx tests/bench/save-reads-cost.ts`. Sizes, not timings: any
 * machine gives the same figures.
 */
import path from "node:path";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { itemsRead, readUnits, recordingClient, sequentialRounds } from "../integration/store-calls.ts";
import { BEFORE } from "./cases/save.ts";
import { checkoutAt, ROOT } from "./checkout-at.ts";

const env = await startDevEnvironment();
const token = env.tokens["site-01"]?.token;
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
const edss = (t: number) => ({
  assessment_date: "2024-01-10",
  assessor_blinded: true,
  fs_visual: 1,
  fs_pyramidal: 2,
  edss_total: t,
});
type App = { request: (url: string, init?: RequestInit) => Response | Promise<Response> };
async function put(app: App, subject: string, event: string, form: string, data: unknown) {
  const r = await app.request(
    `/api/v1/studies/${env.studyId}/subjects/${subject}/events/${event}/forms/${form}`,
    { method: "PUT", headers, body: JSON.stringify({ data, status: "incomplete", rev: 0 }) },
  );
  if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
}
async function enrol() {
  const r = await env.app.request(`/api/v1/studies/${env.studyId}/subjects`, {
    method: "POST",
    headers,
    body: JSON.stringify({ site: "site-01", arm: "rrms" }),
  });
  const { id } = (await r.json()) as { id: string };
  await put(env.app, id, "iv_1", "infusion", { infusion_date: "2024-02-01" });
  return id;
}
async function late() {
  const id = await enrol();
  for (const ev of ["screening", "m9", "m12", "y2", "y3", "y4", "y5", "y6"]) {
    await put(env.app, id, ev, "vital_signs", {});
    await put(env.app, id, ev, "labs", {});
    await put(env.app, id, ev, "edss", edss(4));
  }
  return id;
}
for (const [label, root] of [
  ["before", checkoutAt(BEFORE)],
  ["after", ROOT],
] as const) {
  const rec = recordingClient(env.store.db.doc);
  const { createStore } = await import(path.join(root, "functions/store/store.ts"));
  const { createApp } = await import(path.join(root, "functions/app.ts"));
  const app = createApp(
    createStore({ tableName: env.tableName, doc: rec, macKey: env.store.macKey, pointerTtlMs: 600000 }),
    { sessionSecret: "x" },
  );
  for (const [kind, id] of [
    ["new", await enrol()],
    ["late", await late()],
  ] as const) {
    await put(app, id, "m6", "vital_signs", { heart_rate: 70 });
    rec.reset();
    await put(app, id, "m3", "edss", edss(3.5));
    const c = rec.calls;
    console.log(
      `${label} ${kind}: ${c.length} calls, ${sequentialRounds(c)} rounds, ${itemsRead(c)} items, ${readUnits(c)} RU`,
    );
  }
}
await env.close();
process.exit(0);
