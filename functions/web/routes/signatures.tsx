import { type Context, Hono } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { ReviewTarget } from "../../engine/review.ts";
import { coversFingerprint, coversOf, signatureMeaning } from "../../engine/signatures.ts";
import type { AppEnv } from "../../http/context.ts";
import { requirePermission } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { describeTarget, readSignTarget } from "../../http/signatures.ts";
import { DEFAULT_SIGNING_WINDOW_MS, duration, withinSigningWindow } from "../../http/signing.ts";
import { personLabel } from "../../store/people.ts";
import type { Subject } from "../../store/subjects.ts";
import { STATUS_LABEL } from "../casebook-view.ts";
import { page } from "../page.tsx";
import { SignPage } from "../pages/sign.tsx";

/**
 * Signing, on the pages only (the API cannot re-authenticate anyone): the
 * page shows what will be signed; "Authenticate again" goes through the
 * provider with `prompt=login` (routes/session.tsx), which leaves a one-use
 * permission on the session; the post uses it up and appends the `sign`
 * entry, covering exactly the revisions the page showed.
 */

interface Signing {
  definition: StudyDefinition;
  subject: Subject;
  target: ReviewTarget;
  base: string;
}

async function resolveSigning(c: Context<AppEnv>): Promise<Signing> {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const subject = await loadSubject(c, definition.study.id, c.req.param("subject") ?? "");
  const { principal } = c.var;
  requirePermission(principal, "sign", { study: subject.study, site: subject.site });
  const target = readSignTarget(definition, subject, {
    event: c.req.query("event"),
    form: c.req.query("form"),
    instance: c.req.query("instance"),
  });
  return { definition, subject, target, base: `/studies/${definition.study.id}/subjects/${subject.id}` };
}

/** Where the signer goes back to: the form for a form, the visit's row for a visit, else the casebook. */
function backHref({ base, target }: Signing): string {
  if (target.form !== undefined && target.event !== undefined)
    return `${base}/events/${target.event}/forms/${target.form}/instances/${target.instance ?? 1}#signatures`;
  return target.event !== undefined ? `${base}#event-${target.event}` : `${base}#signatures`;
}

async function printedName(c: Context<AppEnv>): Promise<string> {
  const person = c.var.principal.person ? await c.var.store.findPerson(c.var.principal.person) : undefined;
  return person?.name ?? (person ? personLabel(person) : c.var.principal.user);
}

async function currentCovers(c: Context<AppEnv>, s: Signing) {
  const { instances } = await c.var.store.readCasebook(s.subject.study, s.subject.id);
  const covers = coversOf(instances, s.target);
  if (covers.length === 0)
    throw problems.nothingToSign(`Nothing is saved in ${describeTarget(s.definition, s.target)} yet.`);
  return { instances, covers };
}

export function signaturePages(signingWindowMs = DEFAULT_SIGNING_WINDOW_MS) {
  async function showSignPage(c: Context<AppEnv>, error?: string, status: 409 | 422 = 422) {
    const s = await resolveSigning(c);
    const { instances, covers } = await currentCovers(c, s);
    const session = c.var.session ? await c.var.store.readSession(c.var.session) : undefined;
    const authenticatedAt = session?.signingAuthenticatedAt;
    const fresh =
      authenticatedAt !== undefined && withinSigningWindow(authenticatedAt, Date.now(), signingWindowMs);
    const url = new URL(c.req.url);
    const rows = covers.map((covered) => {
      const status = instances.find(
        (i) => i.event === covered.event && i.form === covered.form && i.instance === covered.instance,
      )?.status;
      return {
        label: describeTarget(s.definition, covered),
        status: status ? STATUS_LABEL[status as keyof typeof STATUS_LABEL] : "",
        covered,
      };
    });
    return page(
      c,
      "Sign",
      <SignPage
        backHref={backHref(s)}
        what={describeTarget(s.definition, s.target)}
        rows={rows}
        meaning={signatureMeaning(s.target)}
        name={await printedName(c)}
        csrf={c.var.csrf ?? ""}
        {...(fresh ? { authenticatedAt } : {})}
        reauthenticateHref={`/auth/reauthenticate?next=${encodeURIComponent(url.pathname + url.search)}`}
        byKey={!c.var.principal.person}
        fingerprint={coversFingerprint(covers)}
        window={duration(signingWindowMs)}
        {...(error ? { error } : {})}
      />,
      { status: error ? status : 200 },
    );
  }

  async function sign(c: Context<AppEnv>) {
    const s = await resolveSigning(c);
    if (!c.var.principal.person) throw problems.signatureNeedsPerson();
    const body = await c.req.parseBody();
    if (body.confirm !== "yes")
      return showSignPage(c, "Tick the box to confirm the meaning of your signature, then sign.");
    const { covers } = await currentCovers(c, s);
    // Changed since the page was shown: the page again with what stands now (the authentication is
    // not spent yet), rather than a dead end that sends the investigator back to the dashboard.
    if (body.covers !== coversFingerprint(covers))
      return showSignPage(
        c,
        "Not signed: something in what you were about to sign was saved since the page was shown. Review what stands now below and sign again.",
        409,
      );
    const authenticatedAt = c.var.session ? await c.var.store.takeSigning(c.var.session) : undefined;
    if (authenticatedAt === undefined)
      throw problems.reauthenticationRequired(
        "Each signature needs its own authentication at the identity provider: go back, authenticate again and sign.",
      );
    if (!withinSigningWindow(authenticatedAt, Date.now(), signingWindowMs))
      throw problems.reauthenticationRequired(
        `Your authentication is more than ${duration(signingWindowMs)} old: go back, authenticate again and sign.`,
      );
    const { principal } = c.var;
    await c.var.store.appendReview({
      action: "sign",
      name: await printedName(c),
      meaning: signatureMeaning(s.target),
      authenticatedAt: new Date(authenticatedAt).toISOString(),
      covers,
      study: s.subject.study,
      subject: s.subject.id,
      site: s.subject.site,
      by: principal.user,
      ...(principal.person ? { person: principal.person } : {}),
      target: s.target,
    });
    return c.redirect(backHref(s), 303);
  }

  return new Hono<AppEnv>()
    .get("/studies/:study/subjects/:subject/sign", (c) => showSignPage(c))
    .post("/studies/:study/subjects/:subject/sign", sign);
}
