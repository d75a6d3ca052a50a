import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../http/context.ts";
import { Layout } from "./layout.tsx";

/** Renders a page in the layout for the signed-in user. */
export async function page(
  c: Context<AppEnv>,
  title: string,
  body: Child,
  extra: { status?: number; scripts?: string[] } = {},
): Promise<Response> {
  const principal = c.get("principal");
  // The header names the study by its title; the definition is cached, so this costs no read.
  const studyTitle = principal && (await c.var.store.definitions.current(principal.study))?.study.title;
  return c.html(
    <Layout
      title={title}
      principal={principal}
      csrf={c.get("csrf")}
      studyTitle={studyTitle}
      scripts={extra.scripts}
    >
      {body}
    </Layout>,
    (extra.status ?? 200) as 200,
  );
}
