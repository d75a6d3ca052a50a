import type { FieldSchema } from "../engine/definition.ts";
import { displayValue } from "./form-values.ts";

/** A stored calculation that current data would compute differently (engine `calculationDrift`). */
export interface DriftView {
  stored: unknown;
  now: unknown;
}

export const driftId = (name: string) => `d-${name}`;

/**
 * Beside a calculated field: what is stored, what current data would give,
 * and, for someone who can save, the explicit choice to store the new value
 * (audited like any change; a complete form asks for a reason).
 */
export function DriftNote(props: {
  name: string;
  schema: FieldSchema;
  drift?: DriftView;
  canRecalculate: boolean;
  ticked?: boolean;
}) {
  const { name, schema, drift } = props;
  if (!drift) return null;
  return (
    <>
      <p class="theirs" id={driftId(name)} data-calc-drift={name}>
        Stored {displayValue(schema, drift.stored)}; with current data it would be{" "}
        {displayValue(schema, drift.now)}.
      </p>
      {props.canRecalculate && (
        <label class="choice">
          <input
            type="checkbox"
            name="_recalculate"
            value={name}
            checked={props.ticked}
            aria-describedby={driftId(name)}
          />
          Store {displayValue(schema, drift.now)} when saving
        </label>
      )}
    </>
  );
}
