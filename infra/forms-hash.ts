import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Content hash of every file under `dir` (recursive, sorted, paths relative
 * and `/`-separated so the hash is the same on every OS and checkout path).
 * The forms custom resource carries it as a property: CloudFormation only
 * re-invokes a custom resource whose properties changed, so any edit to the
 * protocol — a new instrument, a renamed file, one changed byte — re-runs the
 * publish on the next deploy, and an unchanged protocol does not.
 */
export function hashDirectory(dir: string): string {
  const hash = createHash("sha256");
  for (const rel of listFiles(dir)) {
    const content = readFileSync(path.join(dir, rel));
    // Length-prefix name and content so no two different trees hash alike.
    hash.update(`${rel.length}:${rel}\0${content.length}:`);
    hash.update(content);
  }
  return hash.digest("hex");
}

function listFiles(root: string, rel = ""): string[] {
  const entries = readdirSync(path.join(root, rel), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) files.push(...listFiles(root, child));
    else if (entry.isFile()) files.push(child);
  }
  return files.sort();
}

/** Every subfolder of `root` holding a study.json (none when `root` is missing), sorted. */
export function studyFolders(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, "study.json")))
    .map((d) => path.join(root, d.name))
    .sort();
}
