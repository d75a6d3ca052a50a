import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { awslambdaGlobal, type RuntimeMode, serveInvocation } from "./lambda-runtime.ts";

/**
 * The simulated runtime's process (started by `startLambdaRuntime`): the
 * `awslambda` global first, as Lambda defines it before loading the function,
 * then the bundle, then one HTTP server standing for API Gateway. Usage:
 * `node --import tsx lambda-runtime-child.ts <index.mjs> <streaming|buffered> <stage> <domain>`.
 */
const [file, mode, stage, domainName] = process.argv.slice(2) as [string, RuntimeMode, string, string];
Object.assign(globalThis, { awslambda: awslambdaGlobal() });
const { handler } = (await import(pathToFileURL(file).href)) as {
  handler: Parameters<typeof serveInvocation>[0];
};
const server = createServer((req, res) => {
  serveInvocation(handler, req, res, { mode, stage, domainName }).catch((error) => {
    console.error("runtime harness:", error);
    res.destroy();
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`@@lambda-runtime-port=${(server.address() as AddressInfo).port}@@\n`);
});
