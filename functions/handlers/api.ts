import { createApp } from "../app.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { createStore } from "../store/store.ts";
import { apiOptions } from "./api-options.ts";
import { streamingHandler } from "./lambda-stream.ts";

/**
 * API Gateway (REST API, response streaming) → the Hono app. Created once per Lambda instance, outside the
 * handler, with no network call; every response streams (./lambda-stream.ts).
 */
export const handler = streamingHandler(
  createApp(createStore({ macKey: deployedMacKey() }), apiOptions(process.env)),
);
