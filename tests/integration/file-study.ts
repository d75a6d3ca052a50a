import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product } from "./harness.ts";

/**
 * The reference study with a file field and a signature field on its consent
 * form (a copy of forms/ in a temporary folder), for tests of files through
 * REDCap's `/api/`. `close` removes the folder.
 */
export async function startFileStudy(): Promise<{ product: Product; close: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "file-study-"));
  const forms = path.join(dir, "forms");
  await cp("forms", forms, { recursive: true });
  const file = path.join(forms, "instruments", "consent.json");
  const consent = JSON.parse(await readFile(file, "utf8"));
  consent.properties.consent_scan = {
    type: "object",
    title: "Signed consent form (scan)",
    "x-file": { mediaTypes: ["application/pdf", "image/*"], maxBytes: 100_000 },
  };
  consent.properties.consent_signature = {
    type: "object",
    title: "Participant's signature",
    "x-widget": "signature",
    "x-file": {},
  };
  await writeFile(file, JSON.stringify(consent));
  const product = new Product(await startDevEnvironment({ formsDir: forms }));
  return {
    product,
    close: async () => {
      await product.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A multipart body built byte for byte: a file part carries a Content-Type only when given, as some clients omit it. */
export function multipart(
  fields: Record<string, string>,
  file?: { name: string; filename: string; type?: string; bytes: Buffer },
): { body: Buffer; contentType: string } {
  const boundary = "----rcf-boundary-7d0c1a";
  const chunks: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) {
    const type = file.type ? `Content-Type: ${file.type}\r\n` : "";
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\n${type}\r\n`,
      ),
      file.bytes,
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
