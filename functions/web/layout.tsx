import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../http/context.ts";
import { can } from "../http/permissions.ts";
import { ALL_SITES, type Principal } from "../store/principal.ts";
import { STYLES } from "./styles.ts";

export interface PageChrome {
  title: string;
  principal?: Principal;
  csrf?: string;
  studyTitle?: string;
  scripts?: string[];
  /** Navigate on to this URL at once: a new navigation, which CSP `form-action` does not govern. */
  refresh?: string;
}

/** "coordinator at site-01; monitor at all sites": every role the principal holds, where. */
function grantWords(principal: Principal): string {
  return principal.roles
    .map(
      ({ role, sites }) =>
        `${role.replace("_", " ")} at ${sites.includes(ALL_SITES) ? "all sites" : sites.join(", ")}`,
    )
    .join("; ");
}

/** The page shell: one inline stylesheet, a header naming who is signed in, and a sign-out form. */
export function Layout(props: PageChrome & { children: Child }) {
  const { title, principal, csrf, studyTitle, scripts = [], refresh, children } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {refresh && <meta http-equiv="refresh" content={`0; url=${refresh}`} />}
        <title>{studyTitle ? `${title} · ${studyTitle}` : title}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLES }} />
        {scripts.map((src) => (
          <script src={src} defer />
        ))}
      </head>
      <body>
        <header class="top">
          <div>
            {principal ? (
              <>
                <a href={`/studies/${principal.study}`}>{studyTitle ?? principal.study}</a>
                {can(principal, "read-identified") && (
                  <>
                    {" · "}
                    <a href={`/studies/${principal.study}/queries`}>Queries</a>
                  </>
                )}
                {can(principal, "read-access-log") && (
                  <>
                    {" · "}
                    <a href={`/studies/${principal.study}/access-log`}>Access log</a>
                  </>
                )}
              </>
            ) : (
              <strong>EDC</strong>
            )}
          </div>
          {principal && (
            <div class="who">
              Signed in as <strong>{principal.user}</strong> ({grantWords(principal)}){" "}
              {can(principal, "manage-own-keys") && <a href="/account/keys">Your API keys</a>}{" "}
              {can(principal, "create-study") && <a href="/account/studies">Create a study</a>}{" "}
              <form method="post" action="/signout">
                <input type="hidden" name="_csrf" value={csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            </div>
          )}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

/** Renders a page in the layout for the signed-in user (see page.tsx). */
export type Page = (
  c: Context<AppEnv>,
  title: string,
  body: Child,
  extra?: { status?: number; scripts?: string[] },
) => Response | Promise<Response>;
