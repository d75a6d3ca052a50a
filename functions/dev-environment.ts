import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createApp } from "./app.ts";
import { loadDefinition } from "./definition-files.ts";
import { DEV_PEOPLE_FILE, type DevPerson, loadDevPeople } from "./dev/dev-people.ts";
import { folderExportTarget, LOCAL_EXPORT_DOWNLOADS, serveLocalExports } from "./dev/folder-export-target.ts";
import { folderFileObjects } from "./dev/folder-file-objects.ts";
import { type DevOidcProvider, startOidcProvider } from "./dev/oidc-provider.ts";
import { formatImpact } from "./engine/impact.ts";
import { scheduleDateFields } from "./engine/schedule.ts";
import type { ExportJobSettings, ImportJobSettings } from "./http/context.ts";
import { type ExportRunOptions, runExportJob } from "./http/export-job-runner.ts";
import { runDueSchedules } from "./http/export-schedules.ts";
import { runImportJob } from "./http/import-job-runner.ts";
import { loadPublishPlan, PUBLISH_PLAN_FILE } from "./publish-plan.ts";
import { startDynalite } from "./store/dynalite.ts";
import { startDynaliteThread } from "./store/dynalite-thread.ts";
import { createClients, ensureTable } from "./store/dynamo.ts";
import type { ExportTarget } from "./store/export-target.ts";
import { type FileObjects, memoryFileObjects } from "./store/file-objects.ts";
import { defaultMacKeyFile, fileMacKey, type MacKey, memoryMacKey } from "./store/mac-key.ts";
import { ALL_SITES, type Role, type RoleGrant, withinGrants } from "./store/principal.ts";
import { createStore, type Store } from "./store/store.ts";
import { type ApiKey, newToken } from "./store/tokens.ts";
import { SCRIPTS } from "./web/scripts.generated.ts";

export interface DevToken extends ApiKey {
  token: string;
}

export interface HostedStudy {
  /** The study folder it is published from at every start. */
  dir: string;
  tokens: Record<string, DevToken>;
}

export interface DevSignIn {
  issuer: string;
  people: DevPerson[];
  /** `<dataDir>/dev-people.json`, when kept on disk. */
  peopleFile?: string;
}

export interface DevEnvironment {
  store: Store;
  app: ReturnType<typeof createApp>;
  endpoint: string;
  tableName: string;
  studyId: string;
  /** One token per role, and one site token per site. */
  tokens: Record<string, DevToken>;
  /** The other studies served (`studyDirs`), by id, each with its own dev tokens. */
  studies: Record<string, HostedStudy>;
  /** The local OpenID provider and its people, when started with a `publicUrl`. */
  signIn?: DevSignIn;
  /** Where bulk export jobs write (tests drive runners by hand with it). */
  exportTarget: ExportTarget;
  close: () => Promise<void>;
}

/**
 * The whole product on one machine: dynalite in-process (kept in
 * `<dataDir>/dynamo`, or in memory without a dataDir), the table, `forms/`
 * published, dev tokens, and the app. Used by `npm start` and the tests.
 */
export async function startDevEnvironment(
  options: {
    dataDir?: string;
    formsDir?: string;
    /** More study folders (same layout as forms/), each published at start beside it. */
    studyDirs?: string[];
    tableName?: string;
    feedSettleMs?: number;
    /** Default: the key file beside the data folder (made at the first start), or a key in memory without one. */
    macKey?: MacKey;
    /** Tests only: a shorter commit window for feed-visible writes (store/commit-window.ts). */
    commitWindowMs?: number;
    /**
     * Where the browser reaches the app (e.g. `http://localhost:3000`). Given, a
     * local OpenID provider is started for people to sign in at, and the dev
     * people are granted their roles at the study.
     */
    publicUrl?: string;
    /** The provider's port (0 or absent: any free one). */
    oidcPort?: number;
    sessionIdleMs?: number;
    /** How old a re-authentication may be when it is used to sign. */
    signingWindowMs?: number;
    /** Record import jobs: batch size, the REDCap endpoint's bound; `start` replaces the in-process runner. */
    importJobs?: Partial<ImportJobSettings>;
    /** Default: a folder under the data folder, or memory without one (tests pass an S3 store here). */
    files?: FileObjects;
    /**
     * Bulk export jobs: `target` defaults to `<dataDir>/exports` (a temporary folder without a data
     * folder); `start` replaces the in-process runner; `run` tunes it (tests).
     */
    exportJobs?: Partial<ExportJobSettings> & { run?: ExportRunOptions };
    /**
     * Run the projection repair pass (store/projection-watermark.ts) at start and then this often
     * (`npm start`); exports run it anyway, this keeps their feed check short. Off by default: tests
     * place the watermark themselves.
     */
    projectionPassEveryMs?: number;
    /**
     * Tick the scheduled exports (http/export-schedules.ts) at start and then this often (`npm start`:
     * every minute). Off by default: tests tick with a `now` of their own.
     */
    exportSchedulesEveryMs?: number;
    /** Run dynalite on a thread of its own (`npm start`: the store and the app each get a core). */
    storeThread?: boolean;
  } = {},
): Promise<DevEnvironment> {
  const tableName = options.tableName ?? "edc";
  if (options.dataDir) await mkdir(path.join(options.dataDir, "dynamo"), { recursive: true });
  const storeFolder = options.dataDir ? { path: path.join(options.dataDir, "dynamo") } : {};
  const dynamo = await (options.storeThread ? startDynaliteThread : startDynalite)(storeFolder);
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  await ensureTable(client, tableName);
  const macKey =
    options.macKey ??
    (options.dataDir ? fileMacKey(defaultMacKeyFile(options.dataDir), { create: true }) : memoryMacKey());
  const store = createStore({ tableName, doc, macKey, commitWindowMs: options.commitWindowMs });
  const formsDir = options.formsDir ?? "forms";
  const definition = await publishAtStart(store, formsDir).catch(async (error) => {
    await dynamo.close();
    throw error;
  });
  const studies: Record<string, HostedStudy> = {};
  const hostedDefinitions: Awaited<ReturnType<typeof publishAtStart>>[] = [];
  for (const dir of options.studyDirs ?? []) {
    const hosted = await loadDefinition(dir)
      .then(async (found) => {
        const id = found.study.id;
        if (id === definition.study.id || studies[id])
          throw new Error(`${dir}/: study ${id} is served from another folder already`);
        return publishAtStart(store, dir);
      })
      .catch(async (error) => {
        await dynamo.close();
        throw error;
      });
    hostedDefinitions.push(hosted);
    const id = hosted.study.id;
    const sites = hosted.study.sites.map((s) => s.id);
    studies[id] = {
      dir,
      tokens: await devTokens(store, id, sites, options.dataDir, `dev-tokens.${id}.json`),
    };
  }
  const tokens = await devTokens(
    store,
    definition.study.id,
    definition.study.sites.map((s) => s.id),
    options.dataDir,
  );
  const signIn = options.publicUrl
    ? await startDevSignIn(
        store,
        [definition, ...hostedDefinitions].map((d) => ({
          id: d.study.id,
          sites: d.study.sites.map((s) => s.id),
        })),
        options.publicUrl,
        options.dataDir,
        options.oidcPort,
      )
    : undefined;
  const secret = await sessionSecret(options.dataDir);
  const exportRoot = options.dataDir
    ? path.join(options.dataDir, "exports")
    : await mkdtemp(path.join(os.tmpdir(), "edc-exports-"));
  const exportTarget = options.exportJobs?.target ?? folderExportTarget(exportRoot, secret);
  const jobs = inProcessJobs("import", (study, id) => runImportJob(store, study, id));
  const exportJobs = inProcessJobs("export", (study, id) =>
    runExportJob(store, exportTarget, study, id, {
      feedSettleMs: options.feedSettleMs ?? 2_000,
      ...options.exportJobs?.run,
    }),
  );
  const hosted = [definition.study.id, ...Object.keys(studies)];
  // Jobs a previous run left unfinished (stopped, or crashed mid-batch) carry on from their stored progress.
  if (!options.importJobs?.start)
    for (const study of hosted)
      for (const job of await store.importJobs.list(study))
        if (job.state !== "done" && job.state !== "failed") jobs.start(study, job.id);
  // Export jobs left unfinished start again from their first subject.
  if (!options.exportJobs?.start)
    for (const study of hosted)
      for (const id of await unfinishedExportJobs(store, study)) exportJobs.start(study, id);
  const feedSettleMs = options.feedSettleMs ?? 2_000;
  const passes = options.projectionPassEveryMs
    ? await projectionPasses(
        store,
        [definition.study.id, ...Object.keys(studies)],
        feedSettleMs,
        options.projectionPassEveryMs,
      )
    : undefined;
  const scheduleTicks = options.exportSchedulesEveryMs
    ? await repeating(async () => {
        await runDueSchedules(store, new Date(), exportJobs.start).catch((error) =>
          console.error("export schedule tick stopped:", error),
        );
      }, options.exportSchedulesEveryMs)
    : undefined;
  return {
    store,
    // One process and no Lambda timeouts: a commit is visible at once, a short settle is plenty.
    app: createApp(store, {
      assets: Object.values(SCRIPTS),
      sessionSecret: secret,
      feedSettleMs,
      ...(options.sessionIdleMs !== undefined ? { sessionIdleMs: options.sessionIdleMs } : {}),
      ...(options.signingWindowMs !== undefined ? { signingWindowMs: options.signingWindowMs } : {}),
      ...(signIn ? { oidc: { issuer: signIn.provider.issuer, clientId: DEV_CLIENT_ID } } : {}),
      importJobs: { start: jobs.start, ...options.importJobs },
      exportJobs: {
        start: exportJobs.start,
        ...(options.exportJobs?.start ? { start: options.exportJobs.start } : {}),
        target: exportTarget,
      },
      localDownloads: { path: LOCAL_EXPORT_DOWNLOADS, handler: serveLocalExports(exportRoot, secret) },
      files:
        options.files ??
        (options.dataDir ? folderFileObjects(path.join(options.dataDir, "files")) : memoryFileObjects()),
    }),
    endpoint: dynamo.endpoint,
    tableName,
    studyId: definition.study.id,
    exportTarget,
    tokens,
    studies,
    ...(signIn
      ? {
          signIn: {
            issuer: signIn.provider.issuer,
            people: signIn.people,
            ...(options.dataDir ? { peopleFile: path.join(options.dataDir, DEV_PEOPLE_FILE) } : {}),
          },
        }
      : {}),
    close: async () => {
      await passes?.stop();
      await scheduleTicks?.stop();
      await jobs.drain();
      await exportJobs.drain();
      await signIn?.provider.close();
      client.destroy();
      await dynamo.close();
    },
  };
}

const DEV_CLIENT_ID = "edc-local";

/**
 * The projection repair pass over every study served, once now and then on a
 * timer (one pass at a time); a failed pass is logged and the next one tries again.
 */
async function projectionPasses(store: Store, studies: string[], settleMs: number, everyMs: number) {
  // Each pass is bounded; at start (a study saved to while the server was down) they go on until caught up.
  const passAll = async () => {
    for (const study of studies)
      for (let caughtUp = false; !caughtUp; )
        caughtUp = await store.advanceProjectionWatermark(study, { settleMs }).then(
          (pass) => pass.caughtUp,
          (error) => {
            console.error(`projection repair pass of ${study} stopped:`, error);
            return true;
          },
        );
  };
  return repeating(passAll, everyMs);
}

/** `task` once now, then on a timer, one run at a time; `stop` waits for the run under way. */
async function repeating(task: () => Promise<void>, everyMs: number) {
  await task();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(task);
  }, everyMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Background jobs (record imports, bulk exports) run in this process, started
 * right after their 202 (no Lambda, no timeout); close() waits for them. A
 * failure is logged and the job's lease runs out, so the next start picks the
 * job up again.
 */
function inProcessJobs(kind: string, runJob: (study: string, id: string) => Promise<unknown>) {
  const running = new Set<Promise<unknown>>();
  return {
    start(study: string, id: string) {
      const run = runJob(study, id)
        .catch((error) => console.error(`${kind} job ${id} stopped:`, error))
        .finally(() => running.delete(run));
      running.add(run);
    },
    drain: async () => {
      await Promise.all(running);
    },
  };
}

async function unfinishedExportJobs(store: Store, study: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  do {
    const page = await store.exportJobs.list(study, { limit: 100, ...(before ? { before } : {}) });
    for (const job of page.jobs) if (job.state === "queued" || job.state === "running") ids.push(job.id);
    before = page.next;
  } while (before);
  return ids;
}

/** A study folder published as it is on disk, with the migration and acceptances of its publish plan. */
async function publishAtStart(store: Store, dir: string) {
  const definition = await loadDefinition(dir);
  const outcome = await store.publish({
    definition,
    actor: "local",
    reason: `${path.basename(dir)}/ published at start`,
    ...(await loadPublishPlan(dir)),
  });
  if (outcome.kind === "refused") {
    throw new Error(
      `${dir}/ was not published: destructive changes need a migration or an acceptance in ${dir}/${PUBLISH_PLAN_FILE}\n${formatImpact(outcome.report).join("\n")}`,
    );
  }
  await store.summarizeMissing(
    definition.study.id,
    definition.study.sites.map((s) => s.id),
    scheduleDateFields(definition),
  );
  return definition;
}

/**
 * The local OpenID provider, with the dev people as its accounts, and their
 * grants at every study served: a study-wide role at each, a site's people at
 * each study that has their site. A grant is written only for a person who
 * holds none at that study yet, so what an admin changed survives a restart.
 */
async function startDevSignIn(
  store: Store,
  served: { id: string; sites: string[] }[],
  publicUrl: string,
  dataDir: string | undefined,
  port: number | undefined,
): Promise<{ provider: DevOidcProvider; people: DevPerson[] }> {
  const people = await loadDevPeople([...new Set(served.flatMap((s) => s.sites))], dataDir);
  const app = new URL(publicUrl);
  const provider = await startOidcProvider({
    people,
    clients: [
      {
        clientId: DEV_CLIENT_ID,
        redirectUris: [new URL("/auth/callback", app).toString()],
        postLogoutRedirectUris: [new URL("/signin", app).toString()],
      },
    ],
    host: app.hostname,
    ...(port !== undefined ? { port } : {}),
  });
  for (const p of people) {
    const person = await store.upsertPerson(
      { issuer: provider.issuer, sub: p.sub, name: p.name, email: p.email },
      { signedIn: false },
    );
    for (const study of served) {
      const sites = p.sites.filter((s) => s === ALL_SITES || study.sites.includes(s));
      if (sites.length > 0 && !(await store.findGrant(study.id, person.id)))
        await store.setGrant(
          { study: study.id, person: person.id, roles: [{ role: p.role, sites }] },
          "local",
        );
    }
  }
  return { provider, people };
}

/** A random secret, kept in `<dataDir>/session-secret` so sign-ins survive a restart. */
async function sessionSecret(dataDir: string | undefined): Promise<string> {
  const file = dataDir ? path.join(dataDir, "session-secret") : undefined;
  if (file && existsSync(file)) return (await readFile(file, "utf8")).trim();
  const secret = randomBytes(32).toString("base64url");
  if (file) await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Dev keys are long-lived but finite; an expired one is made anew at the next start. */
const DEV_KEY_DAYS = 90;
/** The dev keys' owners are people of their own, vouched for by no provider anyone signs in at. */
const DEV_KEY_ISSUER = "urn:edc:dev-keys";

/**
 * A key owned by a person named `user` who holds `role` at `sites`: the
 * person and the grant are made when missing, then the key with that scope.
 * What `npm start` makes its dev keys with, and tests their extra ones.
 */
export async function storeDevKey(
  store: Store,
  token: string,
  spec: {
    user: string;
    role: Role;
    study: string;
    sites: string[];
    deidentified?: boolean;
    expiresAt?: string;
  },
): Promise<DevToken> {
  const person = await store.upsertPerson(
    { issuer: DEV_KEY_ISSUER, sub: spec.user, name: spec.user },
    { signedIn: false },
  );
  const grant = await store.findGrant(spec.study, person.id);
  const held = grant && !grant.revokedAt ? grant.roles : [];
  const wanted: RoleGrant = { role: spec.role, sites: spec.sites };
  if (!withinGrants([wanted], held))
    await store.setGrant({ study: spec.study, person: person.id, roles: [...held, wanted] }, "local");
  const key: ApiKey = {
    user: spec.user,
    owner: person.id,
    kind: "personal",
    study: spec.study,
    scope: [wanted],
    expiresAt: spec.expiresAt ?? new Date(Date.now() + DEV_KEY_DAYS * 86_400_000).toISOString(),
    ...(spec.deidentified !== undefined ? { deidentified: spec.deidentified } : {}),
  };
  await store.storeToken(token, key);
  return { token, ...key };
}

/**
 * Reuses the tokens of `<dataDir>/dev-tokens.json` while they all still
 * admit someone, so restarts keep them; else (expired, revoked, made before
 * keys had owners) makes them all anew.
 */
async function devTokens(
  store: Store,
  study: string,
  sites: string[],
  dataDir: string | undefined,
  fileName = "dev-tokens.json",
): Promise<Record<string, DevToken>> {
  const file = dataDir ? path.join(dataDir, fileName) : undefined;
  if (file && existsSync(file)) {
    const saved = JSON.parse(await readFile(file, "utf8")) as Record<string, DevToken>;
    const valid = await Promise.all(Object.values(saved).map((t) => store.checkToken(t.token)));
    if (valid.every((found) => found.principal?.study === study)) return saved;
  }
  const wanted: Record<string, { user: string; role: Role; sites: string[] }> = {
    builder: { user: "dev-builder", role: "builder", sites: [ALL_SITES] },
    monitor: { user: "dev-monitor", role: "monitor", sites: [ALL_SITES] },
    sponsor: { user: "dev-sponsor", role: "sponsor", sites: [ALL_SITES] },
    ...Object.fromEntries(
      sites.map((s) => [s, { user: `dev-${s}`, role: "coordinator" as const, sites: [s] }]),
    ),
  };
  const tokens: Record<string, DevToken> = {};
  for (const [name, spec] of Object.entries(wanted)) {
    tokens[name] = await storeDevKey(store, newToken(), { ...spec, study });
  }
  if (file) await writeFile(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens;
}
