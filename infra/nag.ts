import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";

/**
 * Runs the cdk-nag AWS Solutions pack over every stack of the app at synth
 * time; an unacknowledged finding fails `cdk synth`. cdk-nag 3 is a CDK
 * policy-validation plugin (not an Aspect): acknowledgments are made with
 * `Validations.of(construct).acknowledge({ id, reason })` beside the construct
 * they concern (see infra/stack.ts), and are written into the template's
 * resource Metadata (`cdk_nag.rules_to_suppress`) so the deployed template
 * carries every exception with its reason.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
}
