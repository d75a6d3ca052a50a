import type { Store } from "../store/store.ts";
import type { Principal } from "../store/tokens.ts";

/** What every request handler can reach through `c.var`. */
export interface AppEnv {
  Variables: {
    store: Store;
    principal: Principal;
    /** The session's CSRF token, on browser pages only. */
    csrf?: string;
  };
}
