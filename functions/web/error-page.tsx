import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../http/context.ts";
import { knownProblem, logUnexpected, problems } from "../http/problems.ts";
import { Layout } from "./layout.tsx";

interface SchemaError extends Error {
  issues: { path: PropertyKey[]; message: string }[];
}

/**
 * zod's error, recognised by its name rather than `instanceof`: importing zod
 * here would load it at every cold start, for the pages that are not even
 * loaded then (docs/architecture.md, "Cold start").
 */
function isSchemaError(error: unknown): error is SchemaError {
  return error instanceof Error && error.name === "ZodError" && Array.isArray((error as SchemaError).issues);
}

/** The site's error page for any error on a page route, whether thrown by a page or by the app's middleware. */
export function webErrorPage(c: Context<AppEnv>, error: unknown): Response | Promise<Response> {
  const problem =
    knownProblem(error) ??
    (error instanceof HTTPException && error.status < 500
      ? problems.badRequest(error.message)
      : isSchemaError(error)
        ? // A page's query or form parsed by a schema: the request is wrong, not the server.
          problems.badRequest(
            error.issues.map((i) => `${i.path.map(String).join(".") || "request"}: ${i.message}`).join("; "),
          )
        : undefined);
  if (!problem) logUnexpected(c.req.path, error);
  return c.html(
    <Layout title={problem?.title ?? "Error"} principal={c.get("principal")} csrf={c.get("csrf")}>
      <div class="card">
        <h1>{problem?.title ?? "Something went wrong"}</h1>
        <p>{problem?.detail ?? "The error was logged."}</p>
        <p>
          {problem?.status === 401 && problem.slug !== "reauthentication-required" ? (
            <a href="/signin">Sign in again</a>
          ) : (
            <a href="/">Back to the dashboard</a>
          )}
        </p>
      </div>
    </Layout>,
    (problem?.status ?? 500) as 500,
    problem?.headers,
  );
}
