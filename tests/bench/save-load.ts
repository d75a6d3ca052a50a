import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { edss } from "./cases/save.ts";
import { rawSave, rawSummary } from "./cases/save-floor.ts";
import { checkoutAt, ROOT } from "./checkout-at.ts";
import { median } from "./pairs.ts";

/**
 * Saves per second against the local server (dev environment + Node server,
 * each in its own process, the store on a thread of its own as `npm start`
 * runs it; code older than that option keeps it on the app's thread, as its
 * `npm start` did), today's code and BEFORE's alternately, at 10 and
 * 50 connections, a bounded number of saves each round. Every connection saves
 * its own subject's form, revision after revision, so any answer but 200 is an
 * error. `npm run bench:load [-- --saves=1000 --rounds=3 --warmup=500 --connections=10,50 --before=<ref>] [--floor]`.
 *
 * `--floor` adds a third server whose every request makes only the store calls
 * a correct save needs (`rawSave`: read, conditional commit, projection ∥
 * summary) on the same kind of store, with no app at all: what no save can
 * beat, so `floor / before` bounds any `after / before`.
 * Not part of `npm test`: a loaded machine moves the figures, the ratio is what counts.
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

interface Served {
  url: string;
  token: string;
  study: string;
}

/** Child mode: the dev environment of the code at `root`, served on a free port; its address on stdout. */
async function serve(root: string): Promise<void> {
  const { startDevEnvironment } = await import(path.join(root, "functions/dev-environment.ts"));
  const { serve: listen } = await import("@hono/node-server");
  // As `npm start` runs it (older code ignores the option).
  const env = await startDevEnvironment({ storeThread: true });
  listen({ fetch: env.app.fetch, port: 0, hostname: "127.0.0.1" }, (info: { port: number }) => {
    const served: Served = {
      url: `http://127.0.0.1:${info.port}`,
      token: env.tokens["site-01"].token,
      study: env.studyId,
    };
    console.log(JSON.stringify(served));
  });
}

/** Child mode: the store calls of a save and nothing else, behind a bare node:http server. */
async function serveFloor(): Promise<void> {
  const { startDevEnvironment } = await import("../../functions/dev-environment.ts");
  const env = await startDevEnvironment({ storeThread: true });
  let subjects = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const answer = async () => {
      if (req.method === "POST") {
        const id = `floor-${++subjects}`;
        await rawSummary(env, id);
        return { status: 201, body: JSON.stringify({ id }) };
      }
      const [, subject] = url.pathname.split("/");
      await rawSave(env, subject ?? "", Number(url.searchParams.get("rev")) + 1);
      return { status: 200, body: "{}" };
    };
    req.resume();
    req.on("end", () => {
      answer().then(
        ({ status, body }) => res.writeHead(status, { "content-type": "application/json" }).end(body),
        (error) => res.writeHead(500).end(String(error)),
      );
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, token: "", study: "floor" }));
  });
}

async function startServer(root: string): Promise<{ served: Served; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(ROOT, "tests/bench/save-load.ts"),
      root ? `--serve=${root}` : "--serve-floor",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    if (line.startsWith("{")) return { served: JSON.parse(line) as Served, child };
  }
  throw new Error(`server at ${root} ended before it listened`);
}

/** One connection: a subject of its own, saved over and over from the revision the last save made. */
async function connection(served: Served) {
  if (served.study === "floor") return floorConnection(served);
  const headers = { authorization: `Bearer ${served.token}`, "content-type": "application/json" };
  const res = await fetch(`${served.url}/api/v1/studies/${served.study}/subjects`, {
    method: "POST",
    headers,
    body: JSON.stringify({ site: "site-01", arm: "rrms" }),
  });
  if (res.status !== 201) throw new Error(`enrol: ${res.status} ${await res.text()}`);
  const subject = ((await res.json()) as { id: string }).id;
  const url = `${served.url}/api/v1/studies/${served.study}/subjects/${subject}/events/screening/forms/edss`;
  let rev = 0;
  return async (): Promise<boolean> => {
    const put = await fetch(url, {
      method: "PUT",
      headers,
      body: JSON.stringify({ data: edss(rev), status: "incomplete", rev }),
    });
    await put.arrayBuffer();
    if (put.status !== 200) return false;
    rev += 1;
    return true;
  };
}

/** One connection to the floor server: a subject of its own, "saved" revision after revision. */
async function floorConnection(served: Served) {
  const res = await fetch(`${served.url}/`, { method: "POST" });
  if (res.status !== 201) throw new Error(`floor enrol: ${res.status}`);
  const subject = ((await res.json()) as { id: string }).id;
  let rev = 0;
  return async (): Promise<boolean> => {
    const put = await fetch(`${served.url}/${subject}?rev=${rev}`, { method: "PUT", body: "{}" });
    await put.arrayBuffer();
    if (put.status !== 200) return false;
    rev += 1;
    return true;
  };
}

/** `saves` saves over `connections` connections at once; saves per second and errors. */
async function load(saveOnce: Array<() => Promise<boolean>>, saves: number) {
  let left = saves;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    saveOnce.map(async (one) => {
      while (left > 0) {
        left -= 1;
        if (!(await one())) errors += 1;
      }
    }),
  );
  return { perSecond: saves / ((performance.now() - start) / 1000), errors };
}

async function main() {
  const saves = Number(arg("saves", "1000"));
  const rounds = Number(arg("rounds", "3"));
  const warmup = Number(arg("warmup", "500"));
  const connectionCounts = arg("connections", "10,50").split(",").map(Number);
  const beforeRef = arg("before", "b3db3c7");
  const sides = [
    { name: `before (${beforeRef})`, ...(await startServer(checkoutAt(beforeRef))) },
    { name: "after (this tree)", ...(await startServer(ROOT)) },
    ...(process.argv.includes("--floor")
      ? [{ name: "floor (store calls only)", ...(await startServer("")) }]
      : []),
  ];
  try {
    const report: Record<string, unknown>[] = [];
    for (const n of connectionCounts) {
      const clients = await Promise.all(
        sides.map(async (s) => Promise.all(Array.from({ length: n }, () => connection(s.served)))),
      );
      const perSecond: number[][] = sides.map(() => []);
      const errors = sides.map(() => 0);
      // Not timed: each server's JIT warms up first (a first round ran 30-40 % slower than the next).
      for (const [i, saveOnce] of clients.entries()) errors[i] = (await load(saveOnce, warmup)).errors;
      for (let round = 0; round < rounds; round++) {
        // Which side goes first rotates, so none always meets a warmer (or busier) machine.
        const order = sides.map((_, i) => (i + round) % sides.length);
        for (const i of order) {
          const result = await load(clients[i] as Array<() => Promise<boolean>>, saves);
          perSecond[i]?.push(result.perSecond);
          errors[i] = (errors[i] ?? 0) + result.errors;
        }
      }
      const [before, after, floor] = perSecond.map((values) => median(values)) as [number, number, number?];
      const line = {
        connections: n,
        before: { savesPerSecond: before, errors: errors[0], rounds: perSecond[0] },
        after: { savesPerSecond: after, errors: errors[1], rounds: perSecond[1] },
        ratio: after / before,
        ...(floor === undefined
          ? {}
          : {
              floor: { savesPerSecond: floor, errors: errors[2], rounds: perSecond[2] },
              floorRatio: floor / before,
            }),
      };
      report.push(line);
      console.log(
        `${String(n).padStart(3)} connections: before ${before.toFixed(0)} saves/s (${errors[0]} errors), after ${after.toFixed(0)} saves/s (${errors[1]} errors): ${(after / before).toFixed(2)}×${floor === undefined ? "" : `; floor ${floor.toFixed(0)} saves/s (${errors[2]} errors): ${(floor / before).toFixed(2)}× before`}`,
      );
    }
    console.log(JSON.stringify({ saves, rounds, warmup, before: beforeRef, report }));
  } finally {
    for (const s of sides) s.child.kill();
  }
}

const served = arg("serve", "");
if (served) await serve(served);
else if (process.argv.includes("--serve-floor")) await serveFloor();
else await main();
