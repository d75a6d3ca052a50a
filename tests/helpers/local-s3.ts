import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { s3Client } from "../../functions/store/s3-file-objects.ts";

/**
 * A real S3 server on a free port (s3rver, path-style, files in a temporary
 * folder) with one bucket, and the engine's own client configured for it.
 * s3rver does not verify V4 signatures: what a presigned URL signs is checked
 * in the tests by reading the URL, and S3's refusal of unsigned changes is AWS's.
 */
export async function startLocalS3(bucket = "edc-files") {
  const dir = await mkdtemp(path.join(os.tmpdir(), "local-s3-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const client = s3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  return {
    client,
    bucket,
    /** Every key under `prefix`. */
    keys: (prefix: string) => listKeys(client, bucket, prefix),
    close: async () => {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key as string).sort();
}
