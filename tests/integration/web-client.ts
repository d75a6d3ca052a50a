import type { Product } from "./harness.ts";

/** The site pages through plain HTTP, as a browser without JavaScript uses them. */
export class Browser {
  cookie = "";
  constructor(readonly product: Product) {}

  async request(
    method: string,
    path: string,
    form?: Record<string, string | string[]> | FormData,
    headers: Record<string, string> = {},
  ) {
    let body: string | FormData | undefined;
    if (form instanceof FormData) body = form;
    else if (form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form))
        for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
      body = params.toString();
    }
    const res = await this.product.env.app.request(path, {
      method,
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(form && !(form instanceof FormData)
          ? { "content-type": "application/x-www-form-urlencoded" }
          : {}),
        ...headers,
      },
      body,
      redirect: "manual",
    });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0] ?? "";
    return {
      status: res.status,
      location: res.headers.get("location"),
      html: await res.text(),
      headers: res.headers,
    };
  }

  async signIn(name: string) {
    return this.request("POST", "/signin", { token: this.product.token(name) });
  }

  csrf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match?.[1]) throw new Error("no CSRF token in page");
    return match[1];
  }

  rev(html: string): string {
    return /name="_rev" value="(\d+)"/.exec(html)?.[1] ?? "";
  }
}
