import { DriftNote } from "./calculation-drift.tsx";
import { type FieldView, History } from "./fields.tsx";
import { displayValue } from "./form-values.ts";
import { Piped } from "./piped.tsx";

/**
 * A field for someone who cannot save (monitor, sponsor, builder): its label
 * and stored value as text, not a control that accepts typing nobody will
 * ever store. Help, branching, drift and history are shown as for sites.
 */
export function ReadOnlyField({ f }: { f: FieldView }) {
  const { schema, name } = f;
  const empty = f.value === undefined || f.value === null || f.value === "";
  return (
    <>
      {schema["x-section"] && (
        <h2 class="section">
          <Piped text={schema["x-section"]} pipe={f.pipe} />
        </h2>
      )}
      <div
        class="field readonly"
        data-field={name}
        hidden={f.hidden}
        data-identifier={schema["x-identifier"] ? "true" : undefined}
      >
        {schema.type === "null" ? (
          <p>
            <Piped text={schema.title} pipe={f.pipe} />
          </p>
        ) : (
          <dl>
            <dt id={`l-${name}`}>
              <Piped text={schema.title ?? name} pipe={f.pipe} />
            </dt>
            <dd data-value={name}>
              {empty && f.missing ? (
                <span data-missing-code={f.missing.code}>
                  {f.missing.code} (
                  {f.missingCodes?.find((c) => c.code === f.missing?.code)?.label ?? "missing"}):{" "}
                  {f.missing.reason}
                </span>
              ) : empty ? (
                <>
                  <span aria-hidden="true">—</span>
                  <span class="visually-hidden">not answered</span>
                </>
              ) : f.download ? (
                <a href={f.download}>{displayValue(schema, f.value)}</a>
              ) : (
                displayValue(schema, f.value)
              )}
            </dd>
          </dl>
        )}
        {schema.description && (
          <p class="help">
            <Piped text={schema.description} pipe={f.pipe} />
          </p>
        )}
        <DriftNote name={name} schema={schema} drift={f.drift} canRecalculate={false} />
        <History f={f} />
      </div>
    </>
  );
}
