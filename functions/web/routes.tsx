import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import { latestValues } from "../engine/casebook.ts";
import type { FormStatus } from "../engine/definition.ts";
import { FORM_STATUSES, LOGS_EVENT } from "../engine/definition.ts";
import { checkEnrolment } from "../engine/enrolment.ts";
import { isMarkableEvent, savesRefusedMessage } from "../engine/entered-in-error.ts";
import { nextFormOfVisit } from "../engine/next-form.ts";
import { diffData } from "../engine/revision.ts";
import { dayOneOf, visitDeviations } from "../engine/schedule.ts";
import { applyCalculations, calculationDrift, hiddenFields } from "../engine/validate-form.ts";
import { auditTrail } from "../http/audit-trail.ts";
import type { AppEnv } from "../http/context.ts";
import { admitPrincipal, landingPage } from "../http/deidentified-access.ts";
import { sitesOf } from "../http/permissions.ts";
import { problems } from "../http/problems.ts";
import { loadSlot, loadStudy, loadSubject } from "../http/resolve.ts";
import type { Revision } from "../store/form-instances.ts";
import { hashToken } from "../store/tokens.ts";
import {
  type AfterSave,
  afterSaveLocation,
  readAfterSave,
  type StoredNotice,
  storedNotice,
} from "./after-save.tsx";
import { builderRoutes } from "./builder-routes.tsx";
import { casebookView } from "./casebook-view.ts";
import { dashboardRows } from "./dashboard-cache.ts";
import { readDashboardQuery, selectDashboardPage } from "./dashboard-query.ts";
import { enteredInErrorPages } from "./entered-in-error-routes.tsx";
import { webErrorPage } from "./error-page.tsx";
import { fieldHistory, fieldViews } from "./fields.tsx";
import { type FormEntries, readFormEntries } from "./form-values.ts";
import { Layout } from "./layout.tsx";
import { sameOriginPath } from "./next-path.ts";
import { AuditPage } from "./pages/audit.tsx";
import { Dashboard } from "./pages/dashboard.tsx";
import { Enrol } from "./pages/enrol.tsx";
import { type FormNotice, FormPage } from "./pages/form.tsx";
import { SignIn } from "./pages/signin.tsx";
import { SubjectPage } from "./pages/subject.tsx";
import { exportPages } from "./routes/exports.tsx";
import { tokenPages } from "./routes/tokens.tsx";
import {
  csrfToken,
  newSession,
  openSession,
  SESSION_COOKIE,
  SESSION_HOURS,
  sealSession,
  validCsrf,
} from "./session.ts";

export interface Script {
  path: string;
  body: string;
}

export interface WebOptions {
  sessionSecret: string;
  /** The bundled browser scripts, each served at its `path`. */
  scripts: { form: Script; builder: Script };
  today?: () => string;
}

type WebEnv = AppEnv;

const instancePath = (a: { study: string; subject: string; event: string; form: string; instance: number }) =>
  `/studies/${a.study}/subjects/${a.subject}/events/${a.event}/forms/${a.form}/instances/${a.instance}`;
/** Casebooks read at once for the dashboard: enough to overlap round trips, few enough not to flood the table. */
const DASHBOARD_READS_IN_FLIGHT = 16;
const utcToday = () => new Date().toISOString().slice(0, 10);
const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;

/**
 * The site pages: server-rendered (hono/jsx), working as plain form posts,
 * enhanced by one small script on the form page. They use the same
 * resolution, authorization and save path as the JSON API.
 */
export function createWebRoutes(options: WebOptions) {
  const { sessionSecret, scripts } = options;
  const today = options.today ?? utcToday;
  const web = new Hono<WebEnv>();

  const page = async (
    c: Context<WebEnv>,
    title: string,
    body: Child,
    extra: { status?: number; scripts?: string[] } = {},
  ) => {
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
  };

  web.onError((error, c) => webErrorPage(c as Context<WebEnv>, error));

  for (const script of Object.values(scripts)) {
    web.get(script.path, (c) =>
      c.body(script.body, 200, {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=31536000, immutable",
      }),
    );
  }

  web.get("/", (c) => {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    return c.redirect(session ? "/home" : "/signin");
  });

  web.get("/signin", (c) =>
    page(c, "Sign in", <SignIn next={sameOriginPath(c.req.query("next"), new URL(c.req.url).origin)} />),
  );

  web.post("/signin", async (c) => {
    // SameSite cookies do not stop a forged sign-in; a cross-origin post is refused here.
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin)
      throw problems.forbidden("Cross-site sign-in refused.");
    const body = await c.req.parseBody();
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const principal = token ? await c.var.store.findToken(token) : undefined;
    if (!principal) {
      return page(c, "Sign in", <SignIn error="That token is not valid, has expired or was revoked." />, {
        status: 401,
      });
    }
    setCookie(c, SESSION_COOKIE, sealSession(sessionSecret, newSession(hashToken(token))), {
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: SESSION_HOURS * 3600,
    });
    const next = sameOriginPath(body.next, new URL(c.req.url).origin);
    return c.redirect(next ?? landingPage(principal), 303);
  });

  const requireSession = createMiddleware<WebEnv>(async (c, next) => {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    const [principal, ended] = session
      ? await Promise.all([
          c.var.store.findTokenByHash(session.tokenHash),
          c.var.store.sessionEnded(session.nonce),
        ])
      : [undefined, true];
    if (!session || !principal || ended) {
      if (c.req.method === "GET") return c.redirect(`/signin?next=${encodeURIComponent(c.req.path)}`);
      throw problems.unauthenticated();
    }
    admitPrincipal(c, principal);
    c.set("csrf", csrfToken(sessionSecret, session));
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const body = await c.req.parseBody({ all: true });
      if (!validCsrf(sessionSecret, session, body._csrf)) {
        throw problems.forbidden(
          "The form has expired or did not come from this site. Reload the page and try again.",
        );
      }
    }
    await next();
  });

  web.use("/home", requireSession);
  web.use("/signout", requireSession);
  web.use("/studies/*", requireSession);

  web.get("/home", (c) => c.redirect(landingPage(c.var.principal)));

  web.post("/signout", async (c) => {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    if (session) await c.var.store.endSession(session.nonce, session.expiresAt);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/signin", 303);
  });

  web.get("/studies/:study", async (c) => {
    const definition = await loadStudy(c, c.req.param("study"));
    const visible = sitesOf(
      c.var.principal,
      definition.study.sites.map((s) => s.id),
    );
    const query = readDashboardQuery(c.req.query(), definition, visible);
    const subjects = (
      await c.var.store.listSubjects(definition.study.id, query.site ? [query.site] : visible, query.q)
    ).filter((s) => !query.arm || s.arm === query.arm);
    // Every subject in scope is needed (the overdue count and the status filters); only a page is drawn.
    const inScope = await dashboardRows(c.var.store, definition, subjects, {
      today: today(),
      settleMs: c.var.feedSettleMs,
      readsInFlight: DASHBOARD_READS_IN_FLIGHT,
    });
    return page(
      c,
      "Dashboard",
      <Dashboard
        definition={definition}
        selection={selectDashboardPage(inScope, query)}
        query={query}
        sites={visible}
        canEnrol={c.var.principal.role === "site"}
        canBuild={c.var.principal.role === "builder"}
        canExport={c.var.principal.role !== "site"}
        today={today()}
      />,
    );
  });

  const enrolPage = async (
    c: Context<WebEnv>,
    values?: Record<string, string>,
    errors?: Map<string, string>,
  ) => {
    const definition = await loadStudy(c, c.req.param("study") ?? "");
    if (c.var.principal.role !== "site") throw problems.forbidden("Only site users enrol subjects.");
    const sites = sitesOf(
      c.var.principal,
      definition.study.sites.map((s) => s.id),
    );
    return page(
      c,
      "Enrol",
      <Enrol definition={definition} sites={sites} csrf={c.var.csrf ?? ""} values={values} errors={errors} />,
      { status: errors?.size ? 422 : 200 },
    );
  };

  web.get("/studies/:study/enrol", (c) => enrolPage(c));

  web.post("/studies/:study/enrol", async (c) => {
    const definition = await loadStudy(c, c.req.param("study"));
    if (c.var.principal.role !== "site") throw problems.forbidden("Only site users enrol subjects.");
    const body = await c.req.parseBody();
    const values = {
      site: String(body.site ?? ""),
      arm: String(body.arm ?? ""),
      subjectId: String(body.subjectId ?? "").trim(),
    };
    const check = checkEnrolment(
      definition.study,
      { site: values.site, arm: values.arm, subjectId: values.subjectId || undefined },
      sitesOf(
        c.var.principal,
        definition.study.sites.map((s) => s.id),
      ),
    );
    const site = check.site;
    if (!site)
      return enrolPage(
        c,
        values,
        new Map(check.errors.map((e) => [e.pointer.slice(1), sentence(e.message)])),
      );
    const result = await c.var.store.enrolSubject({
      study: definition.study.id,
      site: site.id,
      siteCode: site.code,
      arm: values.arm,
      id: values.subjectId || undefined,
      actor: c.var.principal.user,
    });
    if (result.kind === "exists")
      return enrolPage(c, values, new Map([["subjectId", "This id is already enrolled."]]));
    return c.redirect(`/studies/${definition.study.id}/subjects/${result.subject.id}`, 303);
  });

  web.get("/studies/:study/subjects/:subject", async (c) => {
    const definition = await loadStudy(c, c.req.param("study"));
    const subject = await loadSubject(c, definition.study.id, c.req.param("subject"));
    const instances = await c.var.store.readCasebook(definition.study.id, subject.id);
    const view = casebookView(definition, subject.arm, instances.instances, today());
    return page(
      c,
      `Subject ${subject.id}`,
      <SubjectPage
        definition={definition}
        subject={subject}
        view={view}
        canWrite={c.var.principal.role === "site"}
        stored={storedNotice(definition, c.req.query("stored"), instances.instances)}
      />,
    );
  });

  web.get("/studies/:study/subjects/:subject/audit", async (c) => {
    // The API audit route's authorization: any role, within its sites; not de-identified (not on that allow-list).
    const definition = await loadStudy(c, c.req.param("study"));
    const subject = await loadSubject(c, definition.study.id, c.req.param("subject"));
    const { revisions } = await c.var.store.readCasebook(definition.study.id, subject.id);
    return page(
      c,
      `Audit trail · ${subject.id}`,
      <AuditPage definition={definition} subject={subject} entries={auditTrail(subject, revisions)} />,
    );
  });

  async function formContext(c: Context<WebEnv>) {
    const p = c.req.param() as Record<string, string>;
    const definition = await loadStudy(c, p.study ?? "");
    const subject = await loadSubject(c, definition.study.id, p.subject ?? "");
    const slot = loadSlot(definition, subject, p.event ?? "", p.form ?? "", p.instance ?? "1");
    const address = {
      study: definition.study.id,
      subject: subject.id,
      event: p.event ?? "",
      form: p.form ?? "",
      instance: slot.instance,
    };
    const [revisions, projections] = await Promise.all([
      c.var.store.readRevisions(address),
      c.var.store.readProjections(definition.study.id, subject.id),
    ]);
    const others = projections.filter(
      (i) => !(i.event === address.event && i.form === address.form && i.instance === address.instance),
    );
    const context = {
      $event: address.event,
      $arm: subject.arm,
      $latest: latestValues(others),
      $studyStart: definition.study.startDate,
    };
    const eventLabel = address.event === LOGS_EVENT ? "Logs" : (slot.event?.label ?? address.event);
    const heading = `${slot.instrument.title}${slot.repeating ? ` #${slot.instance}` : ""} · ${eventLabel} · ${subject.id}`;
    return { definition, subject, slot, address, revisions, others, context, heading };
  }

  type Ctx = Awaited<ReturnType<typeof formContext>>;

  function renderForm(
    c: Context<WebEnv>,
    ctx: Ctx,
    state: {
      values: Record<string, unknown>;
      rev: number;
      current?: Revision;
      errors?: Map<string, string>;
      notice?: FormNotice;
      theirs?: Record<string, unknown>;
      reason?: string;
      reasonError?: string;
      status?: number;
      recalculate?: string[];
      afterSave?: AfterSave;
      stored?: StoredNotice;
    },
  ) {
    const { instrument } = ctx.slot;
    const canWrite = c.var.principal.role === "site";
    // An instance entered in error keeps its data as marked until it is restored: read it, don't type in it.
    const editable = canWrite && !state.current?.enteredInError;
    const next = nextFormOfVisit(ctx.definition.study, ctx.address.event, ctx.address.form);
    // A saved form shows what it holds: calculations keep their stored value unless an edit reaches them.
    const stored = state.current?.data;
    const values = applyCalculations(
      instrument,
      state.values,
      ctx.context,
      stored ? { data: stored, recalculate: state.recalculate } : undefined,
    );
    const hidden = hiddenFields(instrument, values, ctx.context);
    const drift = stored ? calculationDrift(instrument, stored, ctx.context) : [];
    const fields = fieldViews(
      instrument,
      values,
      hidden,
      state.errors ?? new Map(),
      fieldHistory(ctx.revisions),
      state.theirs,
      {
        drift: new Map(drift.map((d) => [d.field, d])),
        recalculate: new Set(state.recalculate),
        readOnly: !editable,
      },
    );
    return page(
      c,
      ctx.heading,
      <FormPage
        title={`Subject ${ctx.subject.id}`}
        backHref={`/studies/${ctx.definition.study.id}/subjects/${ctx.subject.id}#event-${ctx.address.event}`}
        heading={ctx.heading}
        instrument={instrument}
        fields={fields}
        current={state.current}
        rev={state.rev}
        csrf={c.var.csrf ?? ""}
        canWrite={canWrite}
        notice={state.notice}
        reason={state.reason}
        reasonError={state.reasonError}
        context={ctx.context}
        afterSave={state.afterSave}
        nextTitle={next === undefined ? undefined : (ctx.definition.instruments[next]?.title ?? next)}
        stored={state.stored}
        markPath={isMarkableEvent(ctx.definition, ctx.address.event) ? instancePath(ctx.address) : undefined}
      />,
      { status: state.status, scripts: editable ? [scripts.form.path] : [] },
    );
  }

  const showForm = async (c: Context<WebEnv>) => {
    const ctx = await formContext(c);
    const current = ctx.revisions.at(-1);
    let notice: FormNotice | undefined;
    if (current && c.req.query("saved") === String(current.rev)) {
      const dayOne = dayOneOf(ctx.definition, [...ctx.others, current]);
      notice = {
        kind: "saved",
        rev: current.rev,
        deviations: visitDeviations(ctx.definition, dayOne, current).map((d) => d.message),
      };
    } else if (c.req.query("unchanged") !== undefined) notice = { kind: "unchanged" };
    return renderForm(c, ctx, {
      values: current?.data ?? {},
      rev: current?.rev ?? 0,
      current,
      notice,
      afterSave: readAfterSave(c.req.query("then")),
      stored: storedNotice(ctx.definition, c.req.query("stored"), ctx.others),
    });
  };

  const saveForm = async (c: Context<WebEnv>) => {
    if (c.var.principal.role !== "site") throw problems.forbidden("Only site users enter data.");
    const ctx = await formContext(c);
    const body = (await c.req.parseBody({ all: true })) as FormEntries;
    const submitted = readFormEntries(ctx.slot.instrument, body);
    const status = FORM_STATUSES.find((s) => s === body._status);
    const rev = Number(body._rev);
    const reason = typeof body._reason === "string" ? body._reason : undefined;
    const recalculate = [body._recalculate ?? []].flat().filter((v) => typeof v === "string");
    const afterSave = readAfterSave(body._then);
    const current = ctx.revisions.at(-1);
    // No save button named: an implicit submission (Enter in a field). Saving it would store an
    // incomplete form, or a new log instance, nobody asked for.
    if (status === undefined) {
      return renderForm(c, ctx, {
        values: submitted,
        rev: Number.isInteger(rev) && rev >= 0 ? rev : 0,
        current,
        reason,
        afterSave,
        notice: { kind: "no-action" },
        status: 422,
      });
    }
    const definition = ctx.definition;
    const result = await c.var.store.saveFormInstance({
      definition,
      subject: ctx.subject,
      event: ctx.address.event,
      form: ctx.address.form,
      instance: ctx.address.instance,
      data: submitted,
      status: status as FormStatus,
      rev: Number.isInteger(rev) && rev >= 0 ? rev : 0,
      reason,
      recalculate,
      actor: c.var.principal.user,
    });
    const url = new URL(c.req.url);
    const moveOn =
      result.kind === "saved" || result.kind === "unchanged"
        ? afterSaveLocation(
            definition,
            `/studies/${definition.study.id}/subjects/${ctx.subject.id}`,
            ctx.address,
            result.state.rev,
            afterSave,
          )
        : undefined;
    if (moveOn) return c.redirect(moveOn, 303);
    switch (result.kind) {
      case "saved":
        return c.redirect(`${url.pathname}?saved=${result.state.rev}`, 303);
      case "unchanged":
        return c.redirect(`${url.pathname}?unchanged`, 303);
      case "entered-in-error":
        throw problems.enteredInError(savesRefusedMessage(ctx.address.form, ctx.address.instance));
      case "invalid":
        return renderForm(c, ctx, {
          values: submitted,
          rev,
          current,
          reason,
          recalculate,
          afterSave,
          errors: new Map(result.errors.map((e) => [e.pointer.slice(1), e.message])),
          notice: { kind: "invalid", count: result.errors.length },
          status: 422,
        });
      case "reason-required":
        return renderForm(c, ctx, {
          values: submitted,
          rev,
          current,
          recalculate,
          afterSave,
          reasonError: "Say why this completed form changes.",
          notice: { kind: "invalid", count: 1 },
          status: 422,
        });
      case "stale": {
        // Re-apply the user's own edits (their form vs the revision they started from) on top of the latest state.
        const latest = result.current;
        const revisions = latest ? [...ctx.revisions.filter((r) => r.rev <= latest.rev)] : ctx.revisions;
        const base = revisions.find((r) => r.rev === rev)?.data ?? {};
        const fields = Object.keys(ctx.slot.instrument.properties);
        const mine = diffData(base, submitted, fields);
        const theirs = diffData(base, latest?.data ?? {}, fields);
        const merged: Record<string, unknown> = { ...(latest?.data ?? {}) };
        for (const change of mine) {
          if (change.new === null) delete merged[change.field];
          else merged[change.field] = change.new;
        }
        const clash = new Set(theirs.map((t) => t.field));
        const conflicting = Object.fromEntries(
          mine.filter((m) => clash.has(m.field)).map((m) => [m.field, latest?.data[m.field] ?? null]),
        );
        const ctxNow = { ...ctx, revisions: (await c.var.store.readRevisions(ctx.address)) as Revision[] };
        return renderForm(c, ctxNow, {
          values: merged,
          rev: latest?.rev ?? 0,
          current: latest,
          reason,
          recalculate,
          afterSave,
          theirs: conflicting,
          notice: latest ? { kind: "conflict", current: latest, changes: theirs } : undefined,
          status: 409,
        });
      }
    }
  };

  web.route("/", builderRoutes(page, { form: scripts.form.path, builder: scripts.builder.path }));
  web.route("/", exportPages(page));
  web.route("/", tokenPages(page));

  const formPath = "/studies/:study/subjects/:subject/events/:event/forms/:form";
  web.get(formPath, showForm);
  web.post(formPath, saveForm);
  web.get(`${formPath}/instances/:instance`, showForm);
  web.post(`${formPath}/instances/:instance`, saveForm);
  web.route("/", enteredInErrorPages(formPath));

  return web;
}
