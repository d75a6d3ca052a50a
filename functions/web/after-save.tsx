import { LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import { nextFormOfVisit } from "../engine/next-form.ts";
import { dayOneOf, visitDeviations } from "../engine/schedule.ts";
import { repeatsAt } from "../engine/slots.ts";
import type { Revision } from "../store/form-instances.ts";
import { STATUS_LABEL } from "./casebook-view.ts";

/**
 * Where a successful save of the form page goes (`_then`): stay on the form,
 * go to the next form of the visit, or return to the subject. The page it
 * lands on says what was stored (`?stored=`), checked against the casebook,
 * so a crafted link cannot announce a save that did not happen.
 */

export const AFTER_SAVE = ["stay", "next", "subject"] as const;
export type AfterSave = (typeof AFTER_SAVE)[number];

export function readAfterSave(value: unknown): AfterSave {
  return AFTER_SAVE.find((a) => a === value) ?? "stay";
}

interface Address {
  event: string;
  form: string;
  instance: number;
}

/** Event ids, form ids and numbers hold no dots, so a dot separates them. */
const storedParam = (a: Address, rev: number) => `${a.event}.${a.form}.${a.instance}.${rev}`;

/** The page after a save, or undefined to stay on the form. */
export function afterSaveLocation(
  definition: StudyDefinition,
  subject: { path: string; arm: string },
  address: Address,
  rev: number,
  then: AfterSave,
): string | undefined {
  if (then === "stay") return undefined;
  const stored = `stored=${encodeURIComponent(storedParam(address, rev))}`;
  const next =
    then === "next" ? nextFormOfVisit(definition.study, subject.arm, address.event, address.form) : undefined;
  if (next === undefined) return `${subject.path}?${stored}#event-${address.event}`;
  const repeatable = definition.study.events.find((e) => e.id === address.event)?.repeatable === true;
  const instance = repeatable ? `/instances/${address.instance}` : "";
  return `${subject.path}/events/${address.event}/forms/${next}${instance}?${stored}&then=next`;
}

export interface StoredNotice {
  message: string;
  deviations: string[];
}

/** What `?stored=` announces, if the casebook holds exactly that revision as the instance's current one. */
export function storedNotice(
  definition: StudyDefinition,
  param: string | undefined,
  instances: Revision[],
): StoredNotice | undefined {
  const [event, form, instance, rev] = (param ?? "").split(".");
  const stored = instances.find(
    (i) => i.event === event && i.form === form && String(i.instance) === instance && String(i.rev) === rev,
  );
  if (!stored) return undefined;
  const instrument = Object.hasOwn(definition.instruments, stored.form)
    ? definition.instruments[stored.form]
    : undefined;
  const eventDef = definition.study.events.find((e) => e.id === stored.event);
  const repeating =
    stored.event === LOGS_EVENT || (eventDef !== undefined && repeatsAt(eventDef, stored.form, instrument));
  const where = stored.event === LOGS_EVENT ? "Logs" : (eventDef?.label ?? stored.event);
  const name = `${instrument?.title ?? stored.form}${repeating ? ` #${stored.instance}` : ""} · ${where}`;
  return {
    message: `${name} is stored as revision ${stored.rev} (${STATUS_LABEL[stored.status]}).`,
    deviations: visitDeviations(definition, dayOneOf(definition, instances), stored).map((d) => d.message),
  };
}

export function StoredNoticeView({ notice }: { notice?: StoredNotice }) {
  if (!notice) return null;
  return (
    <div class="notice ok" role="status" data-stored>
      {notice.message}
      {notice.deviations.map((d) => (
        <p class="theirs">Protocol deviation: {d}</p>
      ))}
    </div>
  );
}

/** The choice beside the save buttons; "next" on a visit's last form (or a log) means the subject page. */
export function AfterSaveChoice({ choice, nextTitle }: { choice: AfterSave; nextTitle?: string }) {
  const selected = choice === "next" && nextTitle === undefined ? "subject" : choice;
  return (
    <span class="after-save">
      <label for="f-_then">After saving</label>
      <select id="f-_then" name="_then">
        <option value="stay" selected={selected === "stay"}>
          stay on this form
        </option>
        {nextTitle !== undefined && (
          <option value="next" selected={selected === "next"}>
            go to next form: {nextTitle}
          </option>
        )}
        <option value="subject" selected={selected === "subject"}>
          return to the subject
        </option>
      </select>
    </span>
  );
}
