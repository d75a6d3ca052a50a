import type { FormData, FormStatus } from "../engine/definition.ts";
import type { MissingData } from "../engine/missing-codes.ts";
import type { FieldWarning } from "../engine/soft-checks.ts";
import type { Revision } from "../store/form-instances.ts";

/** One form instance as the API answers it and a 409 carries it: rev 0 and nulls when not started. */
export interface InstanceView {
  event: string;
  form: string;
  instance: number;
  rev: number;
  status: FormStatus | null;
  data: FormData;
  definitionVersion: number | null;
  committedAt: string | null;
  committedBy: string | null;
  enteredInError: boolean;
  /** Fields holding a missing-data code (and its reason) instead of a value. */
  missing: MissingData;
  /** The warnings confirmed with this revision (each opened a query). */
  confirmedWarnings: FieldWarning[];
}

export function instanceView(
  address: { event: string; form: string; instance: number },
  state: Revision | undefined,
): InstanceView {
  return {
    ...address,
    rev: state?.rev ?? 0,
    status: state?.status ?? null,
    data: state?.data ?? {},
    definitionVersion: state?.definitionVersion ?? null,
    committedAt: state?.committedAt ?? null,
    committedBy: state?.committedBy ?? null,
    enteredInError: state?.enteredInError === true,
    missing: state?.missing ?? {},
    confirmedWarnings: state?.confirmedWarnings ?? [],
  };
}
