/**
 * Names of the environment variables the stack sets on its functions. One
 * object, imported by the stack and by the handlers, so the two cannot
 * drift apart. No imports: any layer can read it without pulling in CDK.
 */
export const FUNCTION_ENV = {
  /** Secrets Manager ARN of the key that signs browser session cookies. */
  sessionSecretArn: "SESSION_SECRET_ARN",
  /** OpenID Connect issuer the engine trusts (Cognito pool or the institution's IdP). */
  oidcIssuer: "OIDC_ISSUER",
  /** The engine's client id at that issuer. */
  oidcClientId: "OIDC_CLIENT_ID",
  /** Secrets Manager ARN of the client secret; set only for a confidential client at an external IdP. */
  oidcClientSecretArn: "OIDC_CLIENT_SECRET_ARN",
  /** KMS key (ARN) that MACs the audit chain heads; the table never holds it. */
  auditMacKeyId: "AUDIT_MAC_KEY_ID",
  /** S3 bucket of uploaded files (objects/<sha256>, staging/<upload id>); without it uploads are refused. */
  filesBucket: "FILES_BUCKET",
  /** S3 bucket of bulk export files (<study>/<job>/<name>, expired after 7 days); without it export jobs are refused. */
  exportsBucket: "EXPORTS_BUCKET",
  /**
   * Secrets Manager ARN of the value CloudFront sends in ORIGIN_VERIFY_HEADER; with it set, the API
   * answers only requests that carry it (the execute-api URL reached directly is refused).
   */
  originVerifySecretArn: "ORIGIN_VERIFY_SECRET_ARN",
} as const;

/**
 * The header CloudFront adds to every request it forwards to the REST API, holding the origin secret's
 * value (functions/http/origin-verify.ts): shared by the stack and the API handler.
 */
export const ORIGIN_VERIFY_HEADER = "x-origin-verify";
