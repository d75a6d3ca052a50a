import { CfnOutput, Duration, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccountRecovery,
  CfnManagedLoginBranding,
  ClientAttributes,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from "aws-cdk-lib/aws-cognito";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { FUNCTION_ENV } from "../functions/store/function-env.ts";

/** Paths of the engine's OIDC relying party, relative to the API base URL. */
export const SIGN_IN_PATHS = { callback: "/auth/callback", afterSignOut: "/signin" } as const;

/** An institution's OpenID provider, used instead of the stack's own user pool. */
export interface ExternalOidcProps {
  /** Issuer identifier, exactly as the provider's discovery document states it. */
  readonly oidcIssuer?: string;
  readonly oidcClientId?: string;
  /** Complete ARN of a Secrets Manager secret holding the client secret (confidential clients). */
  readonly oidcClientSecretArn?: string;
}

/** What the API function needs to be an OIDC relying party. */
export interface OidcClientConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: ISecret;
}

/** The three CDK context keys (`-c oidcIssuer=…`) that select an external provider. */
export function externalOidcFromContext(node: { tryGetContext(key: string): unknown }): ExternalOidcProps {
  const read = (key: keyof ExternalOidcProps) => {
    const value = node.tryGetContext(key);
    return value === undefined || value === "" ? undefined : String(value);
  };
  return {
    oidcIssuer: read("oidcIssuer"),
    oidcClientId: read("oidcClientId"),
    oidcClientSecretArn: read("oidcClientSecretArn"),
  };
}

/** True when the props name an external provider, i.e. the stack must not create a user pool. */
export function usesExternalOidc(props: ExternalOidcProps): boolean {
  return [props.oidcIssuer, props.oidcClientId, props.oidcClientSecretArn].some((v) => v !== undefined);
}

// A complete ARN ends in the 6-character suffix Secrets Manager appends; a grant on a partial ARN needs a wildcard.
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * Checks an external provider's settings at synth time, so a typo fails
 * `cdk synth` rather than every sign-in after deploy.
 */
export function externalOidcClient(scope: Construct, props: ExternalOidcProps): OidcClientConfig {
  const { oidcIssuer: issuer, oidcClientId: clientId, oidcClientSecretArn: secretArn } = props;
  if (!issuer || !clientId) {
    throw new Error("An external OpenID provider needs both oidcIssuer and oidcClientId.");
  }
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`oidcIssuer is not a URL: ${issuer}`);
  }
  // OpenID Connect Discovery §3: the issuer is an https URL with no query or fragment.
  if (url.protocol !== "https:" || url.search || url.hash) {
    throw new Error(`oidcIssuer must be an https URL without query or fragment: ${issuer}`);
  }
  if (secretArn !== undefined && !COMPLETE_SECRET_ARN.test(secretArn)) {
    throw new Error(`oidcClientSecretArn must be the complete ARN of a Secrets Manager secret: ${secretArn}`);
  }
  return {
    issuer,
    clientId,
    ...(secretArn
      ? { clientSecret: Secret.fromSecretCompleteArn(scope, "OidcClientSecret", secretArn) }
      : {}),
  };
}

/**
 * The managed-login domain prefix: the stack name plus the first block of the
 * stack's UUID. Prefixes are global per region, so the name alone could clash
 * with another account's; Cognito also refuses the words aws, amazon, cognito.
 */
export function hostedDomainPrefix(stack: Stack): string {
  const name = stack.stackName
    .toLowerCase()
    .replace(/aws|amazon|cognito/g, "")
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const stackUuidHead = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", stack.stackId))));
  return `${name || "edc"}-${stackUuidHead}`;
}

export interface StudyUserPoolProps {
  readonly stage: string;
  /** The public URL people use (the CloudFront distribution's, or its custom domain), without a trailing slash. */
  readonly apiBaseUrl: string;
}

/**
 * The study's people when no institutional IdP is configured: a Cognito user
 * pool that only admins populate, with TOTP MFA required, threat protection
 * enforced, and one public app client for the engine's authorization code +
 * PKCE sign-in through the managed login pages.
 */
export class StudyUserPool extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  readonly oidc: OidcClientConfig;

  constructor(scope: Construct, id: string, props: StudyUserPoolProps) {
    super(scope, id);
    const userPool = new UserPool(this, "UserPool", {
      userPoolName: `edc-${props.stage}-people`,
      // People are named by an admin (issue 11 §2); nobody enrols themselves.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      // An unverified new address does not replace the one people are known by.
      keepOriginal: { email: true },
      // The name is what the audit trail and signatures show: required when an admin creates the person.
      standardAttributes: {
        email: { required: true, mutable: true },
        fullname: { required: true, mutable: true },
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        // Long enough to span a weekend between invitation and first sign-in, no longer.
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 24,
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // PLUS is the plan that carries threat protection (adaptive authentication, compromised credentials).
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      // People's identities (`sub`) are what the audit trail names: they outlive any stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const domain = userPool.addDomain("SignInDomain", {
      cognitoDomain: { domainPrefix: hostedDomainPrefix(Stack.of(this)) },
      managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });

    const client = userPool.addClient("EngineClient", {
      userPoolClientName: `edc-${props.stage}-engine`,
      // Public client: the engine always sends a PKCE challenge, so an intercepted code is useless
      // without the verifier, and there is no client secret to copy, store or rotate.
      generateSecret: false,
      // SRP for the managed login pages' password step; refresh is implied. No plain-password or custom flows.
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [`${props.apiBaseUrl}${SIGN_IN_PATHS.callback}`],
        logoutUrls: [`${props.apiBaseUrl}${SIGN_IN_PATHS.afterSignOut}`],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      // The ID token is read once, at the callback; the engine's own session takes over from there.
      idTokenValidity: Duration.minutes(15),
      accessTokenValidity: Duration.minutes(15),
      refreshTokenValidity: Duration.hours(1),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
      // Name and email are set by an admin: a person cannot rename themselves in the audit trail.
      writeAttributes: new ClientAttributes().withStandardAttributes({ locale: true, timezone: true }),
    });

    // Managed login (v2) shows no page until the client has a branding style; Cognito's default is enough.
    new CfnManagedLoginBranding(this, "ManagedLoginBranding", {
      userPoolId: userPool.userPoolId,
      clientId: client.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.userPool = userPool;
    this.client = client;
    this.domain = domain;
    this.oidc = { issuer: userPool.userPoolProviderUrl, clientId: client.userPoolClientId };

    new CfnOutput(this, "UserPoolId", {
      key: "UserPoolId",
      description: "Cognito user pool of the study's people",
      value: userPool.userPoolId,
    });
    new CfnOutput(this, "SignInDomain", {
      key: "SignInDomain",
      description: "Managed login (hosted sign-in) base URL",
      value: domain.baseUrl(),
    });
    new CfnOutput(this, "UserPoolClientId", {
      key: "UserPoolClientId",
      description: "App client id of the EDC engine",
      value: client.userPoolClientId,
    });
  }
}

/** Gives `fn` the relying-party settings: issuer, client id, and the client secret's ARN if there is one. */
export function configureOidcClient(fn: LambdaFunction, oidc: OidcClientConfig): void {
  fn.addEnvironment(FUNCTION_ENV.oidcIssuer, oidc.issuer);
  fn.addEnvironment(FUNCTION_ENV.oidcClientId, oidc.clientId);
  if (oidc.clientSecret) {
    oidc.clientSecret.grantRead(fn);
    fn.addEnvironment(FUNCTION_ENV.oidcClientSecretArn, oidc.clientSecret.secretArn);
  }
}
