import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type DevEnvironment, startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";

/** A port nothing listens on now (for a server the test starts itself). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "localhost", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * A browser's part of an HTTP flow without a browser: follows redirects by
 * hand and keeps every origin's cookies apart (the app's and the OpenID
 * provider's), sending `headers` (e.g. a user agent) with every request.
 */
export class HttpBrowser {
  private jars = new Map<string, Map<string, string>>();

  constructor(private readonly headers: Record<string, string> = {}) {}

  async go(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...this.headers, ...init.headers, cookie },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const [name = "", value = ""] = pair.split("=");
      const expired = attributes.some((a) => /max-age=0|expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || !value) jar.delete(name.trim());
      else jar.set(name.trim(), value);
    }
    return res;
  }

  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }

  /** Follows redirects from `url` until a page answers. */
  async follow(url: string | URL, init: RequestInit = {}): Promise<{ res: Response; at: URL }> {
    let at = new URL(url);
    let res = await this.go(at, init);
    while (res.status >= 300 && res.status < 400) {
      at = new URL(res.headers.get("location") ?? "/", at);
      res = await this.go(at);
    }
    return { res, at };
  }
}

/**
 * The product on a real port with its local OpenID provider (people sign in
 * over HTTP) and an admin key, for tests that need sockets rather than
 * `app.request()`.
 */
export async function serveProduct(
  adminKey: string,
  options: { signingWindowMs?: number } = {},
): Promise<{
  env: DevEnvironment;
  base: string;
  close: () => Promise<void>;
}> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const env = await startDevEnvironment({ feedSettleMs: 0, publicUrl: base, ...options });
  await storeDevKey(env.store, adminKey, {
    user: "test-admin",
    role: "admin",
    study: env.studyId,
    sites: ["*"],
  });
  const server = serve({ fetch: env.app.fetch, port, hostname: "localhost" }) as Server;
  return {
    env,
    base,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await env.close();
    },
  };
}
