import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readShaperContext } from "./shaper-context.js";
import { ShaperStack } from "./shaper-stack.js";

// The CDK app (cdk.json "app"). Everything comes from context and the config file; no lookups,
// so `cdk synth` works offline. cdk-nag's AwsSolutions pack runs on every synth: an
// unacknowledged finding fails it.
const app = new App();
const context = readShaperContext(app.node);
new ShaperStack(app, context.stackName, {
  stackName: context.stackName,
  description: "shaper: predictive resource shaping (forecast, pre-allocate, scale ahead, shape)",
  config: context.config,
  configUpdatedAt: context.configUpdatedAt,
  ...(context.jwt ? { jwt: context.jwt } : {}),
  ...(context.alarmEmail ? { alarmEmail: context.alarmEmail } : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
