import { App } from "aws-cdk-lib";
import { addNagChecks } from "./nag.ts";
import { customDomainFromContext, priceClassFromContext } from "./public-endpoint.ts";
import { externalOidcFromContext } from "./sign-in.ts";
import { EdcStack } from "./stack.ts";

/**
 * `cdk synth` / `cdk deploy`. Environment-agnostic (no account/region lookups),
 * so it synthesizes without credentials. `-c stage=prod` names a second
 * deployment of the same stack (`Edc-prod`). `-c oidcIssuer=… -c oidcClientId=…`
 * (and optionally `-c oidcClientSecretArn=…`) sign people in at the
 * institution's OpenID provider instead of a user pool created by the stack.
 * `-c domainName=edc.example.org -c certificateArn=arn:aws:acm:us-east-1:…`
 * serves the distribution at that name (TLSv1.2 minimum); `-c priceClass=PriceClass_All`
 * widens its edge locations.
 */
const app = new App();
const stage = String(app.node.tryGetContext("stage") ?? "dev");
new EdcStack(app, `Edc-${stage}`, {
  stage,
  ...externalOidcFromContext(app.node),
  ...customDomainFromContext(app.node),
  ...priceClassFromContext(app.node),
});
addNagChecks(app);
