import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

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
