import { type Context, Hono } from "hono";
import { initialValues, utcClock } from "../../engine/action-tags.ts";
import { eventValues, latestValues } from "../../engine/casebook.ts";
import { FORM_STATUSES, LOGS_EVENT } from "../../engine/definition.ts";
import { isMarkableEvent } from "../../engine/entered-in-error.ts";
import { eventNeighbours } from "../../engine/event-neighbours.ts";
import { asFileReference } from "../../engine/file-fields.ts";
import { nextFormOfVisit } from "../../engine/next-form.ts";
import { outsideRefs, outsideValues, pipeResolver, renderPiped } from "../../engine/piping.ts";
import { foldQueries, isAboutInstance, type Query } from "../../engine/queries.ts";
import { diffData, rebaseEdits } from "../../engine/revision.ts";
import { dayOneOf, visitDeviations } from "../../engine/schedule.ts";
import { fieldMarks, instanceSdv } from "../../engine/sdv.ts";
import { signatureStates, signaturesOver } from "../../engine/signatures.ts";
import type { FieldWarning } from "../../engine/soft-checks.ts";
import { applyCalculations, calculationDrift, hiddenFields } from "../../engine/validate-form.ts";
import type { AppEnv } from "../../http/context.ts";
import { can } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { type InstancePath, loadSlot, loadStudy, loadSubject } from "../../http/resolve.ts";
import { saveForm, saveProblem } from "../../http/save-form.ts";
import type { Revision } from "../../store/form-instances.ts";
import { type LockHeld, lockHolding } from "../../store/save-form-instance.ts";
import {
  type AfterSave,
  afterSaveLocation,
  readAfterSave,
  type StoredNotice,
  storedNotice,
} from "../after-save.tsx";
import { fieldHistory, fieldViews } from "../fields.tsx";
import { applyFileChoices, splitBody } from "../form-uploads.ts";
import { readFormEntries, readMissingEntries } from "../form-values.ts";
import { page } from "../page.tsx";
import { type FormNotice, FormPage } from "../pages/form.tsx";
import { AnswerWithSave, FieldQueries, QueriesSection } from "../pages/queries.tsx";
import { LockPanel, SdvPanel } from "../pages/review-panels.tsx";
import { SignatureList } from "../signature-list.tsx";
import { type FormScripts, formPageScripts } from "../validator-assets.ts";
import { queryRights } from "./queries.tsx";

/** A form at a visit; its numbered instances live under `/instances/:instance`. */
export const FORM_PATH = "/studies/:study/subjects/:subject/events/:event/forms/:form";

const instancePath = (a: { study: string; subject: string; event: string; form: string; instance: number }) =>
  `/studies/${a.study}/subjects/${a.subject}/events/${a.event}/forms/${a.form}/instances/${a.instance}`;

/** The instance a form route names; instance 1 where the route has no `/instances/:instance`. */
export function instancePathOf(c: Context<AppEnv>): InstancePath {
  const p = c.req.param() as Partial<InstancePath>;
  return {
    study: p.study ?? "",
    subject: p.subject ?? "",
    event: p.event ?? "",
    form: p.form ?? "",
    instance: p.instance ?? "1",
  };
}

/** Everything a form page draws from, read once per request (a save reuses these reads). */
async function formContext(c: Context<AppEnv>, scripts: FormScripts) {
  const path = instancePathOf(c);
  const definition = await loadStudy(c, path.study);
  const subject = await loadSubject(c, definition.study.id, path.subject);
  const slot = loadSlot(definition, subject, path.event, path.form, path.instance);
  const address = {
    study: definition.study.id,
    subject: subject.id,
    event: path.event,
    form: path.form,
    instance: slot.instance,
  };
  const [revisions, projections, reviews] = await Promise.all([
    c.var.store.readRevisions(address),
    c.var.store.readProjections(definition.study.id, subject.id),
    c.var.store.readReviews(definition.study.id, subject.id),
  ]);
  const others = projections.filter(
    (i) => !(i.event === address.event && i.form === address.form && i.instance === address.instance),
  );
  const context = {
    $event: address.event,
    $arm: subject.arm,
    $latest: latestValues(others),
    $events: eventValues(others),
    $studyStart: definition.study.startDate,
    // "today" while the page is open; the save recomputes with its own time.
    $now: new Date().toISOString(),
    $instance: address.instance,
    ...eventNeighbours(definition.study, subject.arm, address.event),
  };
  const eventLabel = address.event === LOGS_EVENT ? "Logs" : (slot.event?.label ?? address.event);
  const piping = outsideValues(outsideRefs(slot.instrument), {
    instruments: definition.instruments,
    instances: others,
    subject: subject.id,
    eventLabel,
    instance: slot.instance,
  });
  const heading = `${slot.instrument.title}${slot.repeating ? ` #${slot.instance}` : ""} · ${eventLabel} · ${subject.id}`;
  return {
    formScripts: formPageScripts(scripts, definition, slot.instrument),
    path,
    definition,
    subject,
    slot,
    address,
    revisions,
    projections,
    reviews,
    others,
    context,
    piping,
    heading,
  };
}

type FormContext = Awaited<ReturnType<typeof formContext>>;

/** The signatures that include this form instance, and the way to sign it for those who may. */
async function formSignatures(c: Context<AppEnv>, ctx: FormContext) {
  const { address, subject, definition } = ctx;
  // The review log is the one the form context read; only the revisions are read here.
  const { revisions } = await c.var.store.readCasebook(subject.study, subject.id);
  const states = signaturesOver(signatureStates(ctx.reviews.subject, revisions), address);
  const signable =
    can(c.var.principal, "sign", { study: subject.study, site: subject.site }) && ctx.revisions.length > 0;
  const query = new URLSearchParams({
    event: address.event,
    form: address.form,
    instance: String(address.instance),
  });
  return (
    <SignatureList
      definition={definition}
      states={states}
      {...(signable
        ? {
            signHref: `/studies/${subject.study}/subjects/${subject.id}/sign?${query}`,
            signLabel: "Sign this form…",
          }
        : {})}
    />
  );
}

/** The page, read only when one is drawn: a save that moves on reads no queries. */
async function renderForm(
  c: Context<AppEnv>,
  ctx: FormContext,
  state: {
    values: Record<string, unknown>;
    /** The form as opened (not sent back by a refused save): defaults apply. */
    opening?: boolean;
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
    /** Soft-check warnings a save was refused for, with the boxes the person ticked. */
    warnings?: FieldWarning[];
    confirmed?: string[];
    /** The missing-data codes shown: as stored, or as sent back by a refused save. */
    missing?: Record<string, { code: string; reason: string }>;
  },
) {
  const { instrument } = ctx.slot;
  const resource = { study: ctx.address.study, site: ctx.subject.site };
  const held = lockHolding(ctx.reviews, ctx.address);
  // A locked instance is read, never typed in, until someone who locks unlocks it.
  const canWrite = can(c.var.principal, "enter-data", resource) && !held;
  // An instance entered in error keeps its data as marked until it is restored: read it, don't type in it.
  const editable = canWrite && !state.current?.enteredInError;
  const next = nextFormOfVisit(ctx.definition.study, ctx.subject.arm, ctx.address.event, ctx.address.form);
  // A saved form shows what it holds: calculations keep their stored value unless an edit reaches them.
  const stored = state.current?.data;
  // Defaults (x-default, x-set-value) fill the form as opened by someone who can save; a save stores them.
  const opened =
    state.opening && editable
      ? { ...state.values, ...initialValues(instrument, stored ?? null, utcClock()) }
      : state.values;
  const values = applyCalculations(
    instrument,
    opened,
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
      warnings: new Map((state.warnings ?? []).map((w) => [w.pointer.slice(1), w.message])),
      confirm: {
        shown: new Set((state.warnings ?? []).map((w) => w.pointer)),
        ticked: new Set(state.confirmed ?? []),
      },
      missingCodes: ctx.definition.study.missingCodes,
      missing: state.missing ?? state.current?.missing,
      pipe: (text) => renderPiped(text, pipeResolver(instrument, values, ctx.piping)),
      timeZone: ctx.definition.study.timeZone,
    },
  ).map((f) => {
    const file = asFileReference(f.value);
    const subject = `/studies/${encodeURIComponent(ctx.definition.study.id)}/subjects/${encodeURIComponent(ctx.subject.id)}`;
    return file ? { ...f, download: `${subject}/files/${file.sha256}` } : f;
  });
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
      markPath={
        isMarkableEvent(ctx.definition, ctx.address.event, ctx.address.form)
          ? instancePath(ctx.address)
          : undefined
      }
      signatures={await formSignatures(c, ctx)}
      {...queryParts(c, ctx, instanceQueries(ctx), state.current?.status)}
      missingCodes={ctx.definition.study.missingCodes}
      piping={ctx.piping}
      locked={held !== undefined}
      review={<ReviewPanels c={c} ctx={ctx} held={held} current={state.current} />}
    />,
    { status: state.status, scripts: editable ? ctx.formScripts : [] },
  );
}

/** The instance's queries, folded from the review log the form context already read for its locks. */
function instanceQueries(ctx: FormContext): Query[] {
  const { event, form, instance } = ctx.address;
  return foldQueries(ctx.reviews.subject).filter((q) => isAboutInstance(q, event, form, instance));
}

/** The form's queries: each field's beside it, every thread and the raise form after the form. */
function queryParts(c: Context<AppEnv>, ctx: FormContext, queries: Query[], status?: string) {
  const { instrument } = ctx.slot;
  const rights = queryRights(c, ctx.subject);
  const raised = c.req.query("raise");
  const here = new URL(c.req.url).pathname;
  const besideField = Object.fromEntries(
    Object.keys(instrument.properties).map((name) => [
      name,
      <FieldQueries
        queries={queries.filter((q) => q.target.field === name)}
        raiseHref={
          // No #raise-query fragment: a page opened at a fragment skips autofocus (HTML), and the
          // question's autofocus both scrolls to the raise form and takes the monitor's keys.
          rights.raise ? `${here}?raise=${encodeURIComponent(`field:${name}`)}` : undefined
        }
      />,
    ]),
  );
  const { event, form, instance } = ctx.address;
  const after = (
    <QueriesSection
      definition={ctx.definition}
      queries={queries}
      rights={rights}
      csrf={c.var.csrf ?? ""}
      raise={{
        study: ctx.address.study,
        subject: ctx.subject.id,
        csrf: c.var.csrf ?? "",
        target: { event, form, instance },
        choices: [
          { value: "", label: `The whole form (${instrument.title})` },
          ...Object.entries(instrument.properties).map(([name, schema]) => ({
            value: `field:${name}`,
            label: schema.title ?? name,
          })),
        ],
        ...(raised ? { selected: raised } : {}),
      }}
    />
  );
  const saves = can(c.var.principal, "enter-data", { study: ctx.address.study, site: ctx.subject.site });
  const beforeActions = rights.answer && saves && (
    <AnswerWithSave definition={ctx.definition} queries={queries} status={status ?? "incomplete"} />
  );
  return { besideField, after, beforeActions };
}

/** The form's lock and its source data verification, above the fields. */
function ReviewPanels(props: {
  c: Context<AppEnv>;
  ctx: FormContext;
  held: LockHeld | undefined;
  current: Revision | undefined;
}) {
  const { c, ctx, held, current } = props;
  const resource = { study: ctx.address.study, site: ctx.subject.site };
  const { event, form, instance } = ctx.address;
  const repeatableVisit = ctx.slot.event?.repeatable === true;
  const marks = fieldMarks(ctx.reviews.subject);
  const fields =
    current && current.rev === ctx.revisions.at(-1)?.rev
      ? instanceSdv(ctx.definition, current, marks, ctx.revisions)
      : [];
  return (
    <>
      <LockPanel
        held={held}
        canLock={can(c.var.principal, "lock", resource)}
        csrf={c.var.csrf ?? ""}
        subjectPath={`/studies/${ctx.address.study}/subjects/${ctx.subject.id}`}
        form={{ event, form, instance }}
        visit={repeatableVisit ? { event, instance } : { event }}
      />
      <SdvPanel
        instrument={ctx.slot.instrument}
        fields={fields}
        canVerify={can(c.var.principal, "verify", resource)}
        csrf={c.var.csrf ?? ""}
        path={instancePath(ctx.address)}
      />
    </>
  );
}

async function showForm(c: Context<AppEnv>, scripts: FormScripts) {
  const ctx = await formContext(c, scripts);
  const current = ctx.revisions.at(-1);
  let notice: FormNotice | undefined;
  if (current && c.req.query("saved") === String(current.rev)) {
    const dayOne = dayOneOf(ctx.definition, [...ctx.others, current]);
    const moved = Number(c.req.query("moved"));
    notice = {
      kind: "saved",
      rev: current.rev,
      ...(Number.isInteger(moved) && moved >= 1 && moved < ctx.address.instance
        ? { movedFrom: moved, instance: ctx.address.instance }
        : {}),
      deviations: visitDeviations(ctx.definition, dayOne, current).map((d) => d.message),
    };
  } else if (c.req.query("unchanged") !== undefined) notice = { kind: "unchanged" };
  return renderForm(c, ctx, {
    values: current?.data ?? {},
    opening: true,
    rev: current?.rev ?? 0,
    current,
    notice,
    afterSave: readAfterSave(c.req.query("then")),
    stored: storedNotice(ctx.definition, c.req.query("stored"), ctx.others),
  });
}

/**
 * The form post: saved, it moves on (303); refused, the form is drawn again
 * with what was typed, the reasons beside the fields, or (409) the person's
 * edits re-applied to the latest state.
 */
async function postForm(c: Context<AppEnv>, scripts: FormScripts) {
  if (!can(c.var.principal, "enter-data")) throw problems.forbidden("Only site users enter data.");
  const ctx = await formContext(c, scripts);
  const { entries: body, files } = splitBody(await c.req.parseBody({ all: true }));
  const submitted = readFormEntries(ctx.slot.instrument, body);
  const fileErrors = await applyFileChoices(c, ctx.path, ctx.slot.instrument, submitted, body, files);
  const status = FORM_STATUSES.find((s) => s === body._status);
  const rev = Number(body._rev);
  const safeRev = Number.isInteger(rev) && rev >= 0 ? rev : 0;
  const reason = typeof body._reason === "string" ? body._reason : undefined;
  const recalculate = [body._recalculate ?? []].flat().filter((v) => typeof v === "string");
  const confirmed = [body._confirm ?? []].flat().filter((v) => typeof v === "string");
  const missing = readMissingEntries(ctx.slot.instrument, body);
  const afterSave = readAfterSave(body._then);
  const current = ctx.revisions.at(-1);
  // No save button named: an implicit submission (Enter in a field). Saving it would store an
  // incomplete form, or a new log instance, nobody asked for.
  if (status === undefined) {
    return renderForm(c, ctx, {
      values: submitted,
      rev: safeRev,
      current,
      reason,
      afterSave,
      notice: { kind: "no-action" },
      status: 422,
    });
  }
  // A refused file saves nothing: the form comes back with the reason beside the field.
  if (fileErrors.size > 0)
    return renderForm(c, ctx, {
      values: submitted,
      rev: safeRev,
      current,
      reason,
      recalculate,
      afterSave,
      missing,
      errors: fileErrors,
      notice: { kind: "invalid", count: fileErrors.size },
      status: 422,
    });
  const { definition } = ctx;
  const result = await saveForm(
    c,
    ctx.path,
    { data: submitted, status, rev: safeRev, reason, recalculate, missing, confirmWarnings: confirmed },
    { ...ctx, current },
  );
  const url = new URL(c.req.url);
  // A new entry of a log (or of a repeating form or visit) whose number someone else took meanwhile:
  // two people pressed "Add" at once. It is another entry, not an edit of theirs, so it takes the next number.
  if (result.kind === "stale" && safeRev === 0 && ctx.slot.repeating) {
    const moved = await saveAsNextInstance(c, ctx, {
      data: submitted,
      status,
      rev: 0,
      reason,
      recalculate,
      missing,
      confirmWarnings: confirmed,
    });
    if (moved) {
      const subjectPath = `/studies/${definition.study.id}/subjects/${ctx.subject.id}`;
      const address = { ...ctx.address, instance: moved.instance };
      return c.redirect(
        afterSaveLocation(
          definition,
          { path: subjectPath, arm: ctx.subject.arm },
          address,
          moved.rev,
          afterSave,
        ) ?? `${instancePath(address)}?saved=${moved.rev}&moved=${ctx.address.instance}`,
        303,
      );
    }
  }
  const moveOn =
    result.kind === "saved" || result.kind === "unchanged"
      ? afterSaveLocation(
          definition,
          { path: `/studies/${definition.study.id}/subjects/${ctx.subject.id}`, arm: ctx.subject.arm },
          ctx.address,
          result.state.rev,
          afterSave,
        )
      : undefined;
  if (moveOn) return c.redirect(moveOn, 303);
  // A refused save draws the form again with everything the person sent.
  const again = { values: submitted, rev, current, reason, recalculate, afterSave, missing };
  switch (result.kind) {
    case "saved":
      return c.redirect(`${url.pathname}?saved=${result.state.rev}`, 303);
    case "unchanged":
      return c.redirect(`${url.pathname}?unchanged`, 303);
    case "entered-in-error":
      throw saveProblem(ctx.path, result, safeRev);
    case "locked": {
      // Locked after the page was opened: the form again (read only under its lock, read anew) with
      // the stored values, and what was typed listed beside them rather than lost on an error page.
      const ctxNow = await formContext(c, scripts);
      const stored = ctxNow.revisions.at(-1);
      const hidden = hiddenFields(ctx.slot.instrument, submitted, ctxNow.context);
      const typed = Object.fromEntries(Object.entries(submitted).filter(([field]) => !hidden.has(field)));
      return renderForm(c, ctxNow, {
        values: stored?.data ?? {},
        rev: stored?.rev ?? 0,
        current: stored,
        notice: {
          kind: "locked",
          scope: result.scope,
          changes: diffData(stored?.data ?? {}, typed, Object.keys(ctx.slot.instrument.properties)),
        },
        status: 423,
      });
    }
    case "unconfirmed-warnings":
      return renderForm(c, ctx, {
        ...again,
        warnings: result.warnings,
        confirmed,
        notice: { kind: "warnings", count: result.warnings.length },
        status: 422,
      });
    case "invalid":
      return renderForm(c, ctx, {
        ...again,
        errors: new Map(result.errors.map((e) => [e.pointer.slice(1), e.message])),
        notice: { kind: "invalid", count: result.errors.length },
        status: 422,
      });
    case "reason-required":
      return renderForm(c, ctx, {
        ...again,
        reason: undefined,
        reasonError: "Say why this completed form changes.",
        notice: { kind: "invalid", count: 1 },
        status: 422,
      });
    case "stale": {
      const latest = result.current;
      const revisions = latest ? ctx.revisions.filter((r) => r.rev <= latest.rev) : ctx.revisions;
      const rebased = rebaseEdits({
        base: revisions.find((r) => r.rev === rev)?.data ?? {},
        mine: submitted,
        theirs: latest?.data ?? {},
        fields: Object.keys(ctx.slot.instrument.properties),
      });
      // The history beside each field includes the revisions that made this save stale.
      const ctxNow = { ...ctx, revisions: await c.var.store.readRevisions(ctx.address) };
      return renderForm(c, ctxNow, {
        values: rebased.values,
        rev: latest?.rev ?? 0,
        current: latest,
        reason,
        recalculate,
        afterSave,
        theirs: rebased.conflicts,
        notice: latest ? { kind: "conflict", current: latest, changes: rebased.theirChanges } : undefined,
        status: 409,
      });
    }
  }
}

/**
 * Saves a new entry at the first number after every entry of its kind now
 * stored (a repeating visit counts all its forms); answers where it went, or
 * undefined if that save is refused too (the caller then shows the conflict).
 */
async function saveAsNextInstance(
  c: Context<AppEnv>,
  ctx: FormContext,
  input: Parameters<typeof saveForm>[2],
): Promise<{ instance: number; rev: number } | undefined> {
  const { event, form } = ctx.address;
  const wholeVisit = ctx.slot.event?.repeatable === true;
  const projections = await c.var.store.readProjections(ctx.definition.study.id, ctx.subject.id);
  const taken = projections
    .filter((i) => i.event === event && (wholeVisit || i.form === form))
    .map((i) => i.instance);
  const instance = Math.max(ctx.address.instance, ...taken) + 1;
  const result = await saveForm(c, { ...ctx.path, instance: String(instance) }, input);
  return result.kind === "saved" ? { instance, rev: result.state.rev } : undefined;
}

/** The form pages: show a form instance and save it (the entered-in-error posts are their own). */
export function formPages(scripts: FormScripts) {
  const show = (c: Context<AppEnv>) => showForm(c, scripts);
  const save = (c: Context<AppEnv>) => postForm(c, scripts);
  return new Hono<AppEnv>()
    .get(FORM_PATH, show)
    .post(FORM_PATH, save)
    .get(`${FORM_PATH}/instances/:instance`, show)
    .post(`${FORM_PATH}/instances/:instance`, save);
}
