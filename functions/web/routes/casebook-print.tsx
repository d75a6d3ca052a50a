import { type Context, Hono } from "hono";
import { auditTrail } from "../../http/audit-trail.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { page } from "../page.tsx";
import { CasebookPrint } from "../pages/casebook-print.tsx";

/**
 * One subject's printable casebook: the subject page's authorization (read
 * identified data, within the caller's sites: outside them the subject is a
 * 404), its data, review record and audit trail on one page.
 */
async function showCasebookPrint(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const study = definition.study.id;
  const subject = await loadSubject(c, study, c.req.param("subject") ?? "");
  const [{ instances, revisions }, review, studyReview] = await Promise.all([
    c.var.store.readCasebook(study, subject.id),
    c.var.store.readReviewLog(study, subject.id),
    c.var.store.readReviewLog(study),
  ]);
  return page(
    c,
    `Casebook · ${subject.id}`,
    <CasebookPrint
      definition={definition}
      subject={subject}
      instances={instances}
      revisions={revisions}
      review={review}
      studyReview={studyReview}
      audit={auditTrail(subject, revisions)}
      printedAt={new Date().toISOString()}
      printedBy={c.var.principal.user}
    />,
  );
}

export const casebookPrintPages = new Hono<AppEnv>().get(
  "/studies/:study/subjects/:subject/casebook/print",
  permitted("read-identified"),
  showCasebookPrint,
);
