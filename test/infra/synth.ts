import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { REPO_ROOT } from "../../infra/paths.js";
import { readShaperContext, type ShaperContext } from "../../infra/shaper-context.js";
import { ShaperStack } from "../../infra/shaper-stack.js";

/** The context of cdk.json (feature flags, shaper defaults), so tests synthesise what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(join(REPO_ROOT, "cdk.json"), "utf8"),
).context;

/** A fixed `updatedAt` so templates do not depend on the config file's modification time. */
export const TEST_CONFIG_UPDATED_AT = 1_800_000_000;

export interface SynthOptions {
  /** Extra context (e.g. `shaper:configFile`, `shaper:jwtIssuer`). */
  readonly context?: Record<string, unknown>;
  /** Bundle the functions with esbuild (slow); otherwise asset bundling is skipped. */
  readonly bundle?: boolean;
  /** Cloud assembly directory. @default a fresh temporary directory */
  readonly outdir?: string;
}

export interface SynthResult {
  readonly app: App;
  readonly stack: ShaperStack;
  readonly template: Template;
  readonly context: ShaperContext;
}

/**
 * Builds the app as infra/app.ts does (context from cdk.json plus `options.context`) and
 * synthesises the stack's template. Without `bundle`, asset bundling is skipped
 * (`aws:cdk:bundling-stacks` = []) so that assertions on the template stay fast.
 */
export function synthShaper(options: SynthOptions = {}): SynthResult {
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      "shaper:configUpdatedAt": String(TEST_CONFIG_UPDATED_AT),
      ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
      ...options.context,
    },
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const context = readShaperContext(app.node);
  const stack = new ShaperStack(app, context.stackName, {
    stackName: context.stackName,
    config: context.config,
    configUpdatedAt: context.configUpdatedAt,
    ...(context.jwt ? { jwt: context.jwt } : {}),
    ...(context.alarmEmail ? { alarmEmail: context.alarmEmail } : {}),
  });
  return { app, stack, template: Template.fromStack(stack), context };
}

/** A new app with cdk.json's context and one empty stack, for construct-level tests. */
export function emptyStack(): Stack {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, "aws:cdk:bundling-stacks": [] } });
  return new Stack(app, "Test");
}

/**
 * Runs cdk-nag's AwsSolutions pack over a construct tree and lists every unacknowledged finding
 * (errors and warnings) as `severity rule at path`.
 */
export function nagFindings(scope: App | Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

/** Resources of one type, by logical id. */
export function resourcesOfType(
  template: Template,
  type: string,
): Record<string, { Properties: Record<string, unknown> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
}

/** The logical id of the single resource of `type` whose id starts with `prefix`. */
export function logicalIdStartingWith(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) {
    throw new Error(`Expected one ${type} with id ${prefix}…, found ${ids.length}: ${ids}`);
  }
  return ids[0]!;
}
