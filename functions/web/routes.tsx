import { Hono } from "hono";
import type { AppEnv } from "../http/context.ts";
import { webErrorPage } from "./error-page.tsx";
import { page } from "./page.tsx";
import { accessLogPages } from "./routes/access-log.tsx";
import { accountKeyPages } from "./routes/account-keys.tsx";
import { builderPages } from "./routes/builder.tsx";
import { casebookPrintPages } from "./routes/casebook-print.tsx";
import { createStudyPages } from "./routes/create-study.tsx";
import { enteredInErrorPages } from "./routes/entered-in-error.tsx";
import { exportPages } from "./routes/exports.tsx";
import { formPages } from "./routes/forms.tsx";
import { peoplePages } from "./routes/people.tsx";
import { queryPages } from "./routes/queries.tsx";
import { reviewPages } from "./routes/review.tsx";
import {
  publicPages,
  requireSession,
  type Script,
  type SessionOptions,
  sessionPages,
} from "./routes/session.tsx";
import { signaturePages } from "./routes/signatures.tsx";
import { sitePages } from "./routes/site.tsx";
import { tokenPages } from "./routes/tokens.tsx";
import { validatorPages } from "./routes/validators.ts";

export interface WebOptions extends SessionOptions {
  /** Where the bundled browser scripts are served (content-hashed paths). */
  scripts: { form: string; builder: string; pattern: string };
  /** The scripts this app serves itself (locally, in tests); in AWS the assets function does. */
  assets: readonly Script[];
  today?: () => string;
}

const utcToday = () => new Date().toISOString().slice(0, 10);

/**
 * The site pages: server-rendered (hono/jsx), working as plain form posts,
 * enhanced by one small script on the form page. They use the same
 * resolution, authorization and use cases as the JSON API.
 */
export function createWebRoutes(options: WebOptions) {
  const { scripts } = options;
  const today = options.today ?? utcToday;
  const web = new Hono<AppEnv>();

  web.onError((error, c) => webErrorPage(c, error));

  web.route("/", publicPages(options, options.assets));
  const session = requireSession(options);
  web.use("/home", session);
  web.use("/signout", session);
  web.use("/auth/reauthenticate", session);
  web.use("/studies/*", session);
  web.use("/account/*", session);
  web.route("/", sessionPages(options));
  web.route("/", sitePages(today));
  web.route("/", builderPages(scripts));
  web.route("/", exportPages(page));
  web.route("/", tokenPages(page));
  web.route("/", accountKeyPages);
  web.route("/", createStudyPages);
  web.route("/", peoplePages());
  web.route("/", accessLogPages());
  web.route("/", formPages(scripts));
  web.route("/", validatorPages);
  web.route("/", enteredInErrorPages);
  web.route("/", signaturePages(options.signingWindowMs));
  web.route("/", casebookPrintPages);
  web.route("/", queryPages());
  web.route("/", reviewPages);

  return web;
}
