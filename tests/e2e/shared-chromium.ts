import path from "node:path";
import { chromium } from "playwright-core";
import type { TestProject } from "vitest/node";
import { findChromium, LAUNCH_ARGS, SHARED_CHROMIUM } from "./chromium.ts";

/**
 * Vitest global setup: one Chromium for the whole run, which every browser
 * test file connects to (browser.ts) and opens its own contexts in, instead of
 * each file starting and stopping a browser of its own. Started only when the
 * run may include a browser test; without it a file launches its own.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  project.provide(SHARED_CHROMIUM, "");
  const executablePath = findChromium().path;
  if (!executablePath || !mayRunBrowserTests(project)) return undefined;
  const server = await chromium.launchServer({ executablePath, args: LAUNCH_ARGS });
  project.provide(SHARED_CHROMIUM, server.wsEndpoint());
  return () => server.close();
}

/** Whether the file filters given on the command line (vitest matches them as parts of a path) can pick an e2e file. */
function mayRunBrowserTests(project: TestProject): boolean {
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  if (!filters?.length) return true;
  const e2e = path.join(import.meta.dirname, path.sep);
  return filters.some((filter) => {
    const absolute = path.resolve(filter);
    return (
      absolute.startsWith(e2e) ||
      e2e.startsWith(absolute) ||
      filter.includes("e2e") ||
      !filter.includes(path.sep)
    );
  });
}
