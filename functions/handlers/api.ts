import { handle } from "hono/aws-lambda";
import { createApp } from "../app.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { createStore } from "../store/store.ts";
import { apiOptions } from "./api-options.ts";

/** API Gateway (HTTP API) → the Hono app. Created once per Lambda instance, outside the handler, with no network call. */
export const handler = handle(createApp(createStore({ macKey: deployedMacKey() }), apiOptions(process.env)));
