import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ALL_SITES, type Role } from "../store/principal.ts";

export type DevRole = Role;

/** Someone who can sign in at the local OpenID provider, with the roles the dev study will grant them. */
export interface DevPerson {
  username: string;
  password: string;
  /** Opaque and stable across restarts, like a real provider's: code must key people by it, not by username. */
  sub: string;
  name: string;
  email: string;
  role: DevRole;
  /** `["*"]` for every site of the study. */
  sites: string[];
}

export const DEV_PEOPLE_FILE = "dev-people.json";

type Wanted = Omit<DevPerson, "password" | "sub">;

function wantedPeople(sites: readonly string[]): Wanted[] {
  const person = (username: string, name: string, role: DevRole, at: string[]): Wanted => ({
    username,
    name,
    email: `${username}@example.org`,
    role,
    sites: at,
  });
  return [
    ...sites.flatMap((site) => [
      person(`coordinator-${site}`, `Dev coordinator, ${site}`, "coordinator", [site]),
      person(`investigator-${site}`, `Dev investigator, ${site}`, "investigator", [site]),
    ]),
    person("monitor", "Dev monitor", "monitor", [ALL_SITES]),
    person("data-manager", "Dev data manager", "data_manager", [ALL_SITES]),
    person("sponsor", "Dev sponsor", "sponsor", [ALL_SITES]),
    person("builder", "Dev builder", "builder", [ALL_SITES]),
    person("admin", "Dev admin", "admin", [ALL_SITES]),
  ];
}

const newPassword = () => randomBytes(12).toString("base64url");

type Credentials = Pick<DevPerson, "password" | "sub">;

/** Only entries with a usable password and sub are kept: a hand-edited file cannot lock a person out. */
async function savedCredentials(file: string | undefined): Promise<Map<string, Credentials>> {
  const saved = new Map<string, Credentials>();
  if (!file || !existsSync(file)) return saved;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return saved;
  }
  for (const entry of Array.isArray(parsed) ? parsed : []) {
    const { username, password, sub } = (entry ?? {}) as Record<string, unknown>;
    if (
      typeof username === "string" &&
      typeof password === "string" &&
      typeof sub === "string" &&
      password &&
      sub
    )
      saved.set(username, { password, sub });
  }
  return saved;
}

/**
 * The dev people of a study with these sites. Passwords and subs are generated
 * once and kept in `<dataDir>/dev-people.json`, so a restart signs the same
 * people in with the same passwords; without a dataDir they live in memory.
 */
export async function loadDevPeople(sites: readonly string[], dataDir?: string): Promise<DevPerson[]> {
  const file = dataDir ? path.join(dataDir, DEV_PEOPLE_FILE) : undefined;
  const saved = await savedCredentials(file);
  const people = wantedPeople(sites).map(
    (p): DevPerson => ({
      ...p,
      ...(saved.get(p.username) ?? { password: newPassword(), sub: randomUUID() }),
    }),
  );
  const changed =
    people.some((p) => saved.get(p.username)?.password !== p.password) || saved.size !== people.length;
  if (file && changed) await writeFile(file, `${JSON.stringify(people, null, 2)}\n`, { mode: 0o600 });
  return people;
}
