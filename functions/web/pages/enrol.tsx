import type { StudyDefinition } from "../../engine/definition.ts";

/** Enrolment: a site among the caller's, an arm, and an optional subject id following the study's pattern. */
export function Enrol(props: {
  definition: StudyDefinition;
  sites: string[];
  csrf: string;
  values?: { site?: string; arm?: string; subjectId?: string };
  errors?: Map<string, string>;
}) {
  const { definition, sites, csrf, values = {}, errors = new Map() } = props;
  const err = (name: string) =>
    errors.get(name) ? (
      <p id={`e-${name}`} class="error" role="alert">
        {errors.get(name)}
      </p>
    ) : null;
  return (
    <>
      <h1>Enrol a subject</h1>
      {errors.size > 0 && <p class="notice bad">The subject was not enrolled: see below.</p>}
      <form method="post" class="card">
        <input type="hidden" name="_csrf" value={csrf} />
        <div class="field">
          <label for="f-site">Site</label>
          <select id="f-site" name="site" aria-invalid={errors.has("site") ? "true" : undefined}>
            {definition.study.sites
              .filter((s) => sites.includes(s.id))
              .map((s) => (
                <option value={s.id} selected={values.site === s.id}>
                  {s.name} ({s.id})
                </option>
              ))}
          </select>
          {err("site")}
        </div>
        <div class="field">
          <fieldset>
            <legend>Arm</legend>
            {definition.study.arms.map((a) => (
              <label class="choice">
                <input type="radio" name="arm" value={a.id} checked={values.arm === a.id} required />
                {a.label}
              </label>
            ))}
          </fieldset>
          {err("arm")}
        </div>
        <div class="field">
          <label for="f-subjectId">Subject id (optional)</label>
          <p id="h-subjectId" class="help">
            Leave empty to take the next number of the site. A given id starts with the site's code and must
            match <code>{definition.study.subjectIdPattern}</code>.
          </p>
          {/* No `pattern` attribute: the browser would run the builder's pattern on its backtracking engine. */}
          <input
            id="f-subjectId"
            name="subjectId"
            type="text"
            value={values.subjectId ?? ""}
            aria-describedby="h-subjectId e-subjectId"
            aria-invalid={errors.has("subjectId") ? "true" : undefined}
          />
          {err("subjectId")}
        </div>
        <button type="submit">Enrol</button>
      </form>
    </>
  );
}
