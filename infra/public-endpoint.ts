import { Aws, Duration, Validations } from "aws-cdk-lib";
import type { IRestApi } from "aws-cdk-lib/aws-apigateway";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import {
  AllowedMethods,
  CachedMethods,
  CachePolicy,
  type CfnDistribution,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { HttpOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import { type Bucket, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import type { Construct, Node } from "constructs";
import { logBucket } from "./log-bucket.ts";

/**
 * The REST API's one stage. Literal, not the Stage's `Ref`: the distribution's origin is built from the
 * RestApi resource and this name only, so it does not depend on the deployment, whose methods depend on
 * the API function, whose environment depends on the user pool client, whose callback URLs are the
 * distribution's (a CloudFormation cycle otherwise).
 */
export const API_STAGE_NAME = "edc";

/** The header the API handler builds the request URL from (the public host, not the execute-api one). */
export const FORWARDED_HOST_HEADER = "x-forwarded-host";

/**
 * The header the access log takes the viewer's IP from: behind CloudFront, API Gateway's
 * `identity.sourceIp` is a CloudFront edge address, not the viewer's.
 */
export const VIEWER_ADDRESS_HEADER = "x-viewer-address";

/**
 * CloudFront Function (viewer request, JS runtime 2.0): the origin request policy forwards every viewer
 * header except Host (API Gateway needs its own Host to route), so the viewer's Host travels as
 * x-forwarded-host, and the viewer's IP (which only CloudFront sees) as x-viewer-address. Whatever the
 * viewer sent in either header is overwritten or removed, never trusted.
 */
export const FORWARDED_HOST_FUNCTION_CODE = `function handler(event) {
  var request = event.request;
  var host = request.headers.host;
  if (host) request.headers["${FORWARDED_HOST_HEADER}"] = { value: host.value };
  else delete request.headers["${FORWARDED_HOST_HEADER}"];
  if (event.viewer && event.viewer.ip) request.headers["${VIEWER_ADDRESS_HEADER}"] = { value: event.viewer.ip };
  else delete request.headers["${VIEWER_ADDRESS_HEADER}"];
  return request;
}
`;

/**
 * How long CloudFront waits for the origin's first byte and then between bytes. Every streamed writer
 * emits data at least every few seconds (a page of rows), and a request that is not streamed answered
 * within 30 s behind the HTTP API before; 60 s is the most the default CloudFront quota allows for a
 * custom origin in every account, and below API Gateway's own 5 min streaming idle timeout.
 */
export const ORIGIN_READ_TIMEOUT = Duration.seconds(60);
/** Idle connections to API Gateway are kept this long between requests, saving a TLS handshake per request. */
export const ORIGIN_KEEPALIVE_TIMEOUT = Duration.seconds(60);

/** A custom domain for the distribution: its ACM certificate must be in us-east-1 (CloudFront's rule). */
export interface CustomDomain {
  readonly domainName: string;
  readonly certificateArn: string;
}

/** `-c domainName=… -c certificateArn=…`: both or neither. */
export function customDomainFromContext(node: Node): { customDomain?: CustomDomain } {
  const domainName = node.tryGetContext("domainName") as string | undefined;
  const certificateArn = node.tryGetContext("certificateArn") as string | undefined;
  if (!domainName && !certificateArn) return {};
  if (!domainName || !certificateArn)
    throw new Error("A custom domain needs both -c domainName=… and -c certificateArn=… (ACM, us-east-1).");
  if (!/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn))
    throw new Error(
      `certificateArn must be an ACM certificate in us-east-1 (CloudFront's rule): ${certificateArn}`,
    );
  return { customDomain: { domainName, certificateArn } };
}

/** `-c priceClass=PriceClass_All` (or PriceClass_200, PriceClass_100). */
export function priceClassFromContext(node: Node): { priceClass?: PriceClass } {
  const value = node.tryGetContext("priceClass") as string | undefined;
  if (value === undefined) return {};
  const known = Object.values(PriceClass) as string[];
  if (!known.includes(value)) throw new Error(`priceClass must be one of ${known.join(", ")}: ${value}`);
  return { priceClass: value as PriceClass };
}

/**
 * `-c originVerifyVersion=<VersionId>`: CloudFront sends the origin secret's `current` of that version.
 * CloudFormation resolves a dynamic reference only when the template changes, so a rotation names the new
 * version to reach the distribution (docs/architecture.md, "Serving in AWS: streamed responses").
 */
export function originVerifyVersionFromContext(node: Node): { versionId?: string } {
  const value = node.tryGetContext("originVerifyVersion") as string | undefined;
  if (value === undefined) return {};
  if (!/^[A-Za-z0-9-]{32,64}$/.test(value))
    throw new Error(
      `originVerifyVersion must be a Secrets Manager VersionId (32 to 64 characters): ${value}`,
    );
  return { versionId: value };
}

/** The header CloudFront adds to every origin request, its value a dynamic reference to the origin secret. */
export interface OriginVerifyHeader {
  readonly name: string;
  /** `{{resolve:secretsmanager:…}}`: resolved by CloudFormation, never in the template as text. */
  readonly value: string;
}

export interface PublicEndpointProps {
  readonly restApi: IRestApi;
  readonly originVerify: OriginVerifyHeader;
  readonly stage: string;
  /** Default PriceClass.PRICE_CLASS_100 (North America and Europe edges). */
  readonly priceClass?: PriceClass;
  readonly customDomain?: CustomDomain;
  /** How long a standard log object is kept: as long as the other operational logs. */
  readonly logRetention: Duration;
}

export interface PublicEndpoint {
  readonly distribution: Distribution;
  /** `https://<host>`, no trailing slash: the one URL people and clients use. */
  readonly publicUrl: string;
  readonly logBucket: Bucket;
}

/**
 * The one public URL: a CloudFront distribution in front of the regional REST API. REST API URLs carry
 * the stage in their path and every page link is root-absolute; the origin path `/<stage>` gives the
 * pages a clean root. Nothing is cached but the content-hashed browser scripts.
 */
export function publicEndpoint(scope: Construct, props: PublicEndpointProps): PublicEndpoint {
  const origin = new HttpOrigin(`${props.restApi.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`, {
    originPath: `/${API_STAGE_NAME}`,
    protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
    originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    readTimeout: ORIGIN_READ_TIMEOUT,
    keepaliveTimeout: ORIGIN_KEEPALIVE_TIMEOUT,
    // Only the distribution knows it: the API function refuses any request without it (the execute-api
    // URL reached directly), so x-forwarded-host and x-viewer-address are trusted from CloudFront only.
    // A viewer's own header of that name is replaced by CloudFront's.
    customHeaders: { [props.originVerify.name]: props.originVerify.value },
  });
  const forwardHost = new EdgeFunction(scope, "ForwardedHostFunction", {
    comment: `EDC ${props.stage}: the viewer's Host as ${FORWARDED_HOST_HEADER}`,
    code: FunctionCode.fromInline(FORWARDED_HOST_FUNCTION_CODE),
    runtime: FunctionRuntime.JS_2_0,
  });

  // CloudFront standard logs are delivered through an object ACL: the bucket must accept ACLs.
  const edgeLogs = logBucket(scope, "EdgeLogs", {
    of: "the distribution's standard logs",
    writer: "CloudFront's",
    expiration: props.logRetention,
    objectOwnership: ObjectOwnership.OBJECT_WRITER,
  });

  const domain = props.customDomain;
  const distribution = new Distribution(scope, "PublicDistribution", {
    comment: `EDC ${props.stage}: the public URL of the API and pages`,
    priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
    ...(domain
      ? {
          domainNames: [domain.domainName],
          certificate: Certificate.fromCertificateArn(scope, "PublicCertificate", domain.certificateArn),
          minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
        }
      : {}),
    defaultBehavior: {
      origin,
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      // Every answer is per person (sessions, sites, de-identification): nothing is cached at the edge.
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      functionAssociations: [{ function: forwardHost, eventType: FunctionEventType.VIEWER_REQUEST }],
    },
    additionalBehaviors: {
      // Content-hashed and immutable (functions/handlers/assets.ts): the same bytes for everyone.
      "/assets/*": {
        origin,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: CachedMethods.CACHE_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      },
    },
    enableLogging: true,
    logBucket: edgeLogs,
    logFilePrefix: "cloudfront/",
    // Session cookies stay out of the log (the default, said here because it matters).
    logIncludesCookies: false,
  });
  const cfn = distribution.node.defaultChild as CfnDistribution;
  Validations.of(cfn).acknowledge({
    id: "AwsSolutions-CFR1",
    reason:
      "No geo restriction by default: a clinical study's sites, monitors and sponsors may be in any country, " +
      "and which countries may reach the study is decided per deployment and per protocol, not by the engine.",
  });
  Validations.of(cfn).acknowledge({
    id: "AwsSolutions-CFR2",
    reason:
      "No WAF, as before the distribution (the HTTP API had none): every request is authenticated by the " +
      "application (session or bearer token), throttled on the API Gateway stage, and bad input is a 4xx. " +
      "A deployment that wants managed rules attaches a web ACL; the posture of the engine is unchanged.",
  });
  if (!domain)
    Validations.of(cfn).acknowledge({
      id: "AwsSolutions-CFR4",
      reason:
        "Without a custom domain the distribution uses CloudFront's default *.cloudfront.net certificate, " +
        "whose security policy cannot be pinned to TLSv1.2. Deploy with a custom domain (customDomain: name " +
        "and an ACM certificate in us-east-1) to get TLSv1.2_2021 as the minimum.",
    });

  return {
    distribution,
    publicUrl: domain ? `https://${domain.domainName}` : `https://${distribution.distributionDomainName}`,
    logBucket: edgeLogs,
  };
}
