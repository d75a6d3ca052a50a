import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createApp } from "./app.ts";
import { loadDefinition } from "./definition-files.ts";
import { formatImpact } from "./engine/impact.ts";
import { loadPublishPlan, PUBLISH_PLAN_FILE } from "./publish-plan.ts";
import { startDynalite } from "./store/dynalite.ts";
import { createClients, ensureTable } from "./store/dynamo.ts";
import { ALL_SITES } from "./store/principal.ts";
import { createStore, type Store } from "./store/store.ts";
import { type ApiKey, newToken } from "./store/tokens.ts";

export interface DevToken extends ApiKey {
  token: string;
}

export interface DevEnvironment {
  store: Store;
  app: ReturnType<typeof createApp>;
  endpoint: string;
  tableName: string;
  studyId: string;
  /** One token per role, and one site token per site. */
  tokens: Record<string, DevToken>;
  close: () => Promise<void>;
}

/**
 * The whole product on one machine: dynalite in-process (kept in
 * `<dataDir>/dynamo`, or in memory without a dataDir), the table, `forms/`
 * published, dev tokens, and the app. Used by `npm start` and the tests.
 */
export async function startDevEnvironment(
  options: { dataDir?: string; formsDir?: string; tableName?: string; feedSettleMs?: number } = {},
): Promise<DevEnvironment> {
  const tableName = options.tableName ?? "edc";
  if (options.dataDir) await mkdir(path.join(options.dataDir, "dynamo"), { recursive: true });
  const dynamo = await startDynalite(options.dataDir ? { path: path.join(options.dataDir, "dynamo") } : {});
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  await ensureTable(client, tableName);
  const store = createStore({ tableName, doc });
  const definition = await loadDefinition(options.formsDir ?? "forms");
  const formsDir = options.formsDir ?? "forms";
  const outcome = await store.publish({
    definition,
    actor: "local",
    reason: "forms/ published at start",
    ...(await loadPublishPlan(formsDir)),
  });
  if (outcome.kind === "refused") {
    await dynamo.close();
    throw new Error(
      `${formsDir}/ was not published: destructive changes need a migration or an acceptance in ${formsDir}/${PUBLISH_PLAN_FILE}\n${formatImpact(outcome.report).join("\n")}`,
    );
  }
  const tokens = await devTokens(
    store,
    definition.study.id,
    definition.study.sites.map((s) => s.id),
    options.dataDir,
  );
  return {
    store,
    // One process and no Lambda timeouts: a commit is visible at once, a short settle is plenty.
    app: createApp(store, {
      sessionSecret: await sessionSecret(options.dataDir),
      feedSettleMs: options.feedSettleMs ?? 2_000,
    }),
    endpoint: dynamo.endpoint,
    tableName,
    studyId: definition.study.id,
    tokens,
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** A random secret, kept in `<dataDir>/session-secret` so sign-ins survive a restart. */
async function sessionSecret(dataDir: string | undefined): Promise<string> {
  const file = dataDir ? path.join(dataDir, "session-secret") : undefined;
  if (file && existsSync(file)) return (await readFile(file, "utf8")).trim();
  const secret = randomBytes(32).toString("base64url");
  if (file) await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Reuses the tokens of `<dataDir>/dev-tokens.json` when they still resolve, so restarts keep them. */
async function devTokens(
  store: Store,
  study: string,
  sites: string[],
  dataDir: string | undefined,
): Promise<Record<string, DevToken>> {
  const file = dataDir ? path.join(dataDir, "dev-tokens.json") : undefined;
  if (file && existsSync(file)) {
    const saved = JSON.parse(await readFile(file, "utf8")) as Record<string, DevToken>;
    const valid = await Promise.all(Object.values(saved).map((t) => store.findToken(t.token)));
    if (valid.every((p) => p?.study === study)) return saved;
  }
  const wanted: Record<string, ApiKey> = {
    builder: { user: "dev-builder", role: "builder", study, sites: [ALL_SITES] },
    monitor: { user: "dev-monitor", role: "monitor", study, sites: [ALL_SITES] },
    sponsor: { user: "dev-sponsor", role: "sponsor", study, sites: [ALL_SITES] },
    ...Object.fromEntries(
      sites.map((s) => [s, { user: `dev-${s}`, role: "coordinator", study, sites: [s] } as ApiKey]),
    ),
  };
  const tokens: Record<string, DevToken> = {};
  for (const [name, principal] of Object.entries(wanted)) {
    const token = newToken();
    await store.storeToken(token, principal);
    tokens[name] = { token, ...principal };
  }
  if (file) await writeFile(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens;
}
