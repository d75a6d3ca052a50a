import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { sessionIdleMs, signingWindowMs } from "./app.ts";
import { startDevEnvironment } from "./dev-environment.ts";
import { describeStoreFailure, LocalStoreUnreadable } from "./store/local-store-check.ts";

/** `npm start`: the product on localhost with the reference study. PORT and DATA_DIR override the defaults. */
const port = Number(process.env.PORT ?? 3000);
const dataDir = path.resolve(process.env.DATA_DIR ?? ".data");

const storeFolder = path.join(dataDir, "dynamo");
// dynalite throws LevelDB read errors out of its request handler: stop with one clear line, change nothing.
process.on("uncaughtException", (error) => {
  console.error(describeStoreFailure(storeFolder, error) ?? error);
  process.exit(1);
});

/**
 * The study folders served beside forms/: every `studies/<id>/` holding a
 * study.json, the folders of STUDY_DIRS (separated like PATH) and of each
 * `--study <dir>`.
 */
function studyFolders(): string[] {
  const { values } = parseArgs({ options: { study: { type: "string", multiple: true } } });
  const found = existsSync("studies")
    ? readdirSync("studies", { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join("studies", d.name, "study.json")))
        .map((d) => path.join("studies", d.name))
    : [];
  const named = [...(process.env.STUDY_DIRS ?? "").split(path.delimiter), ...(values.study ?? [])];
  return [...new Set([...found, ...named.filter(Boolean)].map((d) => path.resolve(d)))];
}

const publicUrl = `http://localhost:${port}`;
const env = await startDevEnvironment({
  dataDir,
  studyDirs: studyFolders(),
  publicUrl,
  // A fixed port keeps the issuer, and so every person's id, the same across restarts.
  oidcPort: Number(process.env.OIDC_PORT ?? port + 1),
  sessionIdleMs: sessionIdleMs(process.env.SESSION_IDLE_MINUTES),
  signingWindowMs: signingWindowMs(process.env.SIGNING_WINDOW_MINUTES),
  projectionPassEveryMs: 60_000,
  exportSchedulesEveryMs: 60_000,
  storeThread: true,
}).catch((error) => {
  if (!(error instanceof LocalStoreUnreadable)) throw error;
  console.error(error.message);
  process.exit(1);
});
const server = serve({ fetch: env.app.fetch, port, hostname: process.env.HOST ?? "localhost" }, (info) => {
  const url = `http://localhost:${info.port}`;
  const site = env.tokens["site-01"];
  console.log(`EDC engine for study ${env.studyId} at ${url}`);
  const coordinator = env.signIn?.people.find((p) => p.role === "coordinator");
  console.log(`Sign in at ${url}/signin through the local OpenID provider (${env.signIn?.issuer}).`);
  console.log(
    `People and their passwords: ${env.signIn?.peopleFile ?? "in memory"}; e.g. ${coordinator?.username} / ${coordinator?.password}.`,
  );
  // Each study's address: signed out, it signs a person in at that study (every dev person holds a role at each).
  console.log("Studies (a person signs in at the one whose address they open):");
  for (const id of [env.studyId, ...Object.keys(env.studies)]) console.log(`  ${url}/studies/${id}`);
  console.log("API keys (below) still sign in on the same page, and call the API.");
  console.log(`Data kept in ${dataDir} (delete it to start afresh)`);
  console.log(
    `Audit entries MACed with the key in ${env.store.macKey.id} (keep it: without it the audit cannot be verified)`,
  );
  console.log(`\nDev tokens (also in ${path.join(dataDir, "dev-tokens.json")}):`);
  for (const [name, t] of Object.entries(env.tokens))
    console.log(
      `  ${name.padEnd(8)} ${t.scope
        .map((g) => g.role)
        .join(",")
        .padEnd(12)} ${t.token}`,
    );
  for (const [id, hosted] of Object.entries(env.studies)) {
    console.log(
      `\nStudy ${id} (from ${path.relative(".", hosted.dir)}), its dev tokens in dev-tokens.${id}.json:`,
    );
    for (const [name, t] of Object.entries(hosted.tokens)) console.log(`  ${name.padEnd(8)} ${t.token}`);
  }
  console.log(
    `\nTry:\n  curl -H "Authorization: Bearer ${site?.token}" ${url}/api/v1/studies/${env.studyId}/subjects`,
  );
  console.log(`OpenAPI: ${url}/api/v1/openapi.json`);
});

const stop = () => {
  server.close();
  env.close().finally(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// A closed terminal: stopping cleanly seals the local store, so the next start need not read it all.
process.on("SIGHUP", stop);
