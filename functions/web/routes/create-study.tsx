import { type Context, Hono } from "hono";
import type { AppEnv } from "../../http/context.ts";
import { type CreatedStudy, createStudyFor, STUDY_ID_MAX, studyIdProblem } from "../../http/create-study.ts";
import { requirePermission } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { page } from "../page.tsx";

/**
 * An admin creates a study on this deployment: the same use case as
 * `POST /api/v1/studies` (http/create-study.ts), as a form post. A refusal
 * (an id taken or malformed) is shown beside the field, the values kept.
 */

export const CREATE_STUDY_PATH = "/account/studies";

interface Shown {
  id?: string;
  title?: string;
  error?: string;
  created?: CreatedStudy;
}

function renderForm(c: Context<AppEnv>, shown: Shown = {}) {
  const csrf = c.var.csrf ?? "";
  const { created, error } = shown;
  return page(
    c,
    "Create a study",
    <>
      <h1>Create a study</h1>
      <p>
        A new study starts empty, with you as its admin and builder. Publish its protocol and grant its people
        with the key you are given here (<code>npm run forms:publish</code> or the API).
      </p>
      {created && (
        <div class="notice ok" role="status">
          <p>
            Study <strong>{created.id}</strong> was created
            {created.title ? <> ({created.title})</> : ""}. Its address: <code>/studies/{created.id}</code>.
          </p>
          <p>
            Your key there, as its admin and builder until {created.key.expiresAt.slice(0, 10)} — copy it now,
            it is not shown again: <code data-new-token>{created.key.token}</code>
          </p>
        </div>
      )}
      <form method="post" action={CREATE_STUDY_PATH} class="card" novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <div class="field">
          <label for="study-id">Study id</label>
          <input
            id="study-id"
            type="text"
            name="id"
            required
            maxlength={STUDY_ID_MAX}
            value={created ? "" : (shown.id ?? "")}
            autocomplete="off"
            spellcheck={false}
            aria-describedby={error ? "study-id-hint study-id-error" : "study-id-hint"}
            {...(error ? { "aria-invalid": "true" } : {})}
          />
          <p id="study-id-hint" class="help">
            Lower-case letters, digits and hyphens; it is in every address of the study and cannot change.
          </p>
          {error && (
            <p id="study-id-error" class="error" role="alert">
              {error}
            </p>
          )}
        </div>
        <div class="field">
          <label for="study-title">Title (optional)</label>
          <input
            id="study-title"
            type="text"
            name="title"
            maxlength={200}
            value={created ? "" : (shown.title ?? "")}
          />
        </div>
        <button type="submit">Create study</button>
      </form>
    </>,
    { status: error ? 422 : 200 },
  );
}

async function showForm(c: Context<AppEnv>) {
  requirePermission(c.var.principal, "create-study");
  return renderForm(c);
}

async function createFromForm(c: Context<AppEnv>) {
  requirePermission(c.var.principal, "create-study");
  const body = await c.req.parseBody();
  const id = typeof body.id === "string" ? body.id.trim() : "";
  const title = typeof body.title === "string" ? body.title.trim() : "";
  const problem =
    studyIdProblem(id) ?? (title.length > 200 ? "A title has at most 200 characters." : undefined);
  if (problem) return renderForm(c, { id, title, error: problem });
  try {
    const created = await createStudyFor(c, { id, ...(title ? { title } : {}) });
    return renderForm(c, { created });
  } catch (e) {
    if (!(e instanceof ProblemError && e.status === 409)) throw e;
    return renderForm(c, {
      id,
      title,
      error: `A study with the id ${id} exists already: choose another id.`,
    });
  }
}

export const createStudyPages = new Hono<AppEnv>()
  .get(CREATE_STUDY_PATH, showForm)
  .post(CREATE_STUDY_PATH, createFromForm);
