import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { resolveSlot } from "../engine/slots.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { seesSite } from "./permissions.ts";
import { problems } from "./problems.ts";

/**
 * Path resolution shared by the routes. A study the token is not for and a
 * subject outside the caller's sites are answered exactly like ones that do
 * not exist: 404, so nothing leaks about other sites.
 */

export async function loadStudy(c: Context<AppEnv>, study: string): Promise<StudyDefinition> {
  const definition =
    c.var.principal.study === study ? await c.var.store.definitions.current(study) : undefined;
  if (!definition) throw problems.notFound(`Study ${study}`);
  return definition;
}

/**
 * A study the caller may set up: published, or created by an admin and not
 * published yet (its first publish). Anything else is the same 404 as loadStudy.
 */
export async function loadHostedStudy(c: Context<AppEnv>, study: string): Promise<void> {
  if (c.var.principal.study !== study || !(await c.var.store.studyExists(study)))
    throw problems.notFound(`Study ${study}`);
}

export async function loadSubject(c: Context<AppEnv>, study: string, id: string): Promise<Subject> {
  const subject = await c.var.store.getSubject(study, id);
  if (!subject || !seesSite(c.var.principal, subject.site, "read-identified"))
    throw problems.notFound(`Subject ${id}`);
  return subject;
}

/** An instance number from a path: 1 to 999999, NaN for anything else. */
export const instanceNumber = (instance: string) =>
  /^[1-9][0-9]{0,5}$/.test(instance) ? Number(instance) : Number.NaN;

export function loadSlot(
  definition: StudyDefinition,
  subject: Subject,
  event: string,
  form: string,
  instance: string,
) {
  const n = instanceNumber(instance);
  const slot = resolveSlot(definition, subject.arm, event, form, n);
  if (!slot.ok) {
    const what = {
      event: `Event ${event}`,
      form: `Form ${form} at ${event}`,
      instance: `Instance ${instance} of ${form}`,
    };
    throw problems.notFound(what[slot.missing]);
  }
  return { ...slot, instance: n };
}

/** The path of one form instance, as both the API and the pages receive it (strings, unparsed). */
export interface InstancePath {
  study: string;
  subject: string;
  event: string;
  form: string;
  instance: string;
}

export async function resolveInstance(c: Context<AppEnv>, p: InstancePath) {
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  const slot = loadSlot(definition, subject, p.event, p.form, p.instance);
  return { definition, subject, address: { event: p.event, form: p.form, instance: slot.instance } };
}
