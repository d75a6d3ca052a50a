import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { serve } from "@hono/node-server";
import { chromium } from "playwright-core";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { appendReview, type ReviewRequest } from "../../functions/store/review-log.ts";
import { buildCasebookPlan, seedSubjects, subjectOf } from "./seed-study.ts";

/**
 * A study in review, for the eyes: N seeded casebooks (default 60), queries
 * opened over the last 90 days (ages drawn with a fixed seed), some answered,
 * some closed; the monitor verifies vital signs of every third subject through
 * the API; the data manager locks a few screening visits. Prints the query-age
 * statistics the API answers and writes screenshots of the monitor's
 * dashboard and the query list (tests/artifacts/review-*.png).
 *
 *   npm run bench:review -- --subjects=60
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SUBJECTS = Number(arg("subjects", "60"));
const DAY = 86_400_000;
const ARTIFACTS = path.join(import.meta.dirname, "..", "artifacts");

/** A small deterministic generator (mulberry32), so two runs seed the same study. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const env = await startDevEnvironment({ feedSettleMs: 0 });
try {
  const definition = await env.store.definitions.current(env.studyId);
  if (!definition) throw new Error("no published definition");
  const plan = buildCasebookPlan(definition, {
    definitionVersion: definition.version,
    maxSubjects: SUBJECTS,
  });
  await seedSubjects(env.store.db.doc, env.tableName, plan, { from: 0, to: SUBJECTS });
  const subjects = Array.from({ length: SUBJECTS }, (_, n) => subjectOf(plan, n));

  const next = random(12);
  const fields = ["heart_rate", "temperature", "systolic_bp"];
  let opened = 0;
  for (const [n, s] of subjects.entries()) {
    const queries = Math.floor(next() * 4);
    for (let q = 0; q < queries; q++) {
      const age = Math.floor(next() ** 2 * 90);
      const at = (days: number) => () => new Date(Date.now() - days * DAY);
      const query = `q_seed${n}x${q}`;
      const base = { study: env.studyId, subject: s.id, site: s.site, person: undefined };
      const target = { event: "screening", form: "vital_signs", instance: 1, field: fields[q % 3] };
      const open: ReviewRequest = {
        ...base,
        by: "dev-monitor",
        target,
        action: "query-open",
        query,
        text: "Please confirm against the source.",
        assignee: { role: "coordinator" },
      };
      await appendReview(env.store.db, env.store.macKey, open, { now: at(age) });
      opened += 1;
      const fate = next();
      if (fate > 0.45 && age > 2) {
        await appendReview(
          env.store.db,
          env.store.macKey,
          {
            ...base,
            by: `dev-${s.site}`,
            target,
            action: "query-answer",
            query,
            text: "Checked: as entered.",
          },
          { now: at(age - 2) },
        );
        if (fate > 0.7)
          await appendReview(
            env.store.db,
            env.store.macKey,
            { ...base, by: "dev-monitor", target, action: "query-close", query },
            { now: at(Math.max(0, age - 3)) },
          );
      }
    }
  }

  const api = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await env.app.request(`/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
  const monitor = env.tokens.monitor?.token ?? "";
  let verified = 0;
  for (const s of subjects.filter((_, n) => n % 3 === 0)) {
    const res = await api(monitor, "POST", `/studies/${env.studyId}/subjects/${s.id}/verifications`, {
      target: { event: "screening", form: "vital_signs", instance: 1 },
    });
    if (res.status >= 300) throw new Error(`verify ${s.id}: ${res.status} ${JSON.stringify(res.body)}`);
    verified += 1;
  }
  for (const s of subjects.filter((_, n) => n % 7 === 0))
    await appendReview(env.store.db, env.store.macKey, {
      study: env.studyId,
      subject: s.id,
      site: s.site,
      by: "dev-data-manager",
      target: { event: "screening" },
      action: "lock",
    });

  const list = await api(monitor, "GET", `/studies/${env.studyId}/queries`);
  console.log(
    JSON.stringify({
      subjects: SUBJECTS,
      queriesOpened: opened,
      formsVerified: verified,
      stats: list.body.stats,
    }),
  );

  mkdirSync(ARTIFACTS, { recursive: true });
  const server = serve({ fetch: env.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage({
      baseURL: `http://127.0.0.1:${port}`,
      viewport: { width: 1280, height: 900 },
    });
    await page.goto("/signin");
    await page.fill("#f-token", monitor);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`**/studies/${env.studyId}`);
    await page.screenshot({ path: path.join(ARTIFACTS, "review-monitor-dashboard.png"), fullPage: true });
    await page.goto(`/studies/${env.studyId}/queries`);
    await page.screenshot({ path: path.join(ARTIFACTS, "review-query-list.png"), fullPage: true });
  } finally {
    await browser.close();
    server.close();
  }
  writeFileSync(
    path.join(ARTIFACTS, "review-query-stats.json"),
    `${JSON.stringify(list.body.stats, null, 2)}\n`,
  );
} finally {
  await env.close();
}
