import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "../http/context.ts";
import { type ProblemError, problems } from "../http/problems.ts";

/** zod's issues as a 400 problem+json, a JSON pointer per issue (also a save body's, api/routes/form-instance-saves.ts). */
export function zodProblem(error: ZodError, target: string): ProblemError {
  const errors = error.issues.map((issue) => ({
    pointer: `/${issue.path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`,
    code: issue.code,
    message: issue.message,
  }));
  return problems.badRequest(`The request ${target} does not match the API schema.`, errors);
}

/** A router whose zod validation failures become 400 problem+json with a pointer per issue. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw zodProblem(result.error, result.target === "json" ? "body" : result.target);
    },
  });
}
