import { rm } from "node:fs/promises";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product, withStudyVariant } from "./harness.ts";

/**
 * The reference study's forms (a temporary copy) whose consent scan takes at
 * most `maxBytes` of PDF or image, with a second, signature field: small
 * limits keep the size refusals cheap to test.
 */
export function fileStudyForms(maxBytes: number): string {
  return withStudyVariant((edit) =>
    edit("consent", (properties) => {
      properties.consent_scan = {
        type: "object",
        title: "Signed consent form (scan)",
        "x-file": { mediaTypes: ["application/pdf", "image/*"], maxBytes },
      };
      properties.consent_signature = {
        type: "object",
        title: "Participant's signature",
        "x-widget": "signature",
        "x-file": {},
      };
    }),
  );
}

/** That study served, for tests of files through REDCap's `/api/`. `close` removes the folder. */
export async function startFileStudy(): Promise<{ product: Product; close: () => Promise<void> }> {
  const forms = fileStudyForms(100_000);
  const product = new Product(await startDevEnvironment({ formsDir: forms }));
  return {
    product,
    close: async () => {
      await product.close();
      await rm(forms, { recursive: true, force: true });
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
