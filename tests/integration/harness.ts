import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { watermarkKey } from "../../functions/store/projection-watermark.ts";

export const STUDY = "hucmsc-ms-nmo";
export const BASE = `/api/v1/studies/${STUDY}`;
const PROJECTION_WATERMARK = watermarkKey(STUDY).SK;

export interface Call {
  status: number;
  contentType: string;
  body: any;
}

/** A fresh product on an in-memory dynalite, driven through the real app and the real SDK client. */
export async function startProduct(
  options: Parameters<typeof startDevEnvironment>[0] = {},
): Promise<Product> {
  return new Product(await startDevEnvironment(options));
}

export class Product {
  constructor(readonly env: DevEnvironment) {}

  token(name: string): string {
    const t = this.env.tokens[name];
    if (!t) throw new Error(`no dev token ${name}`);
    return t.token;
  }

  async call(
    method: string,
    path: string,
    options: { as?: string; body?: unknown; raw?: string } = {},
  ): Promise<Call> {
    const headers: Record<string, string> = {};
    if (options.as) headers.authorization = `Bearer ${this.token(options.as)}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.env.app.request(path, { method, headers, body });
    const text = await res.text();
    const contentType = res.headers.get("content-type") ?? "";
    return {
      status: res.status,
      contentType,
      body: text && contentType.includes("json") ? JSON.parse(text) : text,
    };
  }

  async enrol(
    as = "site-01",
    body: Record<string, unknown> = { site: "site-01", arm: "rrms" },
  ): Promise<string> {
    const res = await this.call("POST", `${BASE}/subjects`, { as, body });
    if (res.status !== 201) throw new Error(`enrol failed: ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  formPath(subject: string, event: string, form: string, instance?: number): string {
    const base = `${BASE}/subjects/${subject}/events/${event}/forms/${form}`;
    return instance === undefined ? base : `${base}/instances/${instance}`;
  }

  save(
    subject: string,
    event: string,
    form: string,
    body: { data: Record<string, unknown>; status?: string; rev?: number; reason?: string },
    options: { instance?: number; as?: string } = {},
  ): Promise<Call> {
    return this.call("PUT", this.formPath(subject, event, form, options.instance), {
      as: options.as ?? "site-01",
      body: { status: "incomplete", rev: 0, ...body },
    });
  }

  /** Every item in the table, for "nothing was written" checks, but those `ignore` says may come and go. */
  async snapshot(ignore?: (item: Record<string, unknown>) => boolean): Promise<string[]> {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.env.store.db.doc.send(
        new ScanCommand({ TableName: this.env.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      for (const item of page.Items ?? []) {
        if (ignore?.(item)) continue;
        // A key's first use of the day is recorded on any request, refused or not: not a write of data.
        if (item.type === "access-log" && item.action === "key-use") continue;
        // Any flat export moves the projection watermark: bookkeeping of the projections, not data.
        if (item.SK === PROJECTION_WATERMARK) continue;
        items.push(JSON.stringify(item.type === "token" ? { ...item, lastUsedOn: undefined } : item));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort();
  }

  close(): Promise<void> {
    return this.env.close();
  }
}

/** Access-log entries: every export answered appends one. */
export const accessLogEntries = (item: Record<string, unknown>) => item.type === "access-log";

/** Failed sign-ins: a refused sign-in is logged, as it must be. */
export const failedSignIns = (item: Record<string, unknown>) =>
  item.type === "access-log" && item.action === "sign-in-failed";

type Properties = Record<string, Record<string, unknown>>;

/** Changes one instrument of a study variant: its properties in place, or the whole instrument. */
export type EditInstrument = (
  id: string,
  change: (properties: Properties, instrument: { properties: Properties } & Record<string, unknown>) => void,
) => void;

/**
 * The reference study (forms/) copied into a fresh temporary folder and
 * changed there by `edit`; returns the folder, to start a product on
 * (`startDevEnvironment({ formsDir })`, `startE2E({ formsDir })`).
 */
export function withStudyVariant(edit: (instrument: EditInstrument, dir: string) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), "edc-study-variant-"));
  cpSync(path.join(import.meta.dirname, "..", "..", "forms"), dir, { recursive: true });
  edit((id, change) => {
    const file = path.join(dir, "instruments", `${id}.json`);
    const instrument = JSON.parse(readFileSync(file, "utf8"));
    change(instrument.properties, instrument);
    writeFileSync(file, JSON.stringify(instrument, null, 2));
  }, dir);
  return dir;
}

/**
 * The JSON API and REDCap's `/api/` of one study a dev environment hosts
 * (beside the reference one), as that study's dev tokens. `env` is read at
 * each call, so the client can be made before `beforeAll` starts it.
 */
export function studyClient(env: () => DevEnvironment, study: string) {
  const token = (name: string) => env().studies[study]?.tokens[name]?.token ?? "";
  return {
    token,
    async call(method: string, url: string, body?: unknown, as = "site-01") {
      const res = await env().app.request(url, {
        method,
        headers: {
          authorization: `Bearer ${token(as)}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, text, body: text.startsWith("{") ? JSON.parse(text) : undefined };
    },
    async redcap(params: Record<string, string>, as = "site-01") {
      const res = await env().app.request("/api/", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: token(as), ...params }).toString(),
      });
      return { status: res.status, text: await res.text() };
    },
  };
}
