import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { memoryMacKey } from "../../functions/store/mac-key.ts";

export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The engine at `ref`, runnable from a temp folder: its own sources, our
 * node_modules and browser scripts. Inside tests/artifacts (git-ignored),
 * because tsx compiles JSX only for files the tsconfig includes.
 */
export function checkoutAt(ref: string): string {
  mkdirSync(path.join(ROOT, "tests/artifacts"), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, "tests/artifacts/before-"));
  execFileSync(
    "sh",
    ["-c", `git archive ${ref} functions forms package.json tsconfig.json | tar -x -C ${dir}`],
    {
      cwd: ROOT,
    },
  );
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  copyFileSync(
    path.join(ROOT, "functions/web/scripts.generated.ts"),
    path.join(dir, "functions/web/scripts.generated.ts"),
  );
  // Commits since the browser scripts left the API bundle import their paths from their own module.
  const paths = path.join(ROOT, "functions/web/script-paths.generated.ts");
  if (existsSync(paths)) copyFileSync(paths, path.join(dir, "functions/web/script-paths.generated.ts"));
  return dir;
}

/** What a benchmark asks of an app, at any commit: Hono's `request`. */
export type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };

/**
 * The app of the engine at `root` (this checkout or `checkoutAt`'s) over a
 * table, with today's in-memory MAC key (a commit from before the audit chain
 * ignores it).
 */
export async function appAt(root: string, doc: unknown, tableName: string): Promise<App> {
  const { createStore } = await import(path.join(root, "functions/store/store.ts"));
  // The composition root moved from api/app.ts to app.ts; an older commit may predate that.
  const appModule = existsSync(path.join(root, "functions/app.ts"))
    ? "functions/app.ts"
    : "functions/api/app.ts";
  const { createApp } = await import(path.join(root, appModule));
  return createApp(createStore({ tableName, doc, macKey: memoryMacKey() }), {
    sessionSecret: "bench-secret-bench-secret-bench-00",
  });
}

/** Signs in with an API key on the page form and returns the session cookie. */
export async function signIn(app: App, token: string): Promise<string> {
  const res = await app.request("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
    redirect: "manual",
  });
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie;
}
