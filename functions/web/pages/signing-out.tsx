import { Layout } from "../layout.tsx";

/** The app's session has ended; the browser goes on to end the provider's too, or "Sign in" would let them straight back. */
export function SigningOut(props: { to: string }) {
  return (
    <Layout title="Signing out" refresh={props.to}>
      <h1>Signed out</h1>
      <p class="notice" role="status">
        You are signed out of the study. Your browser now goes on to sign you out of your study account.
      </p>
      <p>
        <a class="button" href={props.to}>
          Sign out of your study account
        </a>
      </p>
    </Layout>
  );
}
