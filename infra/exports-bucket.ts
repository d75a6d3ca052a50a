import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { logBucket } from "./log-bucket.ts";

/** How long a bulk export's files are kept: the job item keeps their sizes and SHA-256 hashes for good. */
export const EXPORT_FILE_DAYS = 7;

/**
 * The files of bulk export jobs (functions/store/s3-export-target.ts),
 * `<study>/<job>/<name>`: copies of subject data for a download, not records,
 * so they expire after EXPORT_FILE_DAYS, and uploads a dead worker left are
 * aborted after a day. Versioning is off: a re-run overwrites its own job's
 * keys, and a noncurrent version would keep a copy of subject data past the
 * expiry; the job item's SHA-256 tells a changed file from the one written.
 */
export function exportsBucket(scope: Construct): Bucket {
  const accessLogs = logBucket(scope, "ExportsAccessLogs", {
    of: "the exports bucket's server access logs",
    writer: "the logging service's",
  });
  return new Bucket(scope, "Exports", {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: false,
    removalPolicy: RemovalPolicy.RETAIN,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "exports/",
    lifecycleRules: [
      {
        id: "expire-export-files",
        expiration: Duration.days(EXPORT_FILE_DAYS),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
  });
}

/** The worker writes files (single PUTs and multipart uploads, which s3:PutObject covers) and aborts its own. */
export const EXPORT_WRITE_ACTIONS = ["s3:AbortMultipartUpload", "s3:PutObject"] as const;
/** The API function only presigns downloads: the URL carries its credentials, so it needs GetObject. */
export const EXPORT_READ_ACTIONS = ["s3:GetObject"] as const;

export function grantExports(bucket: Bucket, grantee: IGrantable, actions: readonly string[]): void {
  Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [bucket.arnForObjects("*")] });
  const arn = `<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as never)}.Arn>`;
  Validations.of(grantee.grantPrincipal as unknown as Construct).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${arn}/*]`,
    reason:
      "Export file keys are <study>/<job id>/<file>, made when a job starts; the wildcard spans the objects of " +
      "the exports bucket only, which holds nothing else.",
  });
}
