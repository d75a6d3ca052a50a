import { accessSync, constants } from "node:fs";
import path from "node:path";

/**
 * Where the system's Chromium is (Debian's `chromium`, or CHROMIUM_PATH) and
 * how it is started. Kept apart from browser.ts, which imports vitest's test
 * API, so the global setup (shared-chromium.ts) can use it in the main process.
 */

export const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findChromium(): { path?: string; reason: string } {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted) {
    return executable(wanted)
      ? { path: wanted, reason: "" }
      : { reason: `CHROMIUM_PATH=${wanted} is not an executable file` };
  }
  const onPath = (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "chromium"));
  const found = ["/usr/bin/chromium", ...onPath].find(executable);
  return found
    ? { path: found, reason: "" }
    : { reason: "no Chromium found (set CHROMIUM_PATH, or `apt-get install chromium`)" };
}

/** The key under which the global setup hands the shared browser's address to the test files. */
export const SHARED_CHROMIUM = "sharedChromiumWsEndpoint";

declare module "vitest" {
  export interface ProvidedContext {
    /** The shared Chromium's WebSocket endpoint; empty when this run started none. */
    [SHARED_CHROMIUM]: string;
  }
}
