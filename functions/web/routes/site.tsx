import { type Context, Hono } from "hono";
import { lockState } from "../../engine/locks.ts";
import { foldQueries } from "../../engine/queries.ts";
import { addProgress, type Progress, subjectProgress } from "../../engine/sdv.ts";
import { signatureStates } from "../../engine/signatures.ts";
import { currentStatus, isClosedStatus, isSubjectStatus } from "../../engine/subject-status.ts";
import { auditTrail } from "../../http/audit-trail.ts";
import type { AppEnv } from "../../http/context.ts";
import { downloadUrl } from "../../http/direct-files.ts";
import { enrolSubject } from "../../http/enrolment.ts";
import { downloadFile, downloadHeaders } from "../../http/files.ts";
import { can, requirePermission, sitesOf } from "../../http/permissions.ts";
import { ProblemError, problems } from "../../http/problems.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { changeSubjectStatus } from "../../http/subject-status.ts";
import { storedNotice } from "../after-save.tsx";
import { casebookView } from "../casebook-view.ts";
import { dashboardRows } from "../dashboard-cache.ts";
import { dashboardPage } from "../dashboard-page.ts";
import { type DashboardRow, readDashboardQuery } from "../dashboard-query.ts";
import { page } from "../page.tsx";
import { AuditPage } from "../pages/audit.tsx";
import { Dashboard } from "../pages/dashboard.tsx";
import { Enrol } from "../pages/enrol.tsx";
import { QueriesSection } from "../pages/queries.tsx";
import { SubjectReview } from "../pages/review-panels.tsx";
import { SubjectPage } from "../pages/subject.tsx";
import { SignatureList } from "../signature-list.tsx";
import { SubjectStatusPanel } from "../subject-status-panel.tsx";
import { queryRights } from "./queries.tsx";

/** Casebooks read at once for the dashboard's verification progress: enough to overlap round trips, few enough not to flood the table. */
const DASHBOARD_READS_IN_FLIGHT = 16;
const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;

async function showDashboard(c: Context<AppEnv>, today: string) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const { principal } = c.var;
  const visible = sitesOf(
    principal,
    definition.study.sites.map((s) => s.id),
    "read-identified",
  );
  const query = readDashboardQuery(c.req.query(), definition, visible);
  const selection = await dashboardPage(c.var.store, definition, query, visible, today);
  const study = { study: definition.study.id };
  // Verification progress is for those who verify or lock, when they ask: it costs a read of values and review
  // log per subject of the page (the summaries do not hold it), so the plain dashboard stays at two reads.
  const seesSdv = can(principal, "verify", study) || can(principal, "lock", study);
  const showSdv = seesSdv && query.sdv === true;
  if (showSdv) {
    const withSdv = await dashboardRows(
      c.var.store,
      definition,
      selection.rows.map((r) => r.subject),
      { today, settleMs: c.var.feedSettleMs, readsInFlight: DASHBOARD_READS_IN_FLIGHT, sdv: true },
    );
    const bySubject = new Map(withSdv.map((r) => [r.subject.id, r.sdv]));
    selection.rows = selection.rows.map((r) => ({ ...r, sdv: bySubject.get(r.subject.id) }));
  }
  return page(
    c,
    "Dashboard",
    <Dashboard
      definition={definition}
      selection={selection}
      sdvBySite={showSdv ? sdvBySite(selection.rows) : undefined}
      query={query}
      sites={visible}
      canEnrol={can(principal, "enrol", study)}
      canBuild={can(principal, "publish", study)}
      canExport={can(principal, "export", study)}
      canShowSdv={seesSdv}
      today={today}
    />,
  );
}

/** Verification progress summed per site over every subject in scope. */
function sdvBySite(rows: DashboardRow[]): Map<string, Progress> {
  const bySite = new Map<string, Progress>();
  for (const { subject, sdv } of rows)
    if (sdv) bySite.set(subject.site, addProgress(bySite.get(subject.site) ?? NO_PROGRESS, sdv));
  return bySite;
}

const NO_PROGRESS: Progress = { required: 0, verified: 0, reverify: 0 };

async function enrolPage(c: Context<AppEnv>, values?: Record<string, string>, errors?: Map<string, string>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  if (!can(c.var.principal, "enrol", { study: definition.study.id }))
    throw problems.forbidden("Only site users enrol subjects.");
  const sites = sitesOf(
    c.var.principal,
    definition.study.sites.map((s) => s.id),
    "enrol",
  );
  return page(
    c,
    "Enrol",
    <Enrol definition={definition} sites={sites} csrf={c.var.csrf ?? ""} values={values} errors={errors} />,
    { status: errors?.size ? 422 : 200 },
  );
}

function showEnrolPage(c: Context<AppEnv>) {
  return enrolPage(c);
}

async function enrol(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  if (!can(c.var.principal, "enrol", { study: definition.study.id }))
    throw problems.forbidden("Only site users enrol subjects.");
  const body = await c.req.parseBody();
  const values = {
    site: String(body.site ?? ""),
    arm: String(body.arm ?? ""),
    subjectId: String(body.subjectId ?? "").trim(),
  };
  const result = await enrolSubject(c, definition, {
    site: values.site,
    arm: values.arm,
    subjectId: values.subjectId || undefined,
  });
  switch (result.kind) {
    case "refused":
      return enrolPage(
        c,
        values,
        new Map(result.errors.map((e) => [e.pointer.slice(1), sentence(e.message)])),
      );
    case "exists":
      return enrolPage(c, values, new Map([["subjectId", "This id is already enrolled."]]));
    case "enrolled":
      return c.redirect(`/studies/${definition.study.id}/subjects/${result.subject.id}`, 303);
  }
}

/** A status form refused: what was sent, and why, drawn again on the subject page. */
interface StatusRefusal {
  error: string;
  values: { status?: string; date?: string; reason?: string };
  status: number;
}

async function showSubject(c: Context<AppEnv>, today: string, refused?: StatusRefusal) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const subject = await loadSubject(c, definition.study.id, c.req.param("subject") ?? "");
  const [instances, reviews] = await Promise.all([
    c.var.store.readCasebook(definition.study.id, subject.id),
    c.var.store.readReviews(definition.study.id, subject.id),
  ]);
  const reviewLog = reviews.subject;
  const status = currentStatus(reviewLog);
  const queries = foldQueries(reviewLog);
  const locks = lockState(reviews.subject, reviews.study);
  const csrf = c.var.csrf ?? "";
  const view = casebookView(definition, subject.arm, instances.instances, today, {
    closed: isClosedStatus(status.status),
  });
  const resource = { study: definition.study.id, site: subject.site };
  const base = `/studies/${definition.study.id}/subjects/${subject.id}`;
  return page(
    c,
    `Subject ${subject.id}`,
    <SubjectPage
      definition={definition}
      subject={subject}
      view={view}
      canWrite={can(c.var.principal, "enter-data", resource)}
      canSign={can(c.var.principal, "sign", resource)}
      stored={storedNotice(definition, c.req.query("stored"), instances.instances)}
      review={
        <>
          <SubjectStatusPanel
            action={`${base}/status`}
            current={status}
            canChange={can(c.var.principal, "change-subject-status", resource)}
            csrf={csrf}
            today={today}
            {...(refused ? { error: refused.error, values: refused.values } : {})}
          />
          <SignatureList
            definition={definition}
            states={signatureStates(reviewLog, instances.revisions)}
            {...(can(c.var.principal, "sign", resource) && instances.instances.length > 0
              ? { signHref: `${base}/sign`, signLabel: "Sign the casebook…" }
              : {})}
          />
          <SubjectReview
            subjectPath={base}
            csrf={csrf}
            canLock={can(c.var.principal, "lock", resource)}
            locks={locks.locks}
            {...(locks.frozen ? { frozen: locks.frozen } : {})}
            visits={view.events.map((r) => ({ id: r.event.id, label: r.event.label }))}
            sdv={subjectProgress(definition, instances.instances, reviews.subject)}
          />
        </>
      }
      queries={
        <QueriesSection
          definition={definition}
          queries={queries}
          rights={queryRights(c, subject)}
          csrf={csrf}
          raise={{
            study: definition.study.id,
            subject: subject.id,
            csrf,
            target: {},
            choices: [
              { value: "", label: "The subject" },
              ...view.events.map((row) => ({ value: `event:${row.event.id}`, label: row.event.label })),
            ],
          }}
        />
      }
    />,
    { status: refused?.status ?? 200 },
  );
}

/** The subject page's status form; a refusal draws the page again with the reason beside the form. */
async function postSubjectStatus(c: Context<AppEnv>, today: string) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const subject = await loadSubject(c, definition.study.id, c.req.param("subject") ?? "");
  requirePermission(c.var.principal, "change-subject-status", { study: subject.study, site: subject.site });
  const body = await c.req.parseBody();
  const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string).trim() : "");
  const values = { status: text("status"), date: text("date"), reason: text("reason") };
  try {
    if (!isSubjectStatus(values.status))
      throw problems.invalid("Choose a status.", [
        { pointer: "/status", code: "unknown", message: "choose one of the statuses offered" },
      ]);
    await changeSubjectStatus(
      c,
      subject,
      {
        status: values.status,
        ...(values.date ? { date: values.date } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
      },
      today,
    );
  } catch (error) {
    if (!(error instanceof ProblemError) || error.status === 403 || error.status === 404) throw error;
    const fields = (error.extra.errors as { message: string }[] | undefined) ?? [];
    const message =
      fields.length > 0 ? fields.map((f) => sentence(f.message)).join(" ") : (error.detail ?? error.title);
    return showSubject(c, today, { error: message, values, status: error.status });
  }
  return c.redirect(`/studies/${definition.study.id}/subjects/${subject.id}#status`, 303);
}

async function showAuditTrail(c: Context<AppEnv>) {
  // The API audit route's authorization: any role, within its sites; not de-identified (not on that allow-list).
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const subject = await loadSubject(c, definition.study.id, c.req.param("subject") ?? "");
  const { revisions } = await c.var.store.readCasebook(definition.study.id, subject.id);
  return page(
    c,
    `Audit trail · ${subject.id}`,
    <AuditPage definition={definition} subject={subject} entries={auditTrail(subject, revisions)} />,
  );
}

/** A study's dashboard, enrolment, and each subject's casebook and audit trail; `today` dates the schedule. */
export function sitePages(today: () => string) {
  const dashboard = (c: Context<AppEnv>) => showDashboard(c, today());
  const subjectPage = (c: Context<AppEnv>) => showSubject(c, today());
  const statusPost = (c: Context<AppEnv>) => postSubjectStatus(c, today());
  return new Hono<AppEnv>()
    .get("/studies/:study", dashboard)
    .get("/studies/:study/enrol", showEnrolPage)
    .post("/studies/:study/enrol", enrol)
    .get("/studies/:study/subjects/:subject", subjectPage)
    .post("/studies/:study/subjects/:subject/status", statusPost)
    .get("/studies/:study/subjects/:subject/audit", showAuditTrail)
    .get("/studies/:study/subjects/:subject/files/:sha256", downloadPage);
}

/** A file a revision of the subject references, as an attachment (http/files.ts decides who may). */
async function downloadPage(c: Context<AppEnv>) {
  const [study, subject, sha256] = [c.req.param("study"), c.req.param("subject"), c.req.param("sha256")];
  // In S3 the bytes come from a presigned URL: a Lambda response could not carry a large file.
  const presigned = await downloadUrl(c, study ?? "", subject ?? "", sha256 ?? "");
  if (presigned) return c.redirect(presigned, 302);
  const { reference, bytes } = await downloadFile(c, study ?? "", subject ?? "", sha256 ?? "");
  return c.body(new Uint8Array(bytes), 200, downloadHeaders(reference));
}
