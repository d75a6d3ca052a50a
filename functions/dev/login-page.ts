const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/**
 * Refused, both fields are marked invalid and described by the error, and the
 * password (emptied) takes the focus: a screen reader reads why on arrival.
 */
function fieldState(refused: boolean, focus: boolean): string {
  return `${refused ? ` aria-invalid="true" aria-describedby="refused"` : ""}${focus ? " autofocus" : ""}`;
}

/** The local provider's sign-in form: posts back to its own interaction, so no other URL has to be trusted. */
export function loginPage(options: { action: string; username?: string; refused?: boolean }): string {
  const refused = options.refused
    ? `<p role="alert" id="refused">Wrong username or password. Try again.</p>`
    : "";
  return page(
    "Sign in",
    `<h1>Sign in</h1>
<p>Local OpenID provider for development. The people and their passwords are in <code>dev-people.json</code> in the data folder.</p>
${refused}
<form method="post" action="${escapeHtml(options.action)}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required${fieldState(refused !== "", refused === "")} value="${escapeHtml(options.username ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${fieldState(refused !== "", refused !== "")}>
<button type="submit">Sign in</button>
</form>`,
  );
}

/**
 * The provider's "end your session?" question at sign-out. `form` is the
 * provider's own (hidden) form, carrying its anti-forgery token; the buttons
 * submit it, and only "yes" names `logout`.
 */
export function logoutPage(form: string): string {
  return page(
    "Sign out",
    `<h1>Sign out of the local OpenID provider?</h1>
<p>You are signed out of the study. Sign out here too, or the next sign-in will not ask for your password.</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

function page(title: string, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — local OpenID provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.25rem 0 .75rem}input,button{padding:.5rem;font-size:1rem}[role=alert]{color:#a00000}</style>
</head>
<body>
<main>
${main}
</main>
</body>
</html>
`;
}
