import type { Principal } from "../store/principal.ts";
import type { Store } from "../store/store.ts";

/** What every request handler can reach through `c.var`. */
export interface AppEnv {
  Variables: {
    store: Store;
    principal: Principal;
    /** How long a commit may take to become visible in the change feed (see store/exports.ts readFeed). */
    feedSettleMs: number;
    /** The session's CSRF token, on browser pages only. */
    csrf?: string;
    /** The browser session's id (its nonce), on browser pages only: a signature uses its re-authentication. */
    session?: string;
  };
}
