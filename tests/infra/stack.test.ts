import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { PriceClass } from "aws-cdk-lib/aws-cloudfront";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { SCHEDULE_TICK } from "../../functions/handlers/schedule-tick.ts";
import { FUNCTION_ENV, ORIGIN_VERIFY_HEADER } from "../../functions/store/function-env.ts";
import { TABLE } from "../../functions/store/table-shape.ts";
import { AUDIT_MAC_ACTIONS } from "../../infra/audit-mac-key.ts";
import { EXPORT_READ_ACTIONS, EXPORT_WRITE_ACTIONS } from "../../infra/exports-bucket.ts";
import { FILE_OBJECT_ACTIONS, FILE_STAGING_ACTIONS } from "../../infra/files-bucket.ts";
import { hashDirectory, studyFolders } from "../../infra/forms-hash.ts";
import { addNagChecks } from "../../infra/nag.ts";
import {
  API_STAGE_NAME,
  customDomainFromContext,
  FORWARDED_HOST_FUNCTION_CODE,
  FORWARDED_HOST_HEADER,
  priceClassFromContext,
  VIEWER_ADDRESS_HEADER,
} from "../../infra/public-endpoint.ts";
import { externalOidcFromContext, hostedDomainPrefix } from "../../infra/sign-in.ts";
import {
  API_FUNCTION_TIMEOUT,
  EdcStack,
  type EdcStackProps,
  IMPORT_STREAM_ACTIONS,
  REPO_ROOT,
  SOURCE_MAPS_CONTEXT,
  sourceMapsWanted,
  TABLE_DATA_ACTIONS,
} from "../../infra/stack.ts";

/** The feature flags `cdk synth` runs with, so the tests synthesize the same template. */
const CDK_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  }
).context;

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh app + stack. Without `bundle`, asset bundling is skipped (fast); cdk-nag only with `nag`. */
function makeApp(
  options: {
    bundle?: boolean;
    nag?: boolean;
    formsDir?: string;
    props?: Partial<EdcStackProps>;
    context?: Record<string, unknown>;
  } = {},
) {
  const app = new App({
    outdir: tempDir("edc-cdk-out-"),
    context: {
      ...CDK_CONTEXT,
      ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
      ...options.context,
    },
  });
  const stack = new EdcStack(app, "EdcTest", { stage: "test", formsDir: options.formsDir, ...options.props });
  if (options.nag) addNagChecks(app);
  return { app, stack };
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
function resourcesOfType(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}
/** The Properties of the one resource of `type` in the template. */
function onlyProperties<T>(template: Template, type: string): T {
  const all = Object.values(resourcesOfType(template, type));
  expect(all, type).toHaveLength(1);
  return all[0]?.Properties as T;
}
function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0] as string;
}

describe("EdcStack template (unbundled synth)", () => {
  const { stack } = makeApp();
  const template = Template.fromStack(stack);
  const tableId = Object.keys(resourcesOfType(template, "AWS::DynamoDB::GlobalTable"))[0] as string;
  const apiFnId = logicalIdOf(template, "AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp("^EDC API"),
  });
  const publishFnId = logicalIdOf(template, "AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp("^EDC forms publish"),
  });
  const workerFnId = logicalIdOf(template, "AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp("^EDC record import jobs"),
  });
  const roleOf = (fnId: string) =>
    (template.toJSON().Resources[fnId] as { Properties: { Role: { "Fn::GetAtt": [string] } } }).Properties
      .Role["Fn::GetAtt"][0];

  it("declares the table from table-shape.ts: on-demand, keys, GSIs with ALL projection", () => {
    template.resourceCountIs("AWS::DynamoDB::GlobalTable", 1);
    template.resourceCountIs("AWS::DynamoDB::Table", 0);
    const indexes = Object.values(TABLE.indexes);
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
      ],
      AttributeDefinitions: Match.arrayWith(
        [TABLE.partitionKey, TABLE.sortKey, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])].map(
          (name) => ({ AttributeName: name, AttributeType: "S" }),
        ),
      ),
      GlobalSecondaryIndexes: indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: "HASH" },
          { AttributeName: i.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      })),
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
    });
  });

  it("protects the table: PITR and deletion protection (on the TableV2 replica), Retain on delete/replace", () => {
    template.hasResource("AWS::DynamoDB::GlobalTable", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        Replicas: [
          Match.objectLike({
            Region: { Ref: "AWS::Region" },
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
  });

  it("runs the API function on Node 22 / arm64, ESM bundle, TABLE_NAME wired to the table", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 1024,
      // A large export streams for minutes: the 15 min API Gateway streams at most.
      Timeout: 900,
      Environment: {
        // Source maps only when asked for (see "source maps" below): they cost every cold start.
        Variables: { TABLE_NAME: { Ref: tableId }, NODE_OPTIONS: Match.absent() },
      },
      LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.anyValue() } }),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC forms publish"),
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Environment: { Variables: Match.objectLike({ TABLE_NAME: { Ref: tableId } }) },
    });
  });

  it("ships no source maps and no --enable-source-maps unless the sourceMaps context asks for them", () => {
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function"))) {
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(variables?.NODE_OPTIONS, String(fn.Properties?.Description)).toBeUndefined();
    }
    for (const value of [true, "true"]) {
      const withMaps = Template.fromStack(makeApp({ context: { [SOURCE_MAPS_CONTEXT]: value } }).stack);
      for (const description of ["^EDC API", "^EDC forms publish", "^EDC record import jobs"])
        withMaps.hasResourceProperties("AWS::Lambda::Function", {
          Description: Match.stringLikeRegexp(description),
          Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) },
        });
    }
    expect(sourceMapsWanted("false")).toBe(false);
    expect(sourceMapsWanted(undefined)).toBe(false);
  });

  it("gives the API function a generated session secret by ARN, readable by it alone", () => {
    const secrets = template.findResources("AWS::SecretsManager::Secret");
    expect(Object.keys(secrets)).toHaveLength(2);
    const secretId = logicalIdOf(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("signs browser session cookies"),
    });
    expect(secrets[secretId]?.Properties?.GenerateSecretString).toBeDefined();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Environment: { Variables: Match.objectLike({ SESSION_SECRET_ARN: { Ref: secretId } }) },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["secretsmanager:GetSecretValue"]),
            // One statement for the API function's two secrets (this one and the origin secret).
            Resource: Match.arrayWith([{ Ref: secretId }]),
          }),
        ]),
      },
    });
  });

  it("grants the functions item read/write on the table and its named indexes, without wildcards", () => {
    const tableArn = { "Fn::GetAtt": [tableId, "Arn"] };
    const statement = {
      Effect: "Allow",
      Action: TABLE_DATA_ACTIONS,
      Resource: [
        tableArn,
        ...Object.values(TABLE.indexes).map((i) => ({ "Fn::Join": ["", [tableArn, `/index/${i.name}`]] })),
      ],
    };
    for (const fnId of [apiFnId, publishFnId, workerFnId]) {
      template.hasResourceProperties("AWS::IAM::Policy", {
        Roles: [{ Ref: roleOf(fnId) }],
        PolicyDocument: { Statement: Match.arrayWith([statement]) },
      });
    }
    // No function role carries an AWS managed policy: each writes only to its own log group.
    for (const role of Object.values(resourcesOfType(template, "AWS::IAM::Role"))) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("keeps uploaded files in a private, encrypted, versioned, retained, access-logged bucket; staging/ expires after a day", () => {
    const buckets = resourcesOfType(template, "AWS::S3::Bucket");
    const filesId = logicalIdOf(template, "AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
    });
    const filesProps = buckets[filesId]?.Properties as
      | { LoggingConfiguration: { DestinationBucketName: { Ref: string } } }
      | undefined;
    const logsId = filesProps?.LoggingConfiguration.DestinationBucketName.Ref as string;
    expect(Object.keys(buckets)).toHaveLength(5); // files, exports, each one's access logs, the distribution's logs
    for (const id of [filesId, logsId]) {
      expect(buckets[id]).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
      expect(buckets[id]?.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
      });
      // enforceSSL: every request over plain HTTP is denied by the bucket policy.
      template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
    expect(buckets[filesId]?.Properties).toMatchObject({
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: "files/" },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: "expire-staging",
            Prefix: "staging/",
            Status: "Enabled",
            ExpirationInDays: 1,
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
      CorsConfiguration: {
        CorsRules: [
          {
            AllowedMethods: ["PUT", "GET"],
            AllowedHeaders: ["content-type"],
            // The pages' origin: the distribution's public URL.
            AllowedOrigins: [
              {
                "Fn::Join": [
                  "",
                  [
                    "https://",
                    {
                      "Fn::GetAtt": [
                        Object.keys(resourcesOfType(template, "AWS::CloudFront::Distribution"))[0],
                        "DomainName",
                      ],
                    },
                  ],
                ],
              },
            ],
          },
        ],
      },
    });
  });

  it("gives the API function FILES_BUCKET and only the object rights the store uses; no other function touches files", () => {
    const filesId = logicalIdOf(template, "AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
    });
    const bucketArn = { "Fn::GetAtt": [filesId, "Arn"] };
    const under = (prefix: string) => ({ "Fn::Join": ["", [bucketArn, `/${prefix}/*`]] });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Environment: { Variables: Match.objectLike({ [FUNCTION_ENV.filesBucket]: { Ref: filesId } }) },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleOf(apiFnId) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: "Allow", Action: [...FILE_OBJECT_ACTIONS], Resource: under("objects") },
          { Effect: "Allow", Action: [...FILE_STAGING_ACTIONS], Resource: under("staging") },
          { Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
        ]),
      },
    });
    // Objects are never deleted by the engine: no s3:DeleteObject outside staging/, no s3:* anywhere.
    const statements = Object.values(resourcesOfType(template, "AWS::IAM::Policy")).flatMap(
      (p) =>
        (p.Properties?.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] } | undefined)
          ?.Statement ?? [],
    );
    const s3Statements = statements.filter((st) => JSON.stringify(st.Action).includes('"s3:'));
    expect(s3Statements).toHaveLength(5); // 3 on the files bucket, 2 on the exports bucket
    for (const st of s3Statements) {
      expect(JSON.stringify(st.Action)).not.toContain("s3:*");
      if (JSON.stringify(st.Action).includes("s3:DeleteObject"))
        expect(st.Resource).toEqual(under("staging"));
    }
    for (const fnId of [publishFnId, workerFnId])
      expect(
        JSON.stringify(
          (template.toJSON().Resources[fnId] as { Properties: { Environment?: unknown } }).Properties
            .Environment,
        ),
      ).not.toContain(FUNCTION_ENV.filesBucket);
  });

  it("keeps every log group one year and retains it", () => {
    const groups = resourcesOfType(template, "AWS::Logs::LogGroup");
    expect(Object.keys(groups)).toHaveLength(7); // API, access log, publish, provider framework, import and export workers, assets
    for (const group of Object.values(groups) as (Resource & { DeletionPolicy?: string })[]) {
      expect(group.Properties?.RetentionInDays).toBe(365);
      expect(group.DeletionPolicy).toBe("Retain");
    }
    // Every function logs to an explicit group (no implicit /aws/lambda/<name> group without retention).
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function"))) {
      expect(fn.Properties?.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.any(String) } });
    }
  });

  it("routes every path to the API function through a regional REST API whose Lambda proxy integration streams", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 0);
    template.resourceCountIs("AWS::ApiGateway::RestApi", 1);
    template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      Name: "EdcTest-api",
      EndpointConfiguration: { Types: ["REGIONAL"] },
      // Uploads and gzip bodies pass through as bytes (base64 in the event), never re-encoded as text.
      BinaryMediaTypes: ["*/*"],
    });
    const streamingUri = {
      "Fn::Join": [
        "",
        Match.arrayWith([
          ":lambda:path/2021-11-15/functions/",
          { "Fn::GetAtt": [apiFnId, "Arn"] },
          "/response-streaming-invocations",
        ]),
      ],
    };
    const streamed = Object.values(
      template.findResources("AWS::ApiGateway::Method", {
        Properties: { Integration: Match.objectLike({ Uri: streamingUri }) },
      }),
    ) as Resource[];
    // The root and {proxy+}, any method: every page and API path.
    expect(streamed.map((m) => m.Properties?.HttpMethod)).toEqual(["ANY", "ANY"]);
    for (const method of streamed)
      expect(method.Properties?.Integration).toMatchObject({
        Type: "AWS_PROXY",
        IntegrationHttpMethod: "POST",
        ResponseTransferMode: "STREAM",
        TimeoutInMillis: API_FUNCTION_TIMEOUT.toMilliseconds(),
      });
    template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    // The browser scripts have their own small function on the same API (same origin for the CSP), buffered.
    const assetsFnId = logicalIdOf(template, "AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC browser scripts"),
    });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "GET",
      Integration: Match.objectLike({
        Type: "AWS_PROXY",
        ResponseTransferMode: Match.absent(),
        Uri: {
          "Fn::Join": [
            "",
            Match.arrayWith([
              ":lambda:path/2015-03-31/functions/",
              { "Fn::GetAtt": [assetsFnId, "Arn"] },
              "/invocations",
            ]),
          ],
        },
      }),
    });
    template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "assets" });
    template.resourceCountIs("AWS::ApiGateway::Method", 3);
  });

  it("throttles and access-logs the REST API's one stage, without headers, query strings or bodies", () => {
    template.resourceCountIs("AWS::ApiGateway::Stage", 1);
    const stageProps = onlyProperties<{
      StageName: string;
      MethodSettings: Record<string, unknown>[];
      AccessLogSetting: { DestinationArn: unknown; Format: string };
    }>(template, "AWS::ApiGateway::Stage");
    expect(stageProps.StageName).toBe(API_STAGE_NAME);
    expect(stageProps.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: "*",
        ResourcePath: "/*",
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
        DataTraceEnabled: false,
      }),
    ]);
    expect(JSON.stringify(stageProps.AccessLogSetting.DestinationArn)).toMatch(/"ApiAccessLogs/);
    const format = JSON.parse(stageProps.AccessLogSetting.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: "$context.requestId",
      method: "$context.httpMethod",
      path: "$context.path",
      status: "$context.status",
    });
    // No header, query string, body or request override in the access log: tokens and PHI stay out.
    expect(Object.values(format).join(" ")).not.toMatch(
      /header|querystring|body|authorization|requestOverride|responseOverride/i,
    );
    const limited = Template.fromStack(makeApp({ props: { apiRateLimit: 7, apiBurstLimit: 9 } }).stack);
    limited.hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 })],
    });
  });

  it("serves one public URL through CloudFront: origin path /<stage>, nothing cached, Host forwarded as x-forwarded-host", () => {
    template.resourceCountIs("AWS::CloudFront::Distribution", 1);
    const [distId] = Object.keys(resourcesOfType(template, "AWS::CloudFront::Distribution"));
    const config = onlyProperties<{
      DistributionConfig: {
        Origins: { DomainName: unknown; OriginPath: string; CustomOriginConfig: Record<string, unknown> }[];
        DefaultCacheBehavior: Record<string, unknown> & { FunctionAssociations: Record<string, unknown>[] };
        CacheBehaviors: Record<string, unknown>[];
        PriceClass: string;
        Logging: Record<string, unknown>;
        ViewerCertificate?: unknown;
      };
    }>(template, "AWS::CloudFront::Distribution").DistributionConfig;
    const restApiId = Object.keys(resourcesOfType(template, "AWS::ApiGateway::RestApi"))[0];
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0]).toMatchObject({
      // The RestApi resource and the literal stage only: no dependency on the deployment (no cycle).
      DomainName: {
        "Fn::Join": [
          "",
          [{ Ref: restApiId }, ".execute-api.", { Ref: "AWS::Region" }, ".", { Ref: "AWS::URLSuffix" }],
        ],
      },
      OriginPath: `/${API_STAGE_NAME}`,
      CustomOriginConfig: {
        OriginProtocolPolicy: "https-only",
        OriginSSLProtocols: ["TLSv1.2"],
        OriginReadTimeout: 60,
        OriginKeepaliveTimeout: 60,
      },
    });
    const functionId = Object.keys(resourcesOfType(template, "AWS::CloudFront::Function"))[0];
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: "redirect-to-https",
      AllowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
      CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", // Managed-CachingDisabled
      OriginRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac", // Managed-AllViewerExceptHostHeader
      FunctionAssociations: [
        { EventType: "viewer-request", FunctionARN: { "Fn::GetAtt": [functionId, "FunctionARN"] } },
      ],
    });
    // Only the content-hashed scripts are cached, and only GET/HEAD reach them.
    expect(config.CacheBehaviors).toEqual([
      expect.objectContaining({
        PathPattern: "/assets/*",
        AllowedMethods: ["GET", "HEAD"],
        CachePolicyId: "658327ea-f89d-4fab-a63d-7e88639e58f6", // Managed-CachingOptimized
        ViewerProtocolPolicy: "redirect-to-https",
      }),
    ]);
    expect(config.PriceClass).toBe("PriceClass_100");
    // Standard logs to their own bucket, without cookies (sessions).
    const edgeLogsId = Object.keys(resourcesOfType(template, "AWS::S3::Bucket")).find((id) =>
      id.startsWith("EdgeLogs"),
    );
    expect(config.Logging).toEqual({
      Bucket: { "Fn::GetAtt": [edgeLogsId, "RegionalDomainName"] },
      IncludeCookies: false,
      Prefix: "cloudfront/",
    });
    expect(resourcesOfType(template, "AWS::S3::Bucket")[edgeLogsId as string]).toMatchObject({
      DeletionPolicy: "Retain",
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
        LifecycleConfiguration: {
          Rules: [{ Id: "expire-access-logs", Status: "Enabled", ExpirationInDays: 365 }],
        },
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: edgeLogsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    // The deployed function is the code tested below.
    template.hasResourceProperties("AWS::CloudFront::Function", {
      FunctionCode: FORWARDED_HOST_FUNCTION_CODE,
      FunctionConfig: Match.objectLike({ Runtime: "cloudfront-js-2.0" }),
      AutoPublish: true,
    });
    // The one URL output is the distribution's; the execute-api URL is not advertised.
    const publicUrl = { "Fn::Join": ["", ["https://", { "Fn::GetAtt": [distId, "DomainName"] }]] };
    template.hasOutput("ApiUrl", { Value: publicUrl });
    template.hasOutput("DistributionId", { Value: { Ref: distId } });
    expect(JSON.stringify(template.toJSON().Outputs)).not.toContain("execute-api");
    // No function learns the distribution from its environment (the distribution depends on the API, which
    // depends on the function): the handler reads the public host from x-forwarded-host instead.
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function")))
      expect(JSON.stringify(fn.Properties?.Environment ?? {})).not.toContain(distId as string);
  });

  it("sends a generated secret to the API as x-origin-verify: a dynamic reference, never its value; the API function reads it by ARN", () => {
    const secretId = logicalIdOf(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("the header value CloudFront sends"),
    });
    const secret = resourcesOfType(template, "AWS::SecretsManager::Secret")[secretId];
    expect(secret?.Properties?.GenerateSecretString).toEqual({
      SecretStringTemplate: "{}",
      GenerateStringKey: "current",
      PasswordLength: 48,
      ExcludePunctuation: true,
    });
    expect(secret?.Properties?.SecretString).toBeUndefined();
    const origin = onlyProperties<{
      DistributionConfig: {
        Origins: { OriginCustomHeaders: { HeaderName: string; HeaderValue: unknown }[] }[];
      };
    }>(template, "AWS::CloudFront::Distribution").DistributionConfig.Origins[0];
    expect(ORIGIN_VERIFY_HEADER).toBe("x-origin-verify");
    // The dynamic reference to the secret's `current`, AWSCURRENT: CloudFormation resolves it at deploy.
    expect(origin?.OriginCustomHeaders).toEqual([
      {
        HeaderName: ORIGIN_VERIFY_HEADER,
        HeaderValue: {
          "Fn::Join": ["", ["{{resolve:secretsmanager:", { Ref: secretId }, ":SecretString:current::}}"]],
        },
      },
    ]);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Environment: {
        Variables: Match.objectLike({ [FUNCTION_ENV.originVerifySecretArn]: { Ref: secretId } }),
      },
    });
    // Read by the API function only: no other function learns it or may read it.
    const readers = Object.values(resourcesOfType(template, "AWS::IAM::Policy")).filter((policy) =>
      JSON.stringify(policy.Properties?.PolicyDocument).includes(`{"Ref":"${secretId}"}`),
    );
    expect(readers).toHaveLength(1);
    expect(readers[0]?.Properties?.Roles).toEqual([{ Ref: roleOf(apiFnId) }]);
    const sessionSecretId = logicalIdOf(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("signs browser session cookies"),
    });
    expect(readers[0]?.Properties?.PolicyDocument).toMatchObject({
      Statement: expect.arrayContaining([
        {
          Effect: "Allow",
          Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
          Resource: expect.arrayContaining([{ Ref: secretId }, { Ref: sessionSecretId }]),
        },
      ]),
    });
    for (const [id, fn] of Object.entries(resourcesOfType(template, "AWS::Lambda::Function")))
      if (id !== apiFnId) expect(JSON.stringify(fn.Properties?.Environment ?? {})).not.toContain(secretId);
  });

  it("the CloudFront Function copies the viewer's Host and IP into x-forwarded-host and x-viewer-address, overwriting forged ones", () => {
    const handler = new Function(`${FORWARDED_HOST_FUNCTION_CODE}; return handler;`)() as (
      event: unknown,
    ) => {
      headers: Record<string, { value: string } | undefined>;
    };
    const request = (headers: Record<string, { value: string }>) => ({
      version: "1.0",
      context: { eventType: "viewer-request" },
      viewer: { ip: "192.0.2.1" },
      request: { method: "POST", uri: "/auth/callback", querystring: {}, headers, cookies: {} },
    });
    const plain = handler(request({ host: { value: "d111111abcdef8.cloudfront.net" } }));
    expect(plain.headers[FORWARDED_HOST_HEADER]).toEqual({ value: "d111111abcdef8.cloudfront.net" });
    expect(plain.headers.host).toEqual({ value: "d111111abcdef8.cloudfront.net" });
    const forged = handler(
      request({ host: { value: "edc.example.org" }, [FORWARDED_HOST_HEADER]: { value: "evil.example" } }),
    );
    expect(forged.headers[FORWARDED_HOST_HEADER]).toEqual({ value: "edc.example.org" });
    const hostless = handler(request({ [FORWARDED_HOST_HEADER]: { value: "evil.example" } }));
    expect(hostless.headers[FORWARDED_HOST_HEADER]).toBeUndefined();
    expect(plain.headers[VIEWER_ADDRESS_HEADER]).toEqual({ value: "192.0.2.1" });
    const forgedIp = handler(
      request({ host: { value: "edc.example.org" }, [VIEWER_ADDRESS_HEADER]: { value: "10.0.0.1" } }),
    );
    expect(forgedIp.headers[VIEWER_ADDRESS_HEADER]).toEqual({ value: "192.0.2.1" });
  });

  it("publishes forms/ and every studies/<id>/ through a Provider-backed custom resource keyed by their content hash", () => {
    const studies = studyFolders(path.join(REPO_ROOT, "studies"));
    // The repository ships an example study beside the reference one: both are published.
    expect(studies.map((d) => path.basename(d))).toContain("redcapr-longitudinal");
    template.resourceCountIs("Custom::PublishForms", 1);
    template.hasResourceProperties("Custom::PublishForms", {
      ServiceToken: {
        "Fn::GetAtt": [Match.stringLikeRegexp("^PublishFormsProviderframeworkonEvent"), "Arn"],
      },
      FormsHash:
        hashDirectory(path.join(REPO_ROOT, "forms")) + studies.map((d) => `:${hashDirectory(d)}`).join(""),
    });
    // The provider framework calls the publish function, whose role can write the table.
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "framework.onEvent",
      Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: { "Fn::GetAtt": [publishFnId, "Arn"] } } },
    });
  });

  it("runs record import jobs in a worker started by the table's stream, filtered to jobs still to run", () => {
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC record import jobs"),
      Runtime: "nodejs22.x",
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ TABLE_NAME: { Ref: tableId } }) },
    });
    const mapping = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { FunctionName: { Ref: workerFnId } },
    });
    expect(Object.keys(mapping)).toHaveLength(1);
    const { Properties: importMapping } = Object.values(mapping)[0] as {
      Properties: {
        FunctionName: unknown;
        EventSourceArn: unknown;
        StartingPosition: string;
        FilterCriteria: { Filters: { Pattern: string }[] };
      };
    };
    expect(importMapping.EventSourceArn).toEqual({ "Fn::GetAtt": [tableId, "StreamArn"] });
    expect(importMapping.StartingPosition).toBe("LATEST");
    expect(importMapping.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      {
        dynamodb: {
          NewImage: { type: { S: ["import-job"] }, state: { S: ["queued", "checking", "writing"] } },
        },
      },
    ]);
    // Its role reads this table's stream only; no other function may.
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleOf(workerFnId) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: "Allow",
            Action: [...IMPORT_STREAM_ACTIONS],
            Resource: { "Fn::GetAtt": [tableId, "StreamArn"] },
          },
        ]),
      },
    });
    for (const fnId of [apiFnId, publishFnId])
      expect(
        JSON.stringify(
          Object.values(resourcesOfType(template, "AWS::IAM::Policy")).filter((p) =>
            JSON.stringify(p.Properties?.Roles).includes(roleOf(fnId)),
          ),
        ),
      ).not.toContain("dynamodb:GetRecords");
  });

  it("writes bulk export files to their own bucket from a stream-started worker; the API only presigns", () => {
    const exportFnId = logicalIdOf(template, "AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC bulk export jobs"),
    });
    const bucketId = logicalIdOf(template, "AWS::S3::Bucket", {
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "exports/" }),
    });
    const bucket = resourcesOfType(template, "AWS::S3::Bucket")[bucketId];
    expect(bucket).toMatchObject({ DeletionPolicy: "Retain" });
    expect(bucket?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: "expire-export-files",
            Status: "Enabled",
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    expect(bucket?.Properties?.VersioningConfiguration).toBeUndefined();
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC bulk export jobs"),
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: tableId },
          [FUNCTION_ENV.exportsBucket]: { Ref: bucketId },
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Environment: { Variables: Match.objectLike({ [FUNCTION_ENV.exportsBucket]: { Ref: bucketId } }) },
    });
    const objects = { "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/*"]] };
    const s3On = (fnId: string) =>
      Object.values(resourcesOfType(template, "AWS::IAM::Policy"))
        .filter((p) => JSON.stringify(p.Properties?.Roles).includes(roleOf(fnId)))
        .flatMap(
          (p) => (p.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
        )
        .filter((st) => JSON.stringify(st.Resource).includes(bucketId));
    expect(s3On(exportFnId)).toEqual([
      { Effect: "Allow", Action: [...EXPORT_WRITE_ACTIONS], Resource: objects },
    ]);
    expect(s3On(apiFnId)).toEqual([{ Effect: "Allow", Action: EXPORT_READ_ACTIONS[0], Resource: objects }]);
    for (const fnId of [publishFnId, workerFnId]) expect(s3On(fnId)).toEqual([]);
    const mapping = Object.values(
      template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: { FunctionName: { Ref: exportFnId } },
      }),
    )[0] as { Properties: { FilterCriteria: { Filters: { Pattern: string }[] } } };
    expect(mapping.Properties.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      {
        dynamodb: {
          NewImage: {
            type: { S: ["export-job"] },
            state: { S: ["queued", "running"] },
            leaseOwner: [{ exists: false }],
          },
        },
      },
    ]);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: exportFnId } }],
    });
  });

  it("ticks the scheduled exports every 15 minutes: a rule invokes the export worker, and only it", () => {
    const exportFnId = logicalIdOf(template, "AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC bulk export jobs"),
    });
    const rules = template.findResources("AWS::Events::Rule");
    expect(Object.keys(rules)).toHaveLength(1);
    const [ruleId, rule] = Object.entries(rules)[0] as [string, { Properties: Record<string, unknown> }];
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: "rate(15 minutes)",
      State: "ENABLED",
      Targets: [
        {
          Arn: { "Fn::GetAtt": [exportFnId, "Arn"] },
          Input: JSON.stringify(SCHEDULE_TICK),
          RetryPolicy: { MaximumRetryAttempts: 2 },
        },
      ],
    });
    const fromEvents = Object.values(
      template.findResources("AWS::Lambda::Permission", {
        Properties: { Principal: "events.amazonaws.com" },
      }),
    ) as { Properties: Record<string, unknown> }[];
    expect(fromEvents.map((p) => p.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [exportFnId, "Arn"] },
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
      },
    ]);
  });

  it("alarms on API function errors, import and export worker errors and REST API 5xx", () => {
    template.resourceCountIs("AWS::CloudWatch::Alarm", 4);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: workerFnId } }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: apiFnId } }],
      Statistic: "Sum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/ApiGateway",
      MetricName: "5XXError",
      Dimensions: [{ Name: "ApiName", Value: "EdcTest-api" }],
      Statistic: "Sum",
      Threshold: 1,
    });
  });
});

describe("the public URL", () => {
  it("leaves no dependency cycle: the distribution names the RestApi and the literal stage, never the Stage", () => {
    // Synth validates the template (CloudFormation's circular dependency check) and throws on a cycle.
    expect(() => Template.fromStack(makeApp().stack)).not.toThrow();
    // An origin built from the Stage (restApi.url) closes the loop API function → its role's policy →
    // files bucket (CORS origin) → distribution → stage → deployment → methods → function.
    const { stack } = makeApp();
    stack.distribution.node.addDependency(stack.restApi.deploymentStage);
    expect(() => Template.fromStack(stack)).toThrow(/Circular dependency with \[.*PublicDistribution/);
  });

  it("names the origin secret's version from CDK context (a rotation), refusing anything else", () => {
    const { stack } = makeApp({ context: { originVerifyVersion: "a1b2c3d4-e5f6-7890-abcd-ef0123456789" } });
    const template = Template.fromStack(stack);
    const secretId = logicalIdOf(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("the header value CloudFront sends"),
    });
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        Origins: [
          Match.objectLike({
            OriginCustomHeaders: [
              {
                HeaderName: ORIGIN_VERIFY_HEADER,
                HeaderValue: {
                  "Fn::Join": [
                    "",
                    [
                      "{{resolve:secretsmanager:",
                      { Ref: secretId },
                      ":SecretString:current::a1b2c3d4-e5f6-7890-abcd-ef0123456789}}",
                    ],
                  ],
                },
              },
            ],
          }),
        ],
      }),
    });
    expect(() => makeApp({ context: { originVerifyVersion: "AWSPREVIOUS}}" } })).toThrow(
      /originVerifyVersion must be a Secrets Manager VersionId/,
    );
  });

  const CUSTOM = {
    domainName: "edc.example.org",
    certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
  };

  it("serves a custom domain with its certificate and TLSv1.2_2021 at least; callbacks and CORS use it", () => {
    const { app, stack } = makeApp({
      nag: true,
      props: { customDomain: CUSTOM, priceClass: PriceClass.PRICE_CLASS_ALL },
    });
    app.synth();
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        Aliases: [CUSTOM.domainName],
        PriceClass: "PriceClass_All",
        ViewerCertificate: {
          AcmCertificateArn: CUSTOM.certificateArn,
          MinimumProtocolVersion: "TLSv1.2_2021",
          SslSupportMethod: "sni-only",
        },
      }),
    });
    template.hasOutput("ApiUrl", { Value: `https://${CUSTOM.domainName}` });
    template.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      CallbackURLs: [`https://${CUSTOM.domainName}/auth/callback`],
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      CorsConfiguration: {
        CorsRules: [Match.objectLike({ AllowedOrigins: [`https://${CUSTOM.domainName}`] })],
      },
    });
    // With the pinned TLS policy there is nothing to acknowledge about it.
    const distribution = Object.values(resourcesOfType(template, "AWS::CloudFront::Distribution"))[0];
    const rules = (distribution?.Metadata?.cdk_nag as { rules_to_suppress?: { id: string }[] } | undefined)
      ?.rules_to_suppress;
    expect(rules?.map((r) => r.id).sort()).toEqual(["AwsSolutions-CFR1", "AwsSolutions-CFR2"]);
  });

  it("reads the custom domain and the price class from CDK context, refusing half or wrong values", () => {
    const nodeWith = (context: Record<string, string>) => new App({ context }).node;
    expect(customDomainFromContext(nodeWith({}))).toEqual({});
    expect(customDomainFromContext(nodeWith({ ...CUSTOM }))).toEqual({ customDomain: CUSTOM });
    expect(() => customDomainFromContext(nodeWith({ domainName: CUSTOM.domainName }))).toThrow(/both/);
    expect(() =>
      customDomainFromContext(
        nodeWith({ ...CUSTOM, certificateArn: CUSTOM.certificateArn.replace("us-east-1", "eu-west-1") }),
      ),
    ).toThrow(/us-east-1/);
    expect(priceClassFromContext(nodeWith({}))).toEqual({});
    expect(priceClassFromContext(nodeWith({ priceClass: "PriceClass_200" }))).toEqual({
      priceClass: PriceClass.PRICE_CLASS_200,
    });
    expect(() => priceClassFromContext(nodeWith({ priceClass: "cheap" }))).toThrow(/PriceClass_All/);
  });
});

/** An institution's provider, as a study would pass it with `-c oidcIssuer=… -c oidcClientId=…`. */
const EXTERNAL_OIDC = {
  oidcIssuer: "https://login.example.org/realms/study",
  oidcClientId: "edc-engine",
  oidcClientSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edc-oidc-client-AbCdEf",
};

/** The role logical id of the function whose Description starts with `description`. */
function roleOfFunction(template: Template, description: string): string {
  const fnId = logicalIdOf(template, "AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp(`^${description}`),
  });
  const fn = template.toJSON().Resources[fnId] as { Properties: { Role: { "Fn::GetAtt": [string] } } };
  return fn.Properties.Role["Fn::GetAtt"][0];
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
/** Every IAM policy statement that names `logicalId` in its resources, with the roles it is attached to. */
function statementsOn(template: Template, logicalId: string): { roles: string[]; statement: Statement }[] {
  return Object.values(resourcesOfType(template, "AWS::IAM::Policy")).flatMap((policy) => {
    const props = policy.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: Statement[] };
    };
    return props.PolicyDocument.Statement.filter((s) =>
      JSON.stringify(s.Resource).includes(`"${logicalId}"`),
    ).map((statement) => ({ roles: props.Roles.map((r) => r.Ref), statement }));
  });
}

describe("people: the stack's own Cognito user pool", () => {
  const { stack } = makeApp();
  const template = Template.fromStack(stack);
  const poolId = Object.keys(resourcesOfType(template, "AWS::Cognito::UserPool"))[0] as string;
  const clientId = Object.keys(resourcesOfType(template, "AWS::Cognito::UserPoolClient"))[0] as string;
  const distId = Object.keys(resourcesOfType(template, "AWS::CloudFront::Distribution"))[0] as string;

  it("requires TOTP MFA, a strong password, admin-created accounts, email sign-in and recovery", () => {
    template.resourceCountIs("AWS::Cognito::UserPool", 1);
    template.hasResourceProperties("AWS::Cognito::UserPool", {
      MfaConfiguration: "ON",
      EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 3,
        },
      },
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UsernameAttributes: ["email"],
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: "verified_email", Priority: 1 }] },
    });
    const pool = onlyProperties<Record<string, unknown>>(template, "AWS::Cognito::UserPool");
    // No SMS anywhere: no SMS MFA, so no SMS role for Cognito to assume.
    expect(pool.SmsConfiguration).toBeUndefined();
    template.resourceCountIs("AWS::IAM::Role", 6); // API, assets, publish, provider framework, import and export workers: nothing for Cognito
  });

  it("enforces threat protection on the PLUS plan, and outlives the stack", () => {
    template.hasResource("AWS::Cognito::UserPool", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        UserPoolTier: "PLUS",
        UserPoolAddOns: { AdvancedSecurityMode: "ENFORCED" },
        DeletionProtection: "ACTIVE",
      }),
    });
  });

  it("has a managed-login domain whose prefix is the stack name plus the stack UUID's first block", () => {
    template.hasResourceProperties("AWS::Cognito::UserPoolDomain", {
      UserPoolId: { Ref: poolId },
      ManagedLoginVersion: 2,
      Domain: {
        "Fn::Join": [
          "",
          [
            "edctest-",
            {
              "Fn::Select": [
                0,
                {
                  "Fn::Split": ["-", { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] }],
                },
              ],
            },
          ],
        ],
      },
    });
    template.hasResourceProperties("AWS::Cognito::ManagedLoginBranding", {
      UserPoolId: { Ref: poolId },
      ClientId: { Ref: clientId },
      UseCognitoProvidedValues: true,
    });
  });

  it("derives a prefix Cognito accepts from any stack name (no reserved words, at most 63 characters)", () => {
    const prefixOf = (name: string) => {
      const stack = new Stack(new App(), name);
      return stack.resolve(hostedDomainPrefix(stack)) as { "Fn::Join": [string, [string, unknown]] };
    };
    const reserved = prefixOf("Aws-Edc-Prod-Cognito")["Fn::Join"][1][0];
    expect(reserved).toBe("edc-prod-");
    const long = prefixOf(`Edc-${"x".repeat(100)}`)["Fn::Join"][1][0];
    // 8 hexadecimal characters of the stack UUID follow.
    expect(long.length + 8).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]*-$/);
  });

  it("has one public client: code grant only, PKCE (no secret), OIDC scopes, the engine's callback", () => {
    template.resourceCountIs("AWS::Cognito::UserPoolClient", 1);
    // The callback is on the public URL (the distribution), where people are.
    const domain = { "Fn::GetAtt": [distId, "DomainName"] };
    template.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      UserPoolId: { Ref: poolId },
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email", "profile"],
      CallbackURLs: [{ "Fn::Join": ["", ["https://", domain, "/auth/callback"]] }],
      LogoutURLs: [{ "Fn::Join": ["", ["https://", domain, "/signin"]] }],
      SupportedIdentityProviders: ["COGNITO"],
      ExplicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      PreventUserExistenceErrors: "ENABLED",
      EnableTokenRevocation: true,
      // People cannot rename themselves or change the email the audit trail shows.
      WriteAttributes: ["locale", "zoneinfo"],
    });
    const client = onlyProperties<{
      IdTokenValidity: number;
      RefreshTokenValidity: number;
      TokenValidityUnits: { IdToken: string; RefreshToken: string };
    }>(template, "AWS::Cognito::UserPoolClient");
    expect(client.TokenValidityUnits).toMatchObject({ IdToken: "minutes", RefreshToken: "minutes" });
    expect(client.IdTokenValidity).toBeLessThanOrEqual(60);
    expect(client.RefreshTokenValidity).toBeLessThanOrEqual(60);
  });

  it("gives the API function the pool as issuer and the client id, and no client secret", () => {
    const env = onlyApiEnvironment(template);
    expect(env[FUNCTION_ENV.oidcIssuer]).toEqual({ "Fn::GetAtt": [poolId, "ProviderURL"] });
    expect(env[FUNCTION_ENV.oidcClientId]).toEqual({ Ref: clientId });
    expect(env).not.toHaveProperty(FUNCTION_ENV.oidcClientSecretArn);
  });

  it("outputs the pool id, the sign-in domain and the client id", () => {
    template.hasOutput("UserPoolId", { Value: { Ref: poolId } });
    template.hasOutput("UserPoolClientId", { Value: { Ref: clientId } });
    template.hasOutput("SignInDomain", {
      Value: { "Fn::Join": ["", Match.arrayWith(["https://", ".auth.", ".amazoncognito.com"])] },
    });
  });
});

/** The API function's environment variables. */
function onlyApiEnvironment(template: Template): Record<string, unknown> {
  const fnId = logicalIdOf(template, "AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp("^EDC API"),
  });
  const fn = template.toJSON().Resources[fnId] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return fn.Properties.Environment.Variables;
}

describe("people: an institution's OpenID provider instead", () => {
  const { stack } = makeApp({ props: EXTERNAL_OIDC });
  const template = Template.fromStack(stack);

  it("creates no user pool, domain or client, and outputs none of them", () => {
    for (const type of [
      "AWS::Cognito::UserPool",
      "AWS::Cognito::UserPoolDomain",
      "AWS::Cognito::UserPoolClient",
      "AWS::Cognito::ManagedLoginBranding",
    ]) {
      template.resourceCountIs(type, 0);
    }
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs).not.toContain("UserPoolId");
    expect(outputs).not.toContain("UserPoolClientId");
    expect(outputs).not.toContain("SignInDomain");
    template.hasOutput("OidcIssuer", { Value: EXTERNAL_OIDC.oidcIssuer });
  });

  it("gives the API function the issuer, client id and secret ARN, and read access to that secret only", () => {
    const env = onlyApiEnvironment(template);
    expect(env[FUNCTION_ENV.oidcIssuer]).toBe(EXTERNAL_OIDC.oidcIssuer);
    expect(env[FUNCTION_ENV.oidcClientId]).toBe(EXTERNAL_OIDC.oidcClientId);
    expect(env[FUNCTION_ENV.oidcClientSecretArn]).toBe(EXTERNAL_OIDC.oidcClientSecretArn);
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleOfFunction(template, "EDC API") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            Resource: Match.arrayWith([EXTERNAL_OIDC.oidcClientSecretArn]),
          }),
        ]),
      },
    });
  });

  it("sets no secret ARN for a public client", () => {
    const { stack } = makeApp({ props: { ...EXTERNAL_OIDC, oidcClientSecretArn: undefined } });
    const env = onlyApiEnvironment(Template.fromStack(stack));
    expect(env[FUNCTION_ENV.oidcIssuer]).toBe(EXTERNAL_OIDC.oidcIssuer);
    expect(env).not.toHaveProperty(FUNCTION_ENV.oidcClientSecretArn);
  });

  it.each([
    [
      "an issuer without a client id",
      { oidcIssuer: EXTERNAL_OIDC.oidcIssuer },
      /oidcIssuer and oidcClientId/,
    ],
    ["a client id without an issuer", { oidcClientId: "edc" }, /oidcIssuer and oidcClientId/],
    ["an http issuer", { ...EXTERNAL_OIDC, oidcIssuer: "http://login.example.org" }, /https URL/],
    [
      "an issuer with a query",
      { ...EXTERNAL_OIDC, oidcIssuer: "https://login.example.org/?tenant=x" },
      /https URL/,
    ],
    ["an issuer that is no URL", { ...EXTERNAL_OIDC, oidcIssuer: "login.example.org" }, /not a URL/],
    [
      "a partial secret ARN",
      { ...EXTERNAL_OIDC, oidcClientSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:edc" },
      /complete ARN/,
    ],
  ])("refuses %s at synth time", (_name, props, message) => {
    expect(() => makeApp({ props })).toThrow(message);
  });

  it("reads the provider from CDK context (-c oidcIssuer=… -c oidcClientId=…)", () => {
    const app = new App({ context: { oidcIssuer: EXTERNAL_OIDC.oidcIssuer, oidcClientId: "edc" } });
    expect(externalOidcFromContext(app.node)).toEqual({
      oidcIssuer: EXTERNAL_OIDC.oidcIssuer,
      oidcClientId: "edc",
      oidcClientSecretArn: undefined,
    });
    expect(externalOidcFromContext(new App().node)).toEqual({
      oidcIssuer: undefined,
      oidcClientId: undefined,
      oidcClientSecretArn: undefined,
    });
  });
});

describe("audit chain MAC key", () => {
  const { stack } = makeApp();
  const template = Template.fromStack(stack);
  const keyId = Object.keys(resourcesOfType(template, "AWS::KMS::Key"))[0] as string;

  it("is one retained HMAC-256 key for generating and verifying MACs", () => {
    template.resourceCountIs("AWS::KMS::Key", 1);
    template.hasResource("AWS::KMS::Key", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }),
    });
  });

  it("lets the API, publish and import worker functions GenerateMac and VerifyMac on it, nothing else, and names it by ARN", () => {
    const granted = statementsOn(template, keyId);
    const apiRole = roleOfFunction(template, "EDC API");
    const publishRole = roleOfFunction(template, "EDC forms publish");
    const workerRole = roleOfFunction(template, "EDC record import jobs");
    const exportRole = roleOfFunction(template, "EDC bulk export jobs");
    expect(granted.flatMap((g) => g.roles).sort()).toEqual(
      [apiRole, publishRole, workerRole, exportRole].sort(),
    );
    for (const { statement } of granted) {
      expect(statement).toEqual({
        Effect: "Allow",
        Action: [...AUDIT_MAC_ACTIONS],
        Resource: { "Fn::GetAtt": [keyId, "Arn"] },
      });
    }
    // No role reaches the key through a wildcard resource either.
    for (const policy of Object.values(resourcesOfType(template, "AWS::IAM::Policy"))) {
      const statements = (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument
        .Statement;
      for (const s of statements) {
        const actions = ([] as string[]).concat(s.Action);
        if (actions.some((a) => a.startsWith("kms:"))) expect(s.Resource).not.toBe("*");
      }
    }
    // The key policy names no principal but the account (whose IAM policies are the grants above).
    const keyPolicy = onlyProperties<{ KeyPolicy: { Statement: { Principal: unknown }[] } }>(
      template,
      "AWS::KMS::Key",
    ).KeyPolicy;
    expect(keyPolicy.Statement).toHaveLength(1);
    expect(JSON.stringify(keyPolicy.Statement[0]?.Principal)).toContain(":root");
    const arn = { "Fn::GetAtt": [keyId, "Arn"] };
    expect(onlyApiEnvironment(template)[FUNCTION_ENV.auditMacKeyId]).toEqual(arn);
    for (const description of ["^EDC forms publish", "^EDC record import jobs"])
      template.hasResourceProperties("AWS::Lambda::Function", {
        Description: Match.stringLikeRegexp(description),
        Environment: { Variables: Match.objectLike({ [FUNCTION_ENV.auditMacKeyId]: arn }) },
      });
  });
});

describe("forms hash", () => {
  function formsTree(): string {
    const dir = tempDir("edc-forms-");
    mkdirSync(path.join(dir, "instruments"));
    writeFileSync(path.join(dir, "study.json"), '{"id":"S1"}\n');
    writeFileSync(path.join(dir, "instruments", "vitals.json"), '{"title":"Vitals"}\n');
    return dir;
  }

  it("changes when any file under forms/ changes, is added or is renamed — and only then", () => {
    const dir = formsTree();
    const original = hashDirectory(dir);
    expect(original).toMatch(/^[0-9a-f]{64}$/);
    expect(hashDirectory(dir)).toBe(original);
    expect(hashDirectory(formsTree()), "same content elsewhere hashes the same").toBe(original);

    writeFileSync(path.join(dir, "instruments", "vitals.json"), '{"title":"Vital signs"}\n');
    const edited = hashDirectory(dir);
    expect(edited).not.toBe(original);

    renameSync(path.join(dir, "instruments", "vitals.json"), path.join(dir, "instruments", "vital.json"));
    const renamed = hashDirectory(dir);
    expect(renamed).not.toBe(edited);

    writeFileSync(path.join(dir, "instruments", "empty.json"), "");
    expect(hashDirectory(dir)).not.toBe(renamed);
  });

  it("is the custom resource's FormsHash property, so an edited protocol re-runs the publish", () => {
    const dir = formsTree();
    const only = { formsDir: dir, props: { studyDirs: [] } };
    const before = Template.fromStack(makeApp(only).stack);
    writeFileSync(path.join(dir, "study.json"), '{"id":"S1","title":"changed"}\n');
    const after = Template.fromStack(makeApp(only).stack);
    const hashIn = (t: Template) =>
      onlyProperties<{ FormsHash: string }>(t, "Custom::PublishForms").FormsHash;
    expect(hashIn(after)).not.toBe(hashIn(before));
    expect(hashIn(after)).toBe(hashDirectory(dir));
  });
});

describe("cdk-nag AwsSolutions", () => {
  const violationsOf = (outdir: string) => {
    const report = JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8")) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
    };
    return report.pluginReports.flatMap((r) =>
      r.violations.map((v) => `${r.pluginName} ${v.severity} ${v.ruleName}`),
    );
  };

  const variants = [
    ["with the stack's own user pool", {}],
    ["with an external OpenID provider", EXTERNAL_OIDC],
  ] as const;

  it.each(variants)("has zero unacknowledged findings (errors or warnings) %s", (_name, props) => {
    const { app } = makeApp({ nag: true, props });
    // A failing plugin makes synth throw with the report; warnings are in the report file.
    const assembly = app.synth();
    expect(violationsOf(assembly.directory)).toEqual([]);
  });

  it.each(variants)(
    "acknowledges exactly the reviewed findings, each with its reason in the template, %s",
    (_name, props) => {
      const { app, stack } = makeApp({ nag: true, props });
      app.synth();
      const template = Template.fromStack(stack);
      const acknowledged = new Map<string, string>();
      for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) {
        const rules = (resource.Metadata?.cdk_nag as { rules_to_suppress?: { id: string; reason: string }[] })
          ?.rules_to_suppress;
        for (const rule of rules ?? []) {
          expect(rule.reason.length, `${rule.id} on ${id} needs a real reason`).toBeGreaterThan(80);
          acknowledged.set(`${resource.Type} ${rule.id}`, rule.reason);
        }
      }
      expect([...acknowledged.keys()].sort()).toEqual(
        [
          "AWS::ApiGateway::Method AwsSolutions-APIG4",
          "AWS::ApiGateway::Method AwsSolutions-COG4",
          "AWS::ApiGateway::RestApi AwsSolutions-APIG2",
          "AWS::ApiGateway::Stage AwsSolutions-APIG3",
          "AWS::ApiGateway::Stage AwsSolutions-APIG6",
          "AWS::CloudFront::Distribution AwsSolutions-CFR1",
          "AWS::CloudFront::Distribution AwsSolutions-CFR2",
          "AWS::CloudFront::Distribution AwsSolutions-CFR4",
          "AWS::IAM::Policy AwsSolutions-IAM5[Resource::<Exports25637AFB.Arn>/*]",
          "AWS::IAM::Policy AwsSolutions-IAM5[Resource::<Files8E6940B8.Arn>/objects/*]",
          "AWS::IAM::Policy AwsSolutions-IAM5[Resource::<Files8E6940B8.Arn>/staging/*]",
          "AWS::IAM::Role AwsSolutions-IAM5[Resource::<Exports25637AFB.Arn>/*]",
          "AWS::IAM::Role AwsSolutions-IAM5[Resource::<Files8E6940B8.Arn>/objects/*]",
          "AWS::IAM::Role AwsSolutions-IAM5[Resource::<Files8E6940B8.Arn>/staging/*]",
          "AWS::S3::Bucket AwsSolutions-S1",
          "AWS::IAM::Policy AwsSolutions-IAM5[Resource::<PublishFormsFunctionB70AAEFF.Arn>:*]",
          "AWS::IAM::Role AwsSolutions-IAM5[Resource::<PublishFormsFunctionB70AAEFF.Arn>:*]",
          "AWS::Lambda::Function AwsSolutions-L1",
          "AWS::SecretsManager::Secret AwsSolutions-SMG4",
        ].sort(),
      );
    },
  );

  it("does fail synth on an unacknowledged finding (the check is live)", () => {
    const app = new App({ outdir: tempDir("edc-cdk-out-"), context: CDK_CONTEXT });
    const stack = new Stack(app, "NagControl");
    new LambdaFunction(stack, "Old", {
      runtime: Runtime.NODEJS_20_X,
      handler: "index.handler",
      code: Code.fromInline("exports.handler = async () => {}"),
    });
    addNagChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-L1/);
  });
});
