/**
 * A bulk export job against the same export over HTTP (issue 16: "a bulk
 * export job of 5,000 subjects completes locally with progress reported …
 * time and peak memory next to the same export over HTTP").
 *
 *   npm run bench:export-job -- --subjects=5000 --rounds=3
 *
 * Each side runs in its own fresh node process on the same seeded study
 * (tests/bench/cases/export.ts `seededStudy`, kept under
 * tests/artifacts/bench-data/), one after the other, alternately, so both see
 * the same machine; the figures are medians over the rounds:
 * - http: the whole flat CSV through GET …/records?format=csv, page after page
 *   (the Link header), as a client pulls it;
 * - job: POST …/exports {format: "csv"}, then GET …/exports/{job} every 250 ms
 *   until done; the progress seen on the way is reported.
 * Time is from the first request to the last byte / the job's done; peak RSS is
 * the process's own (`process.resourceUsage().maxRSS`). The job's file is
 * downloaded and hashed, and must match both the job's SHA-256 and the one in
 * its `export-job-done` access log entry.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { exportCsv, seededStudy } from "./cases/export.ts";
import { ROOT } from "./checkout-at.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

interface Side {
  ms: number;
  rows: number;
  maxRssMb: number;
  sha256?: string;
  bytes?: number;
  progress?: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function child(mode: "http" | "job", subjects: number): Promise<Side> {
  const seeded = await seededStudy(subjects, { name: "export", sizes: [1000, 4000, subjects] });
  try {
    const auth = { authorization: `Bearer ${seeded.token}` };
    const started = performance.now();
    if (mode === "http") {
      const rows = await exportCsv(seeded, 1000);
      return { ms: performance.now() - started, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 };
    }
    const base = `/api/v1/studies/${seeded.env.studyId}/exports`;
    const res = await seeded.env.app.request(base, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ format: "csv" }),
    });
    if (res.status !== 202) throw new Error(`start: ${res.status} ${await res.text()}`);
    const { id: job } = (await res.json()) as { id: string };
    const progress: number[] = [];
    for (;;) {
      const answer = await seeded.env.app.request(`${base}/${job}`, { headers: auth });
      // Anything but the job's status ends the run: polling a 404 would wait forever.
      if (answer.status !== 200) throw new Error(`status: ${answer.status} ${await answer.text()}`);
      const status = (await answer.json()) as {
        state: string;
        percent: number;
        rows: number;
        error?: string;
        files: { name: string; bytes: number; sha256: string; url: string }[];
      };
      if (status.state === "failed") throw new Error(`job failed: ${status.error}`);
      if (status.state === "done") {
        const ms = performance.now() - started;
        const file = status.files[0];
        // The file behind the job's download URL hashes to what the job reports (and the access log holds).
        const url = new URL(file?.url ?? "", "http://localhost");
        const download = await seeded.env.app.request(url.pathname + url.search);
        const sha256 = createHash("sha256")
          .update(new Uint8Array(await download.arrayBuffer()))
          .digest("hex");
        if (sha256 !== file?.sha256)
          throw new Error(`stored file hashes to ${sha256}, job says ${file?.sha256}`);
        // …and the audit holds the same hash, written before the job showed done.
        const { entries } = await seeded.env.store.readAccessLog(seeded.env.studyId, { limit: 100_000 });
        const done = entries.find((e) => e.action === "export-job-done" && e.details.job === job);
        const audited = (done?.details.files as { sha256: string }[] | undefined)?.[0]?.sha256;
        if (audited !== sha256)
          throw new Error(`the access log says ${audited}, the file hashes to ${sha256}`);
        return {
          ms,
          rows: status.rows,
          maxRssMb: process.resourceUsage().maxRSS / 1024,
          sha256,
          bytes: file.bytes,
          progress,
        };
      }
      if (progress.at(-1) !== status.percent) progress.push(status.percent);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await seeded.env.close();
  }
}

function runChild(mode: "http" | "job", subjects: number): Promise<Side> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", __filename, `--child=${mode}`, `--subjects=${subjects}`],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (d: string) => {
      out += d;
    });
    proc.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("@@result "));
      if (code !== 0 || !line) reject(new Error(`${mode} child exited ${code}\n${out}`));
      else resolve(JSON.parse(line.slice("@@result ".length)) as Side);
    });
  });
}

const __filename = new URL(import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    subjects: { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
    child: { type: "string" },
  },
});
const subjects = Number(values.subjects);

if (values.child === "http" || values.child === "job") {
  const result = await child(values.child, subjects);
  process.stdout.write(`@@result ${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  // Seed (or find) the study first, outside the timed rounds.
  await (await seededStudy(subjects, { name: "export", sizes: [1000, 4000, subjects] })).env.close();
  const http: Side[] = [];
  const job: Side[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [mode, into] of (round % 2 === 0
      ? [
          ["http", http],
          ["job", job],
        ]
      : [
          ["job", job],
          ["http", http],
        ]) as ["http" | "job", Side[]][]) {
      const side = await runChild(mode, subjects);
      into.push(side);
      process.stderr.write(
        `round ${round + 1} ${mode}: ${(side.ms / 1000).toFixed(1)} s, ${side.rows} rows, RSS ${side.maxRssMb.toFixed(0)} MB\n`,
      );
    }
  }
  const summary = {
    subjects,
    rounds: http.length,
    http: {
      medianS: median(http.map((s) => s.ms)) / 1000,
      medianRssMb: median(http.map((s) => s.maxRssMb)),
      rows: http[0]?.rows,
    },
    job: {
      medianS: median(job.map((s) => s.ms)) / 1000,
      medianRssMb: median(job.map((s) => s.maxRssMb)),
      rows: job[0]?.rows,
      bytes: job[0]?.bytes,
      sha256: job[0]?.sha256,
      progressSeen: job[0]?.progress,
    },
  };
  const ratio = summary.job.medianS / summary.http.medianS;
  console.log(
    JSON.stringify(
      {
        ...summary,
        jobOverHttpTime: ratio,
        jobOverHttpRss: summary.job.medianRssMb / summary.http.medianRssMb,
      },
      null,
      2,
    ),
  );
}
