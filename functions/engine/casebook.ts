import type { FormData } from "./definition.ts";
import { isEmpty } from "./logic.ts";

export interface CommittedInstance {
  event: string;
  form: string;
  instance: number;
  data: FormData;
  committedAt: string;
  enteredInError?: boolean;
}

/**
 * `$latest.<form>.<field>`: for each field, the value from the most recently
 * committed instance of that form where the field is not empty.
 */
export function latestValues(
  instances: Iterable<CommittedInstance>,
): Record<string, Record<string, unknown>> {
  // An instance entered in error is not data any more: its values must not drive a calculation.
  const sorted = [...instances]
    .filter((i) => !i.enteredInError)
    .sort((a, b) => a.committedAt.localeCompare(b.committedAt));
  // No prototypes: a form or field named like an object member (`constructor`) must not reach Object itself.
  const out: Record<string, Record<string, unknown>> = Object.create(null);
  for (const i of sorted) {
    const form = out[i.form] ?? Object.create(null);
    out[i.form] = form;
    for (const [field, value] of Object.entries(i.data)) if (!isEmpty(value)) form[field] = value;
  }
  return out;
}

/**
 * `$events.<event>.<form>.<field>`: `$latest` within one event, for REDCap's
 * cross-event references (`[enrollment_arm_1][sex]`).
 */
export function eventValues(
  instances: Iterable<CommittedInstance>,
): Record<string, Record<string, Record<string, unknown>>> {
  const byEvent = new Map<string, CommittedInstance[]>();
  for (const i of instances) byEvent.set(i.event, [...(byEvent.get(i.event) ?? []), i]);
  const out: Record<string, Record<string, Record<string, unknown>>> = Object.create(null);
  for (const [event, list] of byEvent) out[event] = latestValues(list);
  return out;
}
