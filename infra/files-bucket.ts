import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { logBucket } from "./log-bucket.ts";

/**
 * The bytes of file and signature fields (functions/store/s3-file-objects.ts):
 * `objects/<sha256>`, written once and kept for the life of the study like
 * the table; `staging/<upload id>`, where browsers PUT large files through
 * presigned URLs until the API has checked them, expired after a day.
 */
export function filesBucket(scope: Construct, apiOrigin: string): Bucket {
  const accessLogs = logBucket(scope, "FilesAccessLogs", {
    of: "the files bucket's server access logs",
    writer: "the logging service's",
  });

  return new Bucket(scope, "Files", {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    // An object overwritten or deleted by mistake (outside the engine, which does neither) can be restored.
    versioned: true,
    // Clinical data outlives any stack, like the table.
    removalPolicy: RemovalPolicy.RETAIN,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "files/",
    lifecycleRules: [
      {
        id: "expire-staging",
        prefix: "staging/",
        expiration: Duration.days(1),
        noncurrentVersionExpiration: Duration.days(1),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    // The pages PUT large files and follow download redirects from the API's own origin.
    cors: [
      {
        allowedMethods: [HttpMethods.PUT, HttpMethods.GET],
        allowedOrigins: [apiOrigin],
        allowedHeaders: ["content-type"],
        maxAge: 3600,
      },
    ],
  });
}

export const FILE_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject"] as const;
export const FILE_STAGING_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"] as const;

/**
 * What the API function does with the bucket and no more: reads and writes
 * objects (never deletes them), reads, writes and deletes staged uploads, and
 * lists the bucket so that a missing key is a 404 rather than a 403.
 */
export function grantFiles(bucket: Bucket, grantee: IGrantable): void {
  Grant.addToPrincipal({
    grantee,
    actions: [...FILE_OBJECT_ACTIONS],
    resourceArns: [bucket.arnForObjects("objects/*")],
  });
  Grant.addToPrincipal({
    grantee,
    actions: [...FILE_STAGING_ACTIONS],
    resourceArns: [bucket.arnForObjects("staging/*")],
  });
  Grant.addToPrincipal({ grantee, actions: ["s3:ListBucket"], resourceArns: [bucket.bucketArn] });
  const arn = `<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as never)}.Arn>`;
  const role = grantee.grantPrincipal;
  for (const prefix of ["objects", "staging"])
    Validations.of(role as unknown as Construct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn}/${prefix}/*]`,
      reason:
        `Object keys under ${prefix}/ are content hashes or random upload ids, not known when the policy is ` +
        "written; the wildcard spans that one prefix of the files bucket only.",
    });
}
