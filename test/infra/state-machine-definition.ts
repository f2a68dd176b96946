import { createRequire } from "node:module";
import type { Template } from "aws-cdk-lib/assertions";

/**
 * Renders state machine definitions from a synthesised template into plain Amazon States
 * Language, so tests can validate them (asl-validator) and walk them. The template's
 * `DefinitionString` is an `Fn::Join` with `Fn::GetAtt` references to the task functions; each
 * becomes `arn:aws:lambda:us-east-1:123456789012:function:<service>`, where `<service>` is the
 * function's POWERTOOLS_SERVICE_NAME (e.g. `retrain-evaluate`), so that `taskEntry` can name the
 * handler module that the state runs.
 */

/** A state of an ASL definition (only the fields the tests read are typed). */
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Resource?: string;
  readonly Choices?: ReadonlyArray<Record<string, unknown> & { readonly Next: string }>;
  readonly Catch?: ReadonlyArray<{ readonly ErrorEquals: string[]; readonly Next: string }>;
  readonly Retry?: ReadonlyArray<Record<string, unknown> & { readonly ErrorEquals: string[] }>;
  readonly ItemProcessor?: AslDefinition;
  readonly [key: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly [key: string]: unknown;
}

const ACCOUNT_ARN_PREFIX = "arn:aws:lambda:us-east-1:123456789012:function:";

/**
 * The ASL of the state machine whose logical id starts with `logicalIdPrefix`.
 *
 * @param template the stack's template
 * @param logicalIdPrefix e.g. "RetrainStateMachine" or "PipelineStateMachine"
 * @returns the parsed definition, task resources rendered as Lambda ARNs named by service
 * @throws Error when no or several state machines match, or a reference cannot be rendered
 */
export function stateMachineDefinitionFromTemplate(
  template: Template,
  logicalIdPrefix: string,
): AslDefinition {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  const ids = Object.keys(resources).filter(
    (id) =>
      id.startsWith(logicalIdPrefix) && resources[id]?.Type === "AWS::StepFunctions::StateMachine",
  );
  if (ids.length !== 1) {
    throw new Error(
      `Expected one state machine with id ${logicalIdPrefix}…, found ${ids.length}: ${ids.join(", ")}`,
    );
  }
  const definition = resources[ids[0]!]?.Properties?.DefinitionString;
  return JSON.parse(renderIntrinsic(definition, resources)) as AslDefinition;
}

/** The retrain flow's definition (see `stateMachineDefinitionFromTemplate`). */
export function retrainDefinitionFromTemplate(template: Template): AslDefinition {
  return stateMachineDefinitionFromTemplate(template, "RetrainStateMachine");
}

/** The pipeline's definition (see `stateMachineDefinitionFromTemplate`). */
export function pipelineDefinitionFromTemplate(template: Template): AslDefinition {
  return stateMachineDefinitionFromTemplate(template, "PipelineStateMachine");
}

/**
 * The handler module a rendered task resource runs: service `retrain-evaluate` →
 * `functions/retrain/evaluate.ts` (the stack names every service `<folder>-<file>`).
 *
 * @param resource a task's `Resource` from a rendered definition
 * @returns the entry path relative to the repository root
 */
export function taskEntry(resource: string): string {
  if (!resource.startsWith(ACCOUNT_ARN_PREFIX)) {
    throw new Error(`${resource} is not a rendered Lambda task resource`);
  }
  const service = resource.slice(ACCOUNT_ARN_PREFIX.length);
  const dash = service.indexOf("-");
  return `functions/${service.slice(0, dash)}/${service.slice(dash + 1)}.ts`;
}

function renderIntrinsic(
  value: unknown,
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>,
): string {
  if (typeof value === "string") return value;
  const node = value as Record<string, unknown>;
  if (Array.isArray(node["Fn::Join"])) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map((part) => renderIntrinsic(part, resources)).join(separator);
  }
  if (Array.isArray(node["Fn::GetAtt"])) {
    const [id, attribute] = node["Fn::GetAtt"] as [string, string];
    const resource = resources[id];
    if (resource?.Type === "AWS::Lambda::Function" && attribute === "Arn") {
      const env = (resource.Properties?.Environment as { Variables?: Record<string, string> })
        ?.Variables;
      return `${ACCOUNT_ARN_PREFIX}${env?.POWERTOOLS_SERVICE_NAME ?? id}`;
    }
    return `arn:aws:cloudformation:us-east-1:123456789012:${id}/${attribute}`;
  }
  if (typeof node.Ref === "string")
    return `arn:aws:cloudformation:us-east-1:123456789012:${node.Ref}`;
  throw new Error(`Cannot render ${JSON.stringify(value)} in a state machine definition`);
}

/** What asl-validator reports. */
export interface AslValidation {
  readonly isValid: boolean;
  readonly errors: ReadonlyArray<{ readonly message?: string; readonly "Error code"?: string }>;
}

/**
 * Validates a definition with asl-validator (schema, transitions, terminal states, JSONPath
 * fields). asl-validator is CommonJS without typings, hence the typed require.
 */
export function validateAsl(definition: AslDefinition): AslValidation {
  const require = createRequire(import.meta.url);
  const validator = require("asl-validator") as (definition: unknown) => AslValidation;
  // The validator annotates states in place (QueryLanguage); give it a copy.
  return validator(structuredClone(definition));
}
