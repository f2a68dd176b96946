import { Match, Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { Pipeline } from "../../infra/constructs/pipeline.js";
import {
  type AslDefinition,
  pipelineDefinitionFromTemplate,
  taskEntry,
  validateAsl,
} from "./state-machine-definition.js";
import { emptyStack, synthShaper } from "./synth.js";

describe("Pipeline", () => {
  let template: Template;
  let definition: AslDefinition;

  beforeAll(() => {
    ({ template } = synthShaper());
    definition = pipelineDefinitionFromTemplate(template);
  });

  it("starts the pipeline every intervalSeconds with the event's time", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp("^PipelineStateMachine") },
          InputTransformer: { InputPathsMap: { time: "$.time" }, InputTemplate: '{"time":<time>}' },
        }),
      ],
    });
  });

  it("renders a definition that asl-validator accepts", () => {
    const result = validateAsl(definition);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("keeps only the failed shards of each Map in the state", () => {
    for (const map of ["CollectShards", "ForecastShards"]) {
      expect(definition.States[map]?.ResultSelector).toEqual({
        "failedShards.$": "$[?(@.failed == true)]",
      });
    }
  });

  it("is a STANDARD state machine with full logging and tracing", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: "ALL" },
    });
  });

  it("runs collect shards → collect pools → forecast shards → forecast pools → plan", () => {
    const order: string[] = [];
    let name: string | undefined = definition.StartAt;
    while (name) {
      order.push(name);
      name = definition.States[name]?.Next;
    }
    expect(order).toEqual([
      "Prepare",
      "CollectShards",
      "CollectPools",
      "ForecastShards",
      "ForecastPools",
      "Plan",
    ]);
    expect(definition.States.Plan?.End).toBe(true);
    const entries = ["CollectPools", "ForecastPools", "Plan"].map((state) =>
      taskEntry(definition.States[state]!.Resource!),
    );
    expect(entries).toEqual([
      "functions/collect/pools.ts",
      "functions/forecast/pools.ts",
      "functions/shape/plan.ts",
    ]);
  });

  it("maps over the static shard list [0..shardCount-1] with items { time, shard }", () => {
    expect(definition.States.Prepare?.Parameters).toEqual({
      "time.$": "$.time",
      shards: Array.from({ length: 16 }, (_, i) => i),
    });
    for (const [map, entry] of [
      ["CollectShards", "functions/collect/shard.ts"],
      ["ForecastShards", "functions/forecast/shard.ts"],
    ] as const) {
      const state = definition.States[map]!;
      expect(state.Type).toBe("Map");
      expect(state.ItemsPath).toBe("$.shards");
      expect(state.ItemSelector).toEqual({ "time.$": "$.time", "shard.$": "$$.Map.Item.Value" });
      expect(state.ItemProcessor?.ProcessorConfig).toEqual({
        Mode: "DISTRIBUTED",
        ExecutionType: "STANDARD",
      });
      const item = state.ItemProcessor!.States[`${map}Item`]!;
      expect(taskEntry(item.Resource!)).toBe(entry);
    }
  });

  it("catches a shard that still fails after its retries so the other shards and stages go on", () => {
    const processor = definition.States.CollectShards!.ItemProcessor!;
    const item = processor.States.CollectShardsItem!;
    expect(item.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "CollectShardsItemFailed" },
    ]);
    const failed = processor.States.CollectShardsItemFailed!;
    expect(failed.Type).toBe("Pass");
    expect(failed.Parameters).toEqual({
      "shard.$": "$.shard",
      failed: true,
      "error.$": "$.error.Error",
    });
    expect(failed.End).toBe(true);
  });

  it("retries Lambda service errors and task failures with backoff, but not validation or config errors", () => {
    for (const retries of [
      definition.States.CollectShards!.ItemProcessor!.States.CollectShardsItem!.Retry,
      definition.States.Plan!.Retry,
    ]) {
      expect(retries).toEqual([
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(["Lambda.ServiceException"]),
          BackoffRate: 2,
        }),
        { ErrorEquals: ["ValidationError", "ConfigError"], MaxAttempts: 0 },
        expect.objectContaining({
          ErrorEquals: ["States.TaskFailed", "States.Timeout"],
          BackoffRate: 2,
          JitterStrategy: "FULL",
        }),
      ]);
    }
  });

  it("refuses an interval that EventBridge cannot schedule", () => {
    const stack = emptyStack();
    const fn = new lambda.Function(stack, "Fn", {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("export const handler = async () => ({});"),
    });
    const functions = {
      collectShard: fn,
      collectPools: fn,
      forecastShard: fn,
      forecastPools: fn,
      plan: fn,
    };
    expect(
      () => new Pipeline(stack, "Pipeline", { functions, shardCount: 2, intervalSeconds: 90 }),
    ).toThrow(/intervalSeconds 90 is not a whole number of minutes/);
    new Pipeline(stack, "Hourly", { functions, shardCount: 3, intervalSeconds: 3600 });
    Template.fromStack(stack).hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 hour)",
    });
  });
});
