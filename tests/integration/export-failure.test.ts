import type { AddressInfo } from "node:net";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { serve } from "@hono/node-server";
import { handle } from "hono/aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app.ts";
import { keys } from "../../functions/store/keys.ts";
import { createStore } from "../../functions/store/store.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";

/**
 * An export streams: its status and first rows are sent before the last
 * casebook is read. When a read fails after that (DynamoDB throttling, say),
 * the client must see a failed download, not a 200 with a shorter file that
 * looks complete: the body ends in an error (the connection is aborted), and
 * the failure is logged once through the app's error path.
 */
let product: Product;
let subjects: string[];

beforeAll(async () => {
  product = await startProduct();
  subjects = [];
  for (let i = 0; i < 6; i++) {
    const id = await product.enrol();
    const saved = await product.save(id, "screening", "vital_signs", { data: { heart_rate: 60 + i } });
    expect(saved.status).toBe(200);
    subjects.push(id);
  }
  subjects.sort();
});
afterAll(() => product.close());
afterEach(() => vi.restoreAllMocks());

/**
 * The product over the same table, except that reading the given subject's partition is throttled
 * after `readsFirst` successful reads of it (an ODM reads each subject's review log before its first
 * byte, to declare the signers; an audited one also reads each casebook once to declare the authors,
 * and once more to write it).
 */
function appFailingOn(subject: string, readsFirst = 0) {
  const real = product.env.store.db.doc;
  const partition = keys.subjectPartition(STUDY, subject);
  let reads = 0;
  const doc = {
    send: ((command: QueryCommand) => {
      if (
        command instanceof QueryCommand &&
        command.input.ExpressionAttributeValues?.[":pk"] === partition &&
        reads++ >= readsFirst
      ) {
        const error = new Error("The level of configured provisioned throughput for the table was exceeded");
        error.name = "ProvisionedThroughputExceededException";
        return Promise.reject(error);
      }
      return real.send(command as never);
    }) as typeof real.send,
  };
  return createApp(createStore({ tableName: product.env.tableName, doc, macKey: product.env.store.macKey }), {
    sessionSecret: "test-secret",
  });
}

const EXPORTS: { name: string; path: string; readsFirst?: number }[] = [
  { name: "CSV records", path: `${BASE}/records?format=csv` },
  { name: "JSON records", path: `${BASE}/records?format=json` },
  { name: "NDJSON records", path: `${BASE}/records?format=ndjson` },
  { name: "ODM", path: `${BASE}/odm`, readsFirst: 1 },
  { name: "ODM with audit", path: `${BASE}/odm?audit=true`, readsFirst: 2 },
  { name: "REDCap API records", path: "/api/" },
];

function request(e: (typeof EXPORTS)[number]): RequestInit {
  const token = product.token("sponsor");
  return e.path === "/api/"
    ? {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, content: "record", format: "csv" }).toString(),
      }
    : { headers: { authorization: `Bearer ${token}` } };
}

/** The error lines written through logUnexpected while `run` ran. */
async function loggedErrors(run: () => Promise<void>): Promise<{ path: string; error: string }[]> {
  const lines: unknown[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(line));
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((l) => {
    try {
      const parsed = JSON.parse(String(l));
      return parsed.level === "error" ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

describe("an export failing after its first byte", () => {
  for (const e of EXPORTS) {
    it(`${e.name}: completes when nothing fails (the control)`, async () => {
      const res = await appFailingOn("none").request(e.path, request(e));
      expect(res.status).toBe(200);
      const body = await res.text();
      for (const s of subjects) expect(body).toContain(s);
    });

    it(`${e.name}: the body ends in an error, not a clean end, and the failure is logged`, async () => {
      const app = appFailingOn(subjects[4] as string, e.readsFirst);
      const errors = await loggedErrors(async () => {
        const res = await app.request(e.path, request(e));
        expect(res.status).toBe(200); // already sent when the read failed
        await expect(res.text()).rejects.toThrow();
      });
      expect(errors).toEqual([
        expect.objectContaining({
          path: e.path.split("?")[0],
          error: expect.stringContaining("ProvisionedThroughputExceededException"),
        }),
      ]);
    });
  }

  it("over a real socket: the download fails (the connection is aborted before the body is complete)", async () => {
    const errors = await loggedErrors(async () => {
      for (const e of EXPORTS) {
        const app = appFailingOn(subjects[4] as string, e.readsFirst);
        const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
        await new Promise((resolve) => server.once("listening", resolve));
        const { port } = server.address() as AddressInfo;
        try {
          const res = await fetch(`http://127.0.0.1:${port}${e.path}`, request(e));
          expect(res.status, e.name).toBe(200);
          await expect(res.text(), e.name).rejects.toThrow();
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });
    expect(errors.filter((x) => x.error.includes("ProvisionedThroughput"))).toHaveLength(EXPORTS.length);
  });

  it("in Lambda (API Gateway, buffered): the invocation fails instead of returning a short 200", async () => {
    const handler = handle(appFailingOn(subjects[4] as string));
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath: `${BASE}/records`,
      rawQueryString: "format=csv",
      headers: { authorization: `Bearer ${product.token("sponsor")}`, host: "edc.example" },
      requestContext: {
        http: { method: "GET", path: `${BASE}/records`, protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
        domainName: "edc.example",
      },
      isBase64Encoded: false,
    };
    await loggedErrors(async () => {
      await expect(handler(event as never, {} as never)).rejects.toThrow();
    });
  });
});
