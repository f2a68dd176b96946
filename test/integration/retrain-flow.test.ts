import { createRequire } from "node:module";
import { DescribeEndpointCommand } from "@aws-sdk/client-sagemaker";
import type { Context } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { handler as adapt } from "../../functions/retrain/adapt.js";
import { handler as evaluate } from "../../functions/retrain/evaluate.js";
import { handler as promote } from "../../functions/retrain/promote.js";
import { handler as train } from "../../functions/retrain/train.js";
import { handler as validate } from "../../functions/retrain/validate.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import type { ForecastErrorSummary } from "../../layers/domain/forecast.js";
import { forecastRunId } from "../../layers/domain/forecasting/forecast-error.js";
import {
  FORECAST_MODEL_NAME,
  modelVersionAt,
} from "../../layers/domain/retrain/model-parameters.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import {
  createRetrainWorld,
  HOUR,
  type RetrainWorld,
  serveInitialModel,
  usageHistory,
} from "../helpers/retrain-world.js";
import {
  type AslDefinition,
  type AslState,
  retrainDefinitionFromTemplate,
  taskEntry,
} from "../infra/state-machine-definition.js";
import { synthShaper } from "../infra/synth.js";

/**
 * The retrain flow as the stack defines it: the state machine's definition is taken from the
 * synthesised CDK template, checked with asl-validator, and run here — each Task state calls the
 * step handler its Lambda runs, in-process against moto, passing the state as Step Functions
 * would (JSON, the result replacing the state), each Choice evaluated on the state. moto cannot
 * run Lambda tasks without Docker, so this interpreter stands in for Step Functions.
 */

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** The handler each task entry runs (taskEntry names the module a rendered task resource runs). */
const HANDLERS: Record<string, Handler> = {
  "functions/retrain/evaluate.ts": evaluate as Handler,
  "functions/retrain/train.ts": train as Handler,
  "functions/retrain/validate.ts": validate as Handler,
  "functions/retrain/promote.ts": promote as Handler,
  "functions/retrain/adapt.ts": adapt as Handler,
};

interface AslValidation {
  isValid: boolean;
  errorsText: (separator?: string) => string;
}
// asl-validator is CommonJS without type declarations.
const aslValidator = createRequire(import.meta.url)("asl-validator") as (
  definition: unknown,
) => AslValidation;

/** The value at a `$.a.b` path of the state, or undefined. */
function valueAt(state: unknown, path: string): unknown {
  if (!path.startsWith("$")) throw new Error(`Unsupported path ${path}`);
  let value: unknown = state;
  for (const part of path.slice(1).split(".").filter(Boolean)) {
    if (value === null || typeof value !== "object" || !(part in value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Evaluates one Choice rule (the subset of ASL comparison operators the flow uses, or fails). */
function matches(rule: Record<string, unknown>, state: unknown): boolean {
  if (Array.isArray(rule.And)) return rule.And.every((r) => matches(r, state));
  if (Array.isArray(rule.Or)) return rule.Or.some((r) => matches(r, state));
  if (rule.Not) return !matches(rule.Not as Record<string, unknown>, state);
  const value = valueAt(state, String(rule.Variable));
  if ("IsPresent" in rule) return (value !== undefined) === rule.IsPresent;
  if ("BooleanEquals" in rule) return value === rule.BooleanEquals;
  if ("StringEquals" in rule) return value === rule.StringEquals;
  if ("IsNull" in rule) return (value === null) === rule.IsNull;
  throw new Error(`The test interpreter does not support the rule ${JSON.stringify(rule)}`);
}

/** Runs the definition from StartAt; returns the states visited and the final state. */
async function runFlow(
  definition: AslDefinition,
  input: Record<string, unknown>,
): Promise<{ visited: string[]; output: Record<string, unknown> }> {
  const visited: string[] = [];
  let state: unknown = input;
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    if (visited.length > 50) throw new Error(`No end after ${visited.join(" → ")}`);
    visited.push(name);
    const s: AslState | undefined = definition.States[name];
    if (!s) throw new Error(`State ${name} is not defined`);
    for (const field of ["InputPath", "Parameters", "ResultPath", "ResultSelector", "OutputPath"]) {
      if (field in s && s[field] !== "$") {
        throw new Error(
          `State ${name} uses ${field}; the test interpreter passes whole states only`,
        );
      }
    }
    switch (s.Type) {
      case "Task": {
        const handler = HANDLERS[taskEntry(String(s.Resource))];
        if (!handler) throw new Error(`No handler for ${s.Resource}`);
        // Step Functions passes JSON between states.
        state = JSON.parse(JSON.stringify(await handler(state, lambdaContext(name))));
        name = s.End ? undefined : s.Next;
        break;
      }
      case "Choice": {
        const choice = s.Choices?.find((rule) => matches(rule, state));
        const next: string | undefined = choice ? choice.Next : s.Default;
        if (next === undefined)
          throw new Error(`Choice ${name} matched nothing and has no Default`);
        name = next;
        break;
      }
      case "Pass":
      case "Wait":
        // A Wait only passes time; the steps it separates read the world afresh.
        name = s.End ? undefined : s.Next;
        break;
      case "Succeed":
        name = undefined;
        break;
      default:
        throw new Error(`State ${name} of type ${s.Type} is not supported by the test interpreter`);
    }
  }
  return { visited, output: state as Record<string, unknown> };
}

const TA = 1_794_999_600;
const TB = TA + 30 * 86_400;
const TC = TA + 60 * 86_400;
let world: RetrainWorld;
let definition: AslDefinition;

function summary(wql: number, points: number): ForecastErrorSummary {
  return {
    pinballSum: wql * 9 * 10 * points,
    absActualSum: 10 * points,
    quantileCount: 9,
    points,
    covered80: Math.round(0.8 * points),
  };
}

async function endpointConfig(): Promise<string | undefined> {
  const endpoint = await world.aws
    .sagemaker()
    .send(new DescribeEndpointCommand({ EndpointName: world.endpointName }));
  return endpoint.EndpointConfigName;
}

beforeAll(async () => {
  definition = retrainDefinitionFromTemplate(synthShaper().template);
  world = await createRetrainWorld();
  Object.assign(process.env, world.env);
  // The endpoint serves a model whose intervals are 5× too wide.
  await serveInitialModel(world, "initial", 5);
  await world.usageStore.putUsage([
    // TA: steady noise — a calibrated candidate beats the wide model.
    ...usageHistory(world.config, TA, 288, () => 4, 21),
    // TB: calm history, noisy hold-out — a candidate calibrated on the calm part loses.
    ...usageHistory(world.config, TB, 288, (h) => (h < 240 ? 1 : 12), 21),
  ]);
  const store = new DynamoDbForecastStore(
    world.aws.documentClient(),
    world.tables.forecasts,
    world.config.shardCount,
  );
  await store.putErrorSummary(forecastRunId(TA - HOUR), 0, { standard: summary(0.6, 400) });
  await store.putErrorSummary(forecastRunId(TB - HOUR), 0, { standard: summary(0.6, 400) });
  await store.putErrorSummary(forecastRunId(TC - HOUR), 0, { standard: summary(0.1, 400) });
}, 180_000);

describe("the retrain flow, driven in the definition's order", () => {
  it("is a valid Amazon States Language definition whose tasks run the retrain handlers", () => {
    const validation = aslValidator(structuredClone(definition));
    expect(validation.errorsText("\n")).toBe("");
    expect(validation.isValid).toBe(true);
    const entries = Object.values(definition.States)
      .filter((s) => s.Type === "Task")
      .map((s) => taskEntry(String(s.Resource)))
      .sort();
    expect(entries).toEqual(Object.keys(HANDLERS).sort());
  });

  it("with error within the threshold, skips retraining and only adapts policies", async () => {
    const { visited, output } = await runFlow(definition, {
      time: new Date(TC * 1000).toISOString(),
      trigger: "schedule",
    });
    expect(visited).toEqual(["Evaluate", "NeedsRetrain", "Adapt", "Done"]);
    expect(output.needsRetrain).toBe(false);
    expect(output.changes).toEqual([]);
    expect((await world.registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("initial");
  });

  it("with error above the threshold and a better candidate, promotes it: pointer moved, endpoint updated", async () => {
    const { visited, output } = await runFlow(definition, {
      time: new Date(TA * 1000).toISOString(),
      trigger: "forecast-error",
    });
    expect(visited).toEqual([
      "Evaluate",
      "NeedsRetrain",
      "Train",
      "Validate",
      "ShouldPromote",
      "Promote",
      "DeploymentPending",
      "Adapt",
      "Done",
    ]);
    const version = modelVersionAt(TA);
    // moto switches the endpoint at once, so Promote finds it serving on its first pass.
    expect(output.deployment).toBe("promoted");
    expect(output.needsRetrain).toBe(true);
    expect(output.promote).toBe(true);
    expect(output.promotedVersion).toBe(version);
    expect(output.trigger).toBe("forecast-error");
    const current = await world.registry.getCurrent(FORECAST_MODEL_NAME);
    expect(current?.version).toBe(version);
    expect(current?.metrics?.wql).toBeLessThan(
      (output.currentMetrics as { wql: number }).wql * 0.98,
    );
    expect(await endpointConfig()).toBe(`${world.endpointName}-${version}`);
  });

  it("then rejects a candidate no better than the model it promoted: the pointer and endpoint stay, the reason is recorded", async () => {
    const { visited, output } = await runFlow(definition, {
      time: new Date(TB * 1000).toISOString(),
      trigger: "forecast-error",
    });
    expect(visited).toEqual([
      "Evaluate",
      "NeedsRetrain",
      "Train",
      "Validate",
      "ShouldPromote",
      "Adapt",
      "Done",
    ]);
    const version = modelVersionAt(TB);
    expect(output.candidateVersion).toBe(version);
    expect(output.promote).toBe(false);
    expect(output.promotedVersion).toBeUndefined();
    const rejected = await world.registry.getVersion(FORECAST_MODEL_NAME, version);
    expect(rejected?.status).toBe("rejected");
    expect(rejected?.statusReason).toContain("is not below");
    expect(rejected?.statusReason).toBe(output.reason);
    expect((await world.registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe(
      modelVersionAt(TA),
    );
    expect(await endpointConfig()).toBe(`${world.endpointName}-${modelVersionAt(TA)}`);
  });
});
