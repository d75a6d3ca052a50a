import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CfnOutput,
  CustomResource,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import {
  AccessLogField,
  AccessLogFormat,
  type CfnMethod,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  ResponseTransferMode,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import type { Distribution, PriceClass } from "aws-cdk-lib/aws-cloudfront";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import {
  AttributeType,
  Billing,
  type ITableV2,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from "aws-cdk-lib/aws-dynamodb";
import { Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction as LambdaTarget } from "aws-cdk-lib/aws-events-targets";
import { Grant, type IGrantable, type IRole, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { Key } from "aws-cdk-lib/aws-kms";
import {
  Architecture,
  type CfnFunction,
  EventSourceMapping,
  FilterCriteria,
  FilterRule,
  type IFunction,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  StartingPosition,
} from "aws-cdk-lib/aws-lambda";
import {
  type ICommandHooks,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Bucket } from "aws-cdk-lib/aws-s3";
import { type CfnSecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Provider } from "aws-cdk-lib/custom-resources";
import type { Construct } from "constructs";
import { SCHEDULE_TICK } from "../functions/handlers/schedule-tick.ts";
import { FUNCTION_ENV, ORIGIN_VERIFY_HEADER } from "../functions/store/function-env.ts";
import { TABLE, TABLE_NAME_ENV } from "../functions/store/table-shape.ts";
import { auditMacKey, grantAuditMac } from "./audit-mac-key.ts";
import { EXPORT_READ_ACTIONS, EXPORT_WRITE_ACTIONS, exportsBucket, grantExports } from "./exports-bucket.ts";
import { filesBucket, grantFiles } from "./files-bucket.ts";
import { hashDirectory, studyFolders } from "./forms-hash.ts";
import {
  API_STAGE_NAME,
  type CustomDomain,
  type OriginVerifyHeader,
  originVerifyVersionFromContext,
  publicEndpoint,
} from "./public-endpoint.ts";
import {
  configureOidcClient,
  type ExternalOidcProps,
  externalOidcClient,
  type OidcClientConfig,
  StudyUserPool,
  usesExternalOidc,
} from "./sign-in.ts";
import { splitBundledFunctionProps } from "./split-bundling.ts";

/** The repository root: entry paths, the lock file and forms/ are resolved from here. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Lambda runtime of both functions. Pinned rather than "latest" so that the
 * runtime in AWS is the one the code was tested against; moving to a newer
 * Node is a deliberate change (see acknowledgePinnedRuntime below).
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X;

/**
 * Operational logs (function output, API access logs) are kept one year. The
 * regulated audit trail is not in these logs — every change to study data is
 * an immutable revision item in the table, kept for the life of the study and
 * covered by PITR — so the logs only need to outlive an incident
 * investigation, a sponsor audit cycle and an inspection request about recent
 * access, while limiting how long request metadata (IPs, paths) is held.
 */
export const LOG_RETENTION = RetentionDays.ONE_YEAR;

/**
 * Without `oidcIssuer`/`oidcClientId` the stack creates a Cognito user pool for
 * the study's people; with them, people sign in at that provider instead.
 */
export interface EdcStackProps extends StackProps, ExternalOidcProps {
  /** A name for the deployment (e.g. "dev", "prod"); shown in descriptions and outputs. */
  readonly stage?: string;
  /** The protocol directory published on deploy. Default: `<repo>/forms`. */
  readonly formsDir?: string;
  /** The other studies' folders, each published on deploy beside forms/. Default: every `<repo>/studies/<id>/` with a study.json. */
  readonly studyDirs?: string[];
  /** Steady-state request rate (per second) of the REST API's stage. Default 100. */
  readonly apiRateLimit?: number;
  /** Burst request limit of the REST API's stage. Default 200. */
  readonly apiBurstLimit?: number;
  /** The distribution's edge locations. Default PriceClass.PRICE_CLASS_100. */
  readonly priceClass?: PriceClass;
  /** Serve at this domain (TLSv1.2_2021 minimum) instead of the default *.cloudfront.net name. */
  readonly customDomain?: CustomDomain;
}

/**
 * ESM output with a `require` for the CommonJS dependencies that call it
 * (esbuild cannot turn a dynamic `require` into an import). Aliased imports so
 * the banner cannot collide with a bundled module's own `createRequire`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __edcCreateRequire } from 'node:module'; const require = __edcCreateRequire(import.meta.url);";

/**
 * CDK context key that turns source maps on (`cdk deploy -c sourceMaps=true`). Off by default:
 * `--enable-source-maps` makes Node load and parse the map at every cold start (~16 % of the init),
 * for stack traces that only an incident needs. Turn it on while chasing one.
 */
export const SOURCE_MAPS_CONTEXT = "sourceMaps";

/** The context value as a switch: `true` or "true" (the command line passes strings). */
export function sourceMapsWanted(value: unknown): boolean {
  return value === true || value === "true";
}

/** esbuild runs in the repository root; the alias is relative to it so Docker bundling finds it too. */
const ZOD_ENGLISH = "./infra/zod-english.js";

export interface BundlingChoices {
  commandHooks?: ICommandHooks;
  /** Ship a line-only source map and start Node with `--enable-source-maps`. Default off. */
  sourceMaps?: boolean;
  /** Bundle every zod locale, as before infra/zod-english.js (the cold-start benchmark's baseline only). */
  allZodLocales?: boolean;
}

/** How every function of the stack is bundled; exported so the cold-start benchmark builds with exactly these settings. */
export function bundledFunctionProps(entry: string, choices: BundlingChoices = {}): NodejsFunctionProps {
  const { commandHooks, sourceMaps = false, allZodLocales = false } = choices;
  return {
    entry: path.isAbsolute(entry) ? entry : path.join(REPO_ROOT, entry),
    handler: "handler",
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, "package-lock.json"),
    runtime: FUNCTION_RUNTIME,
    architecture: Architecture.ARM_64,
    loggingFormat: LoggingFormat.JSON,
    ...(sourceMaps ? { environment: { NODE_OPTIONS: "--enable-source-maps" } } : {}),
    bundling: {
      format: OutputFormat.ESM,
      // ESM builds of dependencies first: they tree-shake, CJS builds do not.
      mainFields: ["module", "main"],
      banner: ESM_REQUIRE_BANNER,
      minify: true,
      sourceMap: sourceMaps,
      // Line mapping is all `--enable-source-maps` needs; embedding the sources would triple the map.
      ...(sourceMaps ? { sourcesContent: false } : {}),
      // The SDK version that the integration tests ran against ships with the
      // code, instead of whichever version the Lambda runtime happens to carry.
      bundleAwsSDK: true,
      // zod with English messages only: the other locales are a sixth of the bundle (infra/zod-english.js).
      ...(allZodLocales ? {} : { esbuildArgs: { "--alias:zod": ZOD_ENGLISH } }),
      forceDockerBundling: false,
      ...(commandHooks ? { commandHooks } : {}),
    },
  };
}

/**
 * The API function's code: split by esbuild so a cold start loads only what
 * the handler imports statically (infra/split-bundling.ts); otherwise the
 * settings of `bundledFunctionProps`.
 */
export function apiFunctionProps(choices: Omit<BundlingChoices, "commandHooks" | "allZodLocales"> = {}) {
  return splitFunctionProps("functions/handlers/api.ts", choices);
}

/** Any entry bundled as the API function is (the cold-start benchmark builds its bare baseline so). */
export function splitFunctionProps(
  entry: string,
  choices: Omit<BundlingChoices, "commandHooks" | "allZodLocales"> = {},
) {
  return splitBundledFunctionProps({
    entry,
    projectRoot: REPO_ROOT,
    runtime: FUNCTION_RUNTIME,
    banner: ESM_REQUIRE_BANNER,
    alias: { zod: ZOD_ENGLISH },
    ...(choices.sourceMaps ? { sourceMaps: true } : {}),
  });
}

/**
 * AwsSolutions-L1 wants the newest Node runtime. Both functions pin
 * FUNCTION_RUNTIME instead; the reason travels with the acknowledgment.
 */
function acknowledgePinnedRuntime(fn: IFunction): void {
  Validations.of(fn).acknowledge({
    id: "AwsSolutions-L1",
    reason:
      `Runtime pinned to ${FUNCTION_RUNTIME.name}, a supported Node.js LTS, on purpose: a validated clinical ` +
      "system runs the runtime its code and dependencies were tested on, and a runtime change is a deliberate, " +
      "re-tested change (FUNCTION_RUNTIME in infra/stack.ts), not a side effect of a CDK upgrade.",
  });
}

/** An execution role that may only write to its own log group (no AWS managed policy). */
function functionRole(scope: Construct, id: string, logGroup: LogGroup, description: string): IRole {
  const role = new Role(scope, id, {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description,
  });
  logGroup.grantWrite(role);
  return role;
}

/**
 * Read/write access to the table's items — the action set of CDK's
 * `grantReadWriteData` minus the stream-only reads (only the import worker reads the stream) —
 * on the table and on each index by name. `grantReadWriteData` would grant
 * `<table>/index/*`: a wildcard (AwsSolutions-IAM5) that also covers any index
 * added later outside table-shape.ts. Every index the store declares is listed.
 */
export const TABLE_DATA_ACTIONS = [
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
  "dynamodb:DeleteItem",
  "dynamodb:DescribeTable",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:Query",
  "dynamodb:Scan",
  "dynamodb:UpdateItem",
];

/** What Lambda's event source reads of the table's stream (the DynamoDB guide's policy, on the one stream). */
export const IMPORT_STREAM_ACTIONS = [
  "dynamodb:DescribeStream",
  "dynamodb:GetRecords",
  "dynamodb:GetShardIterator",
  "dynamodb:ListStreams",
] as const;

function grantTableData(table: ITableV2, grantee: IGrantable): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions: TABLE_DATA_ACTIONS,
    resourceArns: [
      table.tableArn,
      ...Object.values(TABLE.indexes).map((index) => `${table.tableArn}/index/${index.name}`),
    ],
  });
}

function logGroup(scope: Construct, id: string): LogGroup {
  return new LogGroup(scope, id, { retention: LOG_RETENTION, removalPolicy: RemovalPolicy.RETAIN });
}

/**
 * The API function's timeout: a large export streams for minutes (15 min is the most API Gateway streams
 * and the most Lambda runs).
 */
export const API_FUNCTION_TIMEOUT = Duration.minutes(15);

/** AwsSolutions-APIG4 / COG4 on a method whose authorization is the application's. */
function acknowledgeAppAuthorization(method: Method, reason: string): void {
  const cfn = method.node.defaultChild as CfnMethod;
  for (const id of ["AwsSolutions-APIG4", "AwsSolutions-COG4"])
    Validations.of(cfn).acknowledge({ id, reason });
}

/** The stage's findings that stay, each with its reason. */
function acknowledgeStage(restApi: RestApi): void {
  const stage = restApi.deploymentStage.node.defaultChild as Construct;
  Validations.of(stage).acknowledge({
    id: "AwsSolutions-APIG3",
    reason:
      "No WAF, as before (the HTTP API had none): the API function refuses any request without the secret " +
      "header the CloudFront distribution adds (x-origin-verify), every request is authenticated by the " +
      "application and throttled on this stage, and bad input is a 4xx. A deployment that wants managed " +
      "rules attaches a web ACL (docs/architecture.md, 'Serving in AWS: streamed responses').",
  });
  Validations.of(stage).acknowledge({
    id: "AwsSolutions-APIG6",
    reason:
      "Execution logs need the API Gateway account's CloudWatch role, one setting per account and region " +
      "shared by every API there, which a study stack must not take over. The access log records every " +
      "request, the function logs record every error, and a 5xx raises the RestApi5xxAlarm.",
  });
  Validations.of(restApi.node.defaultChild as Construct).acknowledge({
    id: "AwsSolutions-APIG2",
    reason:
      "Request validation is the application's: every body and parameter is parsed by a schema in the " +
      "route (zod), and bad input answers a problem+json 4xx with pointers; a proxy resource has no model " +
      "API Gateway could check without repeating, less precisely, the route's own schema.",
  });
}

export class EdcStack extends Stack {
  readonly table: ITableV2;
  readonly apiFunction: IFunction;
  readonly publishFormsFunction: IFunction;
  readonly importJobWorker: IFunction;
  readonly restApi: RestApi;
  /** The one public URL (CloudFront in front of the REST API). */
  readonly distribution: Distribution;
  /** `https://<host>` of the distribution (or of the custom domain), no trailing slash. */
  readonly publicUrl: string;
  readonly exportJobWorker: IFunction;
  readonly exportsBucket: Bucket;
  readonly formsHash: string;
  /** The stack's own user pool; undefined when an external OpenID provider is configured. */
  readonly studyUserPool?: StudyUserPool;
  readonly oidc: OidcClientConfig;
  readonly auditMacKey: Key;
  readonly filesBucket: Bucket;

  constructor(scope: Construct, id: string, props: EdcStackProps = {}) {
    const stage = props.stage ?? "dev";
    super(scope, id, {
      description: `REDCap-style EDC engine (${stage}): table, API, forms publish`,
      ...props,
    });
    const formsDir = props.formsDir ?? path.join(REPO_ROOT, "forms");
    const sourceMaps = sourceMapsWanted(this.node.tryGetContext(SOURCE_MAPS_CONTEXT));

    // ---- Table: the shape comes from table-shape.ts, shared with the store and local server.
    // TableV2 (AWS::DynamoDB::GlobalTable) so a replica region can be added later without
    // replacing the table; PITR and deletion protection therefore sit on the replica.
    const table = new TableV2(this, "Table", {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: Object.values(TABLE.indexes).map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      })),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Clinical data outlives any stack: deleting the stack leaves the table.
      removalPolicy: RemovalPolicy.RETAIN,
      // The AWS managed key (aws/dynamodb): KMS use is visible in CloudTrail, no key to manage.
      encryption: TableEncryptionV2.awsManagedKey(),
      // New images only: the import job worker is started by changes of running jobs (see below).
      dynamoStream: StreamViewType.NEW_IMAGE,
    });
    this.table = table;

    // ---- API function.
    const apiLogs = logGroup(this, "ApiFunctionLogs");
    const apiFunction = new LambdaFunction(this, "ApiFunction", {
      ...apiFunctionProps({ sourceMaps }),
      description: `EDC API (${stage}): Hono app behind the REST API, streamed responses`,
      role: functionRole(this, "ApiFunctionRole", apiLogs, "EDC API function"),
      logGroup: apiLogs,
      memorySize: 1024,
      // Long enough for a large export streamed to the end (API Gateway ends any stream at 15 min).
      // A normal request still cannot hang for that long where it matters: CloudFront gives up after
      // ORIGIN_READ_TIMEOUT (60 s) without a byte, API Gateway ends a stream idle for 5 min, and a
      // closed connection ends the invocation's stream (infra/public-endpoint.ts, docs/architecture.md).
      timeout: API_FUNCTION_TIMEOUT,
    });
    apiFunction.addEnvironment(TABLE_NAME_ENV, table.tableName);
    grantTableData(table, apiFunction);
    // Signs browser session cookies and CSRF tokens. Generated at deploy, never in the template or code.
    const sessionSecret = new Secret(this, "SessionSecret", {
      description: `EDC ${stage}: signs browser session cookies`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(sessionSecret.node.defaultChild as CfnSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The secret only signs short-lived (12 h) browser session cookies; rotating it signs everyone out. " +
        "Rotate by redeploying with a new secret value when needed; no database credential is involved.",
    });
    sessionSecret.grantRead(apiFunction);
    apiFunction.addEnvironment(FUNCTION_ENV.sessionSecretArn, sessionSecret.secretArn);
    acknowledgePinnedRuntime(apiFunction);
    this.apiFunction = apiFunction;

    // ---- REST API: every path goes to the function, which does its own bearer-token and session auth.
    // REST, not HTTP API: only a REST API's Lambda proxy integration streams (responseTransferMode).
    const accessLogs = logGroup(this, "ApiAccessLogs");
    const restApi = new RestApi(this, "RestApi", {
      // Per stack: the 5xx alarm's metric is keyed by this name, so two deployments must not share it.
      restApiName: `${this.stackName}-api`,
      description: `EDC REST API (${stage}), behind the CloudFront distribution`,
      endpointTypes: [EndpointType.REGIONAL],
      // Every body passes through untouched: request bodies reach the handler base64-encoded (uploads,
      // gzip bodies, any charset), and a buffered response flagged isBase64Encoded (the gzipped scripts)
      // is decoded to bytes. A streamed response is never converted: its bytes go out as written.
      binaryMediaTypes: ["*/*"],
      // Execution logs would need the region-wide API Gateway account role (see APIG6 below).
      cloudWatchRole: false,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: props.apiRateLimit ?? 100,
        throttlingBurstLimit: props.apiBurstLimit ?? 200,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        // No headers, no query strings, no bodies: tokens and PHI stay out of the access log.
        // The IP is CloudFront's edge; the viewer's is in the distribution's standard logs.
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            ip: AccessLogField.contextIdentitySourceIp(),
            requestTime: AccessLogField.contextRequestTime(),
            method: AccessLogField.contextHttpMethod(),
            path: AccessLogField.contextPath(),
            resourcePath: AccessLogField.contextResourcePath(),
            status: AccessLogField.contextStatus(),
            protocol: AccessLogField.contextProtocol(),
            responseLength: AccessLogField.contextResponseLength(),
            latency: AccessLogField.contextResponseLatency(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            integrationError: AccessLogField.contextIntegrationErrorMessage(),
          }),
        ),
      },
    });
    const apiIntegration = new LambdaIntegration(apiFunction, {
      // Streamed through InvokeWithResponseStream: no 6 MB/10 MB cap; the first 10 MB of each answer go
      // unthrottled, then 2 MB/s. With streaming the integration may run up to the same 15 min.
      responseTransferMode: ResponseTransferMode.STREAM,
      timeout: API_FUNCTION_TIMEOUT,
    });
    const apiMethods = [
      restApi.root.addMethod("ANY", apiIntegration),
      restApi.root.addResource("{proxy+}").addMethod("ANY", apiIntegration),
    ];
    for (const method of apiMethods)
      acknowledgeAppAuthorization(
        method,
        "Authorization is the application's, on every request (functions/http/auth.ts): each /api/v1 route " +
          "except the public OpenAPI document requires a bearer token, looked up by its SHA-256 hash in the " +
          "table and resolved to a principal with a role and a set of sites; pages require a signed session. " +
          "Site scoping is decided per subject, which an API Gateway authorizer cannot express, and the " +
          "proxy resource also serves the public sign-in page and OpenAPI document.",
      );
    // ---- Browser scripts: their own small function on the same API (same origin, so CSP 'self' holds),
    // so the API function's bundle and cold start do without them (docs/architecture.md, "Browser scripts").
    const assetsLogs = logGroup(this, "AssetsFunctionLogs");
    const assetsFunction = new NodejsFunction(this, "AssetsFunction", {
      ...bundledFunctionProps("functions/handlers/assets.ts"),
      description: `EDC browser scripts (${stage}): /assets/*, content-hashed and immutable`,
      role: functionRole(this, "AssetsFunctionRole", assetsLogs, "EDC browser scripts function"),
      logGroup: assetsLogs,
      memorySize: 256,
      timeout: Duration.seconds(5),
    });
    acknowledgePinnedRuntime(assetsFunction);
    const assetsMethod = restApi.root
      .addResource("assets")
      .addResource("{proxy+}")
      .addMethod("GET", new LambdaIntegration(assetsFunction));
    acknowledgeAppAuthorization(
      assetsMethod,
      "Public by design: the bundled browser scripts (the form and builder scripts, RE2), the same for " +
        "everyone, carry no data and are loaded by the sign-in page too. Study-specific code (an " +
        "instrument's precompiled checks) is served by the API function behind the session, not here.",
    );
    acknowledgeStage(restApi);
    // The execute-api URL is no address for people or clients (no clean root, no x-forwarded-host): the
    // only URL output is the distribution's (ApiUrl below).
    restApi.node.tryRemoveChild("Endpoint");
    this.restApi = restApi;

    // ---- The one public URL: CloudFront in front of the REST API (infra/public-endpoint.ts).
    const endpoint = publicEndpoint(this, {
      restApi,
      originVerify: originVerifySecret(this, stage, apiFunction),
      stage,
      logRetention: Duration.days(LOG_RETENTION),
      ...(props.priceClass ? { priceClass: props.priceClass } : {}),
      ...(props.customDomain ? { customDomain: props.customDomain } : {}),
    });
    this.distribution = endpoint.distribution;
    this.publicUrl = endpoint.publicUrl;

    // ---- People: the stack's own user pool, or the institution's OpenID provider.
    if (usesExternalOidc(props)) {
      this.oidc = externalOidcClient(this, props);
    } else {
      this.studyUserPool = new StudyUserPool(this, "People", { stage, apiBaseUrl: this.publicUrl });
      this.oidc = this.studyUserPool.oidc;
    }
    configureOidcClient(apiFunction, this.oidc);

    // ---- Uploaded files: S3, read and written by the API function only (infra/files-bucket.ts).
    this.filesBucket = filesBucket(this, this.publicUrl);
    grantFiles(this.filesBucket, apiFunction);
    apiFunction.addEnvironment(FUNCTION_ENV.filesBucket, this.filesBucket.bucketName);

    // ---- Audit chain heads are MACed with a KMS key the table's writers cannot read.
    this.auditMacKey = auditMacKey(this, stage);
    grantAuditMac(this.auditMacKey, apiFunction);

    // ---- Forms publish: a custom resource that publishes forms/ as a definition version.
    const studyDirs = props.studyDirs ?? studyFolders(path.join(REPO_ROOT, "studies"));
    // Without other studies the hash is forms/'s alone, as it always was: no needless re-publish.
    this.formsHash =
      studyDirs.length === 0
        ? hashDirectory(formsDir)
        : hashDirectory(formsDir) + studyDirs.map((d) => `:${hashDirectory(d)}`).join("");
    const publishLogs = logGroup(this, "PublishFormsLogs");
    const publishFormsFunction = new NodejsFunction(this, "PublishFormsFunction", {
      ...bundledFunctionProps("functions/handlers/publish-forms.ts", {
        sourceMaps,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The handler reads the protocol next to itself: <asset>/forms.
          afterBundling: (_inputDir: string, outputDir: string) => [
            `cp -R ${shellQuote(formsDir)} ${shellQuote(path.join(outputDir, "forms"))}`,
            // The other studies at <asset>/studies/<folder name>.
            ...studyDirs.flatMap((d) => [
              `mkdir -p ${shellQuote(path.join(outputDir, "studies"))}`,
              `cp -R ${shellQuote(d)} ${shellQuote(path.join(outputDir, "studies", path.basename(d)))}`,
            ]),
          ],
        },
      }),
      description: `EDC forms publish (${stage}): publishes forms/ on deploy`,
      role: functionRole(this, "PublishFormsRole", publishLogs, "EDC forms publish custom resource"),
      logGroup: publishLogs,
      memorySize: 512,
      timeout: Duration.minutes(5),
    });
    publishFormsFunction.addEnvironment(TABLE_NAME_ENV, table.tableName);
    grantTableData(table, publishFormsFunction);
    // A publish is an audited entry (issue 11 §4), so the publish function seals chain heads too.
    grantAuditMac(this.auditMacKey, publishFormsFunction);
    acknowledgePinnedRuntime(publishFormsFunction);
    this.publishFormsFunction = publishFormsFunction;

    const providerLogs = logGroup(this, "PublishFormsProviderLogs");
    const providerRole = functionRole(
      this,
      "PublishFormsProviderRole",
      providerLogs,
      "EDC forms publish provider framework",
    );
    const provider = new Provider(this, "PublishFormsProvider", {
      onEventHandler: publishFormsFunction,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(publishFormsFunction.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason:
        "Written by the CDK Provider framework (grantInvoke): the framework function may invoke the publish " +
        "function and its versions/aliases (`<arn>:*`). The wildcard spans qualifiers of that one function only.",
    });
    new CustomResource(this, "PublishForms", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::PublishForms",
      // A changed protocol changes this hash, and so re-runs the publish on deploy.
      properties: { FormsHash: this.formsHash },
    });

    // ---- Record import jobs: the table's stream starts the worker on each change of a job still to run
    // (queued, checking, writing); the worker's own progress writes start it again after it stops near
    // its timeout. No queue, no function invoking another (docs/architecture.md, "Import jobs").
    const importJobLogs = logGroup(this, "ImportJobWorkerLogs");
    const importJobWorker = new NodejsFunction(this, "ImportJobWorker", {
      ...bundledFunctionProps("functions/handlers/import-job-worker.ts", { sourceMaps }),
      description: `EDC record import jobs (${stage}): checks and writes a job's batches, started by the table's stream`,
      role: functionRole(this, "ImportJobWorkerRole", importJobLogs, "EDC record import job worker"),
      logGroup: importJobLogs,
      memorySize: 1024,
      timeout: Duration.minutes(15),
    });
    importJobWorker.addEnvironment(TABLE_NAME_ENV, table.tableName);
    grantTableData(table, importJobWorker);
    // Saves are audited revisions: their chain heads are sealed like the API's.
    grantAuditMac(this.auditMacKey, importJobWorker);
    const streamArn = table.tableStreamArn as string;
    // The stream actions the event source needs, on this table's stream only (no `*`).
    Grant.addToPrincipal({
      grantee: importJobWorker,
      actions: [...IMPORT_STREAM_ACTIONS],
      resourceArns: [streamArn],
    });
    new EventSourceMapping(this, "ImportJobStream", {
      target: importJobWorker,
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.LATEST,
      batchSize: 100,
      // A failed run (a timeout mid-batch) is retried; its lease runs out and the next run resumes it.
      retryAttempts: 10,
      filters: [
        FilterCriteria.filter({
          dynamodb: {
            NewImage: {
              type: { S: FilterRule.isEqual("import-job") },
              state: { S: FilterRule.or("queued", "checking", "writing") },
            },
          },
        }),
      ],
    });
    acknowledgePinnedRuntime(importJobWorker);
    this.importJobWorker = importJobWorker;

    // ---- Bulk export jobs: their own bucket and worker (bulkExportJobs below).
    const exports = bulkExportJobs(this, {
      table,
      apiFunction,
      auditMacKey: this.auditMacKey,
      stage,
      sourceMaps,
    });
    this.exportsBucket = exports.bucket;
    this.exportJobWorker = exports.worker;

    // ---- Alarms (no actions: wire an SNS topic or a chat integration per deployment).
    new Alarm(this, "ApiFunctionErrorsAlarm", {
      alarmDescription: "The API function threw (unhandled error, timeout or out of memory).",
      metric: apiFunction.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    new Alarm(this, "ImportJobWorkerErrorsAlarm", {
      alarmDescription:
        "The record import worker threw (a job is retried from its progress; repeated errors stall it).",
      metric: importJobWorker.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    new Alarm(this, "RestApi5xxAlarm", {
      alarmDescription: "The REST API returned 5xx responses (bad input is a 4xx, so any 5xx is a defect).",
      metric: restApi.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, "ApiUrl", {
      description: "The public URL of the EDC (pages and API), served by CloudFront",
      value: this.publicUrl,
    });
    new CfnOutput(this, "DistributionId", {
      description: "The CloudFront distribution in front of the REST API",
      value: this.distribution.distributionId,
    });
    new CfnOutput(this, "TableName", { description: "The DynamoDB table", value: table.tableName });
    new CfnOutput(this, "FilesBucket", {
      description: "The S3 bucket of uploaded files",
      value: this.filesBucket.bucketName,
    });
    new CfnOutput(this, "OidcIssuer", {
      description: "OpenID provider people sign in at",
      value: this.oidc.issuer,
    });
  }
}

/**
 * The value CloudFront sends in ORIGIN_VERIFY_HEADER and the API function requires: generated by Secrets
 * Manager at deploy (JSON `{"current": …}`), put into the distribution by a dynamic reference that
 * CloudFormation resolves, and read by the API function at its first request, with the session secret.
 */
function originVerifySecret(
  scope: Construct,
  stage: string,
  apiFunction: LambdaFunction,
): OriginVerifyHeader {
  const secret = new Secret(scope, "OriginVerifySecret", {
    description: `EDC ${stage}: the header value CloudFront sends to the REST API (only it may call the API)`,
    generateSecretString: {
      secretStringTemplate: "{}",
      generateStringKey: "current",
      passwordLength: 48,
      excludePunctuation: true,
    },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(secret.node.defaultChild as CfnSecret).acknowledge({
    id: "AwsSolutions-SMG4",
    reason:
      "Rotated by hand, not by a rotation Lambda: the new value must reach CloudFront (a stack deploy naming " +
      "the new version) while the API accepts the old and new ones, a sequence of deploys no rotation " +
      "function can run (docs/architecture.md, 'Serving in AWS: streamed responses').",
  });
  secret.grantRead(apiFunction);
  apiFunction.addEnvironment(FUNCTION_ENV.originVerifySecretArn, secret.secretArn);
  const { versionId } = originVerifyVersionFromContext(scope.node);
  return {
    name: ORIGIN_VERIFY_HEADER,
    value: SecretValue.secretsManager(secret.secretArn, {
      jsonField: "current",
      ...(versionId ? { versionId } : {}),
    }).unsafeUnwrap(),
  };
}

/**
 * Bulk export jobs: the exports bucket, and a worker the table's stream starts
 * on each export job that waits for a runner (queued or running, and no lease:
 * created, or released by a worker near its timeout); progress writes hold a
 * lease and start nothing. Its own function, not a second filter on the import
 * worker: it alone writes the exports bucket, and the import worker must not.
 * The API function presigns downloads (GetObject) and writes no file.
 */
function bulkExportJobs(
  scope: Construct,
  props: {
    table: ITableV2;
    apiFunction: LambdaFunction;
    auditMacKey: Key;
    stage: string;
    sourceMaps: boolean;
  },
): { bucket: Bucket; worker: IFunction } {
  const bucket = exportsBucket(scope);
  const logs = logGroup(scope, "ExportJobWorkerLogs");
  const worker = new NodejsFunction(scope, "ExportJobWorker", {
    ...bundledFunctionProps("functions/handlers/export-job-worker.ts", { sourceMaps: props.sourceMaps }),
    description: `EDC bulk export jobs (${props.stage}): writes a job's files to the exports bucket, started by the table's stream`,
    role: functionRole(scope, "ExportJobWorkerRole", logs, "EDC bulk export job worker"),
    logGroup: logs,
    memorySize: 1024,
    timeout: Duration.minutes(15),
  });
  worker.addEnvironment(TABLE_NAME_ENV, props.table.tableName);
  worker.addEnvironment(FUNCTION_ENV.exportsBucket, bucket.bucketName);
  // It reads casebooks and writes its job item and the access log (whose chain heads are MACed).
  grantTableData(props.table, worker);
  grantAuditMac(props.auditMacKey, worker);
  grantExports(bucket, worker, EXPORT_WRITE_ACTIONS);
  grantExports(bucket, props.apiFunction, EXPORT_READ_ACTIONS);
  props.apiFunction.addEnvironment(FUNCTION_ENV.exportsBucket, bucket.bucketName);
  const streamArn = props.table.tableStreamArn as string;
  Grant.addToPrincipal({ grantee: worker, actions: [...IMPORT_STREAM_ACTIONS], resourceArns: [streamArn] });
  new EventSourceMapping(scope, "ExportJobStream", {
    target: worker,
    eventSourceArn: streamArn,
    startingPosition: StartingPosition.LATEST,
    batchSize: 10,
    // A worker that died mid-run fails; the retry waits out its lease and carries the job on (or starts it again).
    retryAttempts: 10,
    filters: [
      FilterCriteria.filter({
        dynamodb: {
          NewImage: {
            type: { S: FilterRule.isEqual("export-job") },
            state: { S: FilterRule.or("queued", "running") },
            leaseOwner: FilterRule.notExists(),
          },
        },
      }),
    ],
  });
  acknowledgePinnedRuntime(worker);
  // Scheduled exports: a tick every 15 minutes starts the jobs that are due (http/export-schedules.ts).
  // The rule may invoke the worker and nothing else; the jobs it starts reach the worker by the stream.
  new Rule(scope, "ExportScheduleTick", {
    description: `EDC scheduled exports (${props.stage}): starts the day's due export jobs`,
    schedule: Schedule.rate(Duration.minutes(15)),
    targets: [
      new LambdaTarget(worker, { event: RuleTargetInput.fromObject(SCHEDULE_TICK), retryAttempts: 2 }),
    ],
  });
  new Alarm(scope, "ExportJobWorkerErrorsAlarm", {
    alarmDescription:
      "The bulk export worker threw (a job carries on after its lease; three runs in a row without progress fail it).",
    metric: worker.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  new CfnOutput(scope, "ExportsBucket", {
    description: "The S3 bucket of bulk export files (expired after 7 days)",
    value: bucket.bucketName,
  });
  return { bucket, worker };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
