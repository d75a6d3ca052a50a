import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { BlockPublicAccess, Bucket, BucketEncryption, type ObjectOwnership } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

/**
 * A bucket that receives logs (a bucket's server access logs, the distribution's standard logs): private,
 * encrypted, TLS only, retained with the stack's other logs, and not itself access-logged.
 */
export function logBucket(
  scope: Construct,
  id: string,
  props: { of: string; writer: string; expiration?: Duration; objectOwnership?: ObjectOwnership },
): Bucket {
  const bucket = new Bucket(scope, id, {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    ...(props.objectOwnership ? { objectOwnership: props.objectOwnership } : {}),
    removalPolicy: RemovalPolicy.RETAIN,
    // As long as the function and API logs (LOG_RETENTION in stack.ts): who read or downloaded what.
    lifecycleRules: [{ id: "expire-access-logs", expiration: props.expiration ?? Duration.days(365) }],
  });
  Validations.of(bucket.node.defaultChild as Construct).acknowledge({
    id: "AwsSolutions-S1",
    reason:
      `This bucket receives ${props.of}; logging its own access into itself would log each delivery, and ` +
      `into another bucket would only move the question. Its writes are ${props.writer}.`,
  });
  return bucket;
}
