import { RemovalPolicy } from "aws-cdk-lib";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { Key, KeySpec, KeyUsage } from "aws-cdk-lib/aws-kms";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { FUNCTION_ENV } from "../functions/store/function-env.ts";

/**
 * The only operations a function may perform with the audit key. No Decrypt,
 * no key administration: a function can seal and check a chain head, and
 * nothing it holds lets anyone re-seal history outside the engine's code path.
 */
export const AUDIT_MAC_ACTIONS = ["kms:GenerateMac", "kms:VerifyMac"] as const;

/**
 * HMAC key for the audit chain heads (issue 11 §5). It lives in KMS, outside
 * the table, so whoever can rewrite the table cannot forge a head's MAC.
 * Retained with the stack gone: without it the stored chains can no longer be
 * verified. HMAC keys have no automatic rotation in KMS (AwsSolutions-KMS5
 * applies to symmetric encryption keys only).
 */
export function auditMacKey(scope: Construct, stage: string): Key {
  return new Key(scope, "AuditMacKey", {
    description: `EDC ${stage}: MACs the heads of the tamper-evident audit chains`,
    keySpec: KeySpec.HMAC_256,
    keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/** Lets `fn` MAC and verify with the key, and tells it which key by ARN. */
export function grantAuditMac(key: Key, fn: LambdaFunction & IGrantable): void {
  key.grant(fn, ...AUDIT_MAC_ACTIONS);
  fn.addEnvironment(FUNCTION_ENV.auditMacKeyId, key.keyArn);
}
