export function SignIn(props: { error?: string; notice?: string; next?: string; withProvider?: boolean }) {
  return (
    <>
      <h1>Sign in</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      {props.withProvider && (
        // A link, not a form: the page's CSP `form-action 'self'` would stop the redirect to the provider.
        <p class="card">
          Sign in with your study account:{" "}
          <a
            class="button"
            href={`/auth/login${props.next ? `?next=${encodeURIComponent(props.next)}` : ""}`}
          >
            Sign in
          </a>
        </p>
      )}
      {props.withProvider && <h2>Or with an API key</h2>}
      <form method="post" action="/signin" class="card">
        {props.error && (
          <p class="notice bad" role="alert">
            {props.error}
          </p>
        )}
        <input type="hidden" name="next" value={props.next ?? ""} />
        <div class="field">
          <label for="f-token">Access token</label>
          <p id="h-token" class="help">
            An API key: one you made under <em>Your API keys</em>, or a service key your study administrator
            gave you. Locally, <code>npm start</code> prints dev keys and writes them to{" "}
            <code>.data/dev-tokens.json</code>.
          </p>
          <input
            id="f-token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            aria-describedby="h-token"
            class="wide"
          />
        </div>
        <button type="submit">Sign in</button>
      </form>
    </>
  );
}
