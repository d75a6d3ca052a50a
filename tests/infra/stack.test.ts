import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { TABLE } from "../../functions/store/table-shape.ts";
import { hashDirectory } from "../../infra/forms-hash.ts";
import { addNagChecks } from "../../infra/nag.ts";
import { EdcStack, REPO_ROOT, TABLE_DATA_ACTIONS } from "../../infra/stack.ts";

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
function makeApp(options: { bundle?: boolean; nag?: boolean; formsDir?: string } = {}) {
  const app = new App({
    outdir: tempDir("edc-cdk-out-"),
    context: { ...CDK_CONTEXT, ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }) },
  });
  const stack = new EdcStack(app, "EdcTest", { stage: "test", formsDir: options.formsDir });
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
      Timeout: 29,
      Environment: {
        Variables: { TABLE_NAME: { Ref: tableId }, NODE_OPTIONS: "--enable-source-maps" },
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

  it("gives the API function a generated session secret by ARN, readable by it alone", () => {
    const secrets = template.findResources("AWS::SecretsManager::Secret");
    const [secretId] = Object.keys(secrets);
    expect(Object.keys(secrets)).toHaveLength(1);
    expect(secrets[secretId as string]?.Properties?.GenerateSecretString).toBeDefined();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^EDC API"),
      Environment: { Variables: Match.objectLike({ SESSION_SECRET_ARN: { Ref: secretId } }) },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["secretsmanager:GetSecretValue"]),
            Resource: { Ref: secretId },
          }),
        ]),
      },
    });
  });

  it("grants both functions item read/write on the table and its named indexes, without wildcards", () => {
    const tableArn = { "Fn::GetAtt": [tableId, "Arn"] };
    const statement = {
      Effect: "Allow",
      Action: TABLE_DATA_ACTIONS,
      Resource: [
        tableArn,
        ...Object.values(TABLE.indexes).map((i) => ({ "Fn::Join": ["", [tableArn, `/index/${i.name}`]] })),
      ],
    };
    for (const fnId of [apiFnId, publishFnId]) {
      const fn = template.toJSON().Resources[fnId] as { Properties: { Role: { "Fn::GetAtt": [string] } } };
      const roleId = fn.Properties.Role["Fn::GetAtt"][0];
      template.hasResourceProperties("AWS::IAM::Policy", {
        Roles: [{ Ref: roleId }],
        PolicyDocument: { Statement: Match.arrayWith([statement]) },
      });
    }
    // No function role carries an AWS managed policy: each writes only to its own log group.
    for (const role of Object.values(resourcesOfType(template, "AWS::IAM::Role"))) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("keeps every log group one year and retains it", () => {
    const groups = resourcesOfType(template, "AWS::Logs::LogGroup");
    expect(Object.keys(groups)).toHaveLength(4); // API, access log, publish, provider framework
    for (const group of Object.values(groups) as (Resource & { DeletionPolicy?: string })[]) {
      expect(group.Properties?.RetentionInDays).toBe(365);
      expect(group.DeletionPolicy).toBe("Retain");
    }
    // Every function logs to an explicit group (no implicit /aws/lambda/<name> group without retention).
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function"))) {
      expect(fn.Properties?.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.any(String) } });
    }
  });

  it("routes $default to the API function through an HTTP API with access logs and throttling", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      IntegrationUri: { "Fn::GetAtt": [apiFnId, "Arn"] },
      PayloadFormatVersion: "2.0",
    });
    template.resourceCountIs("AWS::ApiGatewayV2::Stage", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^HttpApiAccessLogs"), "Arn"] },
        Format: Match.stringLikeRegexp("\\$context\\.requestId"),
      },
    });
    const format = JSON.parse(
      onlyProperties<{ AccessLogSettings: { Format: string } }>(template, "AWS::ApiGatewayV2::Stage")
        .AccessLogSettings.Format,
    ) as Record<string, string>;
    // No header, query string or body in the access log: tokens and PHI stay out.
    expect(Object.values(format).join(" ")).not.toMatch(/header|querystring|body|authorization/i);
    template.hasOutput("ApiUrl", {
      Value: { "Fn::Join": ["", Match.arrayWith(["https://", ".execute-api."])] },
    });
  });

  it("publishes forms/ through a Provider-backed custom resource keyed by the forms content hash", () => {
    template.resourceCountIs("Custom::PublishForms", 1);
    template.hasResourceProperties("Custom::PublishForms", {
      ServiceToken: {
        "Fn::GetAtt": [Match.stringLikeRegexp("^PublishFormsProviderframeworkonEvent"), "Arn"],
      },
      FormsHash: hashDirectory(path.join(REPO_ROOT, "forms")),
    });
    // The provider framework calls the publish function, whose role can write the table.
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "framework.onEvent",
      Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: { "Fn::GetAtt": [publishFnId, "Arn"] } } },
    });
  });

  it("alarms on API function errors and HTTP API 5xx", () => {
    template.resourceCountIs("AWS::CloudWatch::Alarm", 2);
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
      MetricName: "5xx",
      Dimensions: [{ Name: "ApiId", Value: { Ref: Match.stringLikeRegexp("^HttpApi") } }],
      Statistic: "Sum",
      Threshold: 1,
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
    const before = Template.fromStack(makeApp({ formsDir: dir }).stack);
    writeFileSync(path.join(dir, "study.json"), '{"id":"S1","title":"changed"}\n');
    const after = Template.fromStack(makeApp({ formsDir: dir }).stack);
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

  it("has zero unacknowledged findings (errors or warnings)", () => {
    const { app } = makeApp({ nag: true });
    // A failing plugin makes synth throw with the report; warnings are in the report file.
    const assembly = app.synth();
    expect(violationsOf(assembly.directory)).toEqual([]);
  });

  it("acknowledges exactly the reviewed findings, each with its reason in the template", () => {
    const { app, stack } = makeApp({ nag: true });
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
        "AWS::ApiGatewayV2::Route AwsSolutions-APIG4",
        "AWS::IAM::Policy AwsSolutions-IAM5[Resource::<PublishFormsFunctionB70AAEFF.Arn>:*]",
        "AWS::IAM::Role AwsSolutions-IAM5[Resource::<PublishFormsFunctionB70AAEFF.Arn>:*]",
        "AWS::Lambda::Function AwsSolutions-L1",
        "AWS::SecretsManager::Secret AwsSolutions-SMG4",
      ].sort(),
    );
  });

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
