import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A new Lambda instance in a fresh `node` process: imports a bundle's
 * `index.mjs` and answers one event. The API handler streams
 * (functions/handlers/lambda-stream.ts): a minimal awslambda global as
 * Lambda's Node runtime defines it (tests/helpers/lambda-runtime.ts has the
 * whole one), the output collected and decoded.
 */
const CHILD = `
const { Writable } = await import("node:stream");
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
globalThis.awslambda = {
  streamifyResponse: (f) => Object.assign(f, { [STREAMING]: "response" }),
  HttpResponseStream: { from(stream, prelude) { stream.write(JSON.stringify(prelude)); stream.write(new Uint8Array(8)); return stream; } },
};
async function invoke(handler, event) {
  if (!handler[STREAMING]) return handler(event, {});
  const parts = [];
  const stream = new Writable({ write(c, _e, done) { parts.push(c); done(); } });
  stream.setContentType = () => {};
  const ended = new Promise((resolve) => stream.on("finish", resolve));
  await handler(event, stream, {});
  await ended;
  const all = Buffer.concat(parts);
  const end = all.indexOf(0);
  return { ...JSON.parse(all.subarray(0, end).toString()), body: all.subarray(end + 8).toString() };
}
const t0 = performance.now();
const { handler } = await import(process.argv[1]);
const t1 = performance.now();
const result = await invoke(handler, JSON.parse(process.argv[2]));
const t2 = performance.now();
process.stdout.write("\\n@@" + JSON.stringify({ initMs: t1 - t0, firstMs: t2 - t1, status: result.statusCode, body: result.body }));
`;

export interface ColdStartResult {
  /** Importing index.mjs, in the child. */
  initMs: number;
  /** The first event, in the child. */
  firstMs: number;
  status: number;
  body: string;
}

/** One cold start: a fresh process imports the bundle and answers `event`. */
export async function coldStart(
  bundleDir: string,
  env: NodeJS.ProcessEnv,
  event: unknown,
): Promise<ColdStartResult> {
  const { stdout } = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      CHILD,
      pathToFileURL(path.join(bundleDir, "index.mjs")).href,
      JSON.stringify(event),
    ],
    { env, cwd: tmpdir(), timeout: 60_000 },
  );
  return JSON.parse(stdout.slice(stdout.lastIndexOf("@@") + 2)) as ColdStartResult;
}

/**
 * The bundle's files a cold start and its first event loaded, and their bytes:
 * V8's coverage (NODE_V8_COVERAGE) lists every script the process parsed,
 * chunks loaded by `import()` included. Not timed: coverage slows the process.
 */
export async function loadedByFirstEvent(
  bundleDir: string,
  env: NodeJS.ProcessEnv,
  event: unknown,
): Promise<{ result: ColdStartResult; files: string[]; bytes: number }> {
  const coverage = mkdtempSync(path.join(tmpdir(), "edc-cold-coverage-"));
  try {
    const result = await coldStart(bundleDir, { ...env, NODE_V8_COVERAGE: coverage }, event);
    const files = new Set<string>();
    for (const name of readdirSync(coverage)) {
      const { result: scripts } = JSON.parse(readFileSync(path.join(coverage, name), "utf8")) as {
        result: { url: string }[];
      };
      for (const { url } of scripts) {
        if (!url.startsWith("file:")) continue;
        const file = fileURLToPath(url);
        if (file.startsWith(bundleDir + path.sep)) files.add(file);
      }
    }
    const list = [...files].sort();
    return { result, files: list, bytes: list.reduce((sum, f) => sum + statSync(f).size, 0) };
  } finally {
    rmSync(coverage, { recursive: true, force: true });
  }
}
