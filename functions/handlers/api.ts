import { handle } from "hono/aws-lambda";
import { createApp } from "../api/app.ts";
import { createStore } from "../store/store.ts";

/** API Gateway (HTTP API) → the Hono app. Created once per Lambda instance, outside the handler. */
export const handler = handle(createApp(createStore()));
