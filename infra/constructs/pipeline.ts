import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { acknowledgeAll, arnWildcardFinding, logicalIdOf } from "./acknowledge.js";
import { lambdaStep } from "./lambda-step.js";

export interface PipelineFunctions {
  readonly collectShard: lambda.IFunction;
  readonly collectPools: lambda.IFunction;
  readonly forecastShard: lambda.IFunction;
  readonly forecastPools: lambda.IFunction;
  readonly plan: lambda.IFunction;
}

export interface PipelineProps {
  readonly functions: PipelineFunctions;
  /** Number of user shards (the config's `shardCount`); each is one Map item. */
  readonly shardCount: number;
  /** Length of one interval, in seconds (the config's `intervalSeconds`); the schedule's rate. */
  readonly intervalSeconds: number;
  /**
   * Shards processed at once by each Map (bounded by the account's Lambda concurrency).
   * @default 40
   */
  readonly shardConcurrency?: number;
  /**
   * Longest a pipeline run may take before Step Functions stops it.
   * @default Duration.hours(1)
   */
  readonly timeout?: Duration;
  /**
   * Whether the schedule starts runs (disable to deploy without acting).
   * @default true
   */
  readonly scheduleEnabled?: boolean;
  /**
   * Retention of the state machine's execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The pipeline: every `intervalSeconds` an EventBridge rule starts a STANDARD state machine that
 * collects each shard (Distributed Map), then pool load, forecasts each shard (Distributed Map),
 * then the pools, and plans. A shard that still fails after its retries is caught and recorded
 * as `{ shard, failed: true, error }` in the Map's result; the other shards and the later stages
 * go on. Distributed Map (child executions) rather than an inline Map because an inline Map's
 * iterations share the parent's 25,000-event history, which a few thousand shards exhaust.
 */
export class Pipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: events.Rule;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { functions } = props;
    if (!Number.isInteger(props.intervalSeconds / 60)) {
      throw new Error(
        `intervalSeconds ${props.intervalSeconds} is not a whole number of minutes. Expected a multiple of 60: EventBridge schedules fire at minute granularity. Change "intervalSeconds" in the config.`,
      );
    }
    const shards = Array.from({ length: props.shardCount }, (_, shard) => shard);
    const concurrency = props.shardConcurrency ?? 40;

    const prepare = new sfn.Pass(this, "Prepare", {
      comment: "The interval's time and the static shard list.",
      parameters: { "time.$": "$.time", shards },
    });
    const collectShards = this.shardMap("CollectShards", functions.collectShard, concurrency);
    const collectPools = lambdaStep(this, "CollectPools", functions.collectPools, {
      payload: sfn.TaskInput.fromObject({ time: sfn.JsonPath.stringAt("$.time") }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const forecastShards = this.shardMap("ForecastShards", functions.forecastShard, concurrency);
    const forecastPools = lambdaStep(this, "ForecastPools", functions.forecastPools, {
      payload: sfn.TaskInput.fromObject({ time: sfn.JsonPath.stringAt("$.time") }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const plan = lambdaStep(this, "Plan", functions.plan, {
      payload: sfn.TaskInput.fromObject({ time: sfn.JsonPath.stringAt("$.time") }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const definition = prepare
      .next(collectShards)
      .next(collectPools)
      .next(forecastShards)
      .next(forecastPools)
      .next(plan);

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      comment: "shaper pipeline: collect → forecast → plan, once per interval",
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout ?? Duration.hours(1),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeStateMachineRole(this.stateMachine, [
      functions.collectShard,
      functions.collectPools,
      functions.forecastShard,
      functions.forecastPools,
      functions.plan,
    ]);
    // The CDK's Distributed Map policy lets the state machine start, describe and stop its own
    // child executions, whose names Step Functions generates at run time.
    const machineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(this.stateMachine)}"}]}]}`;
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machineName}`;
    acknowledgeAll(
      this.stateMachine,
      ["", "/CollectShards", "/ForecastShards"].map((suffix) => ({
        id: `AwsSolutions-IAM5[Resource::${executions}${suffix}:*]`,
        reason:
          "Distributed Map: the pipeline describes and stops its own child executions (of this state machine only), whose ids Step Functions generates at run time.",
      })),
    );

    this.schedule = new events.Rule(this, "Schedule", {
      description: `Starts the shaper pipeline every ${props.intervalSeconds} s`,
      schedule: events.Schedule.rate(Duration.minutes(props.intervalSeconds / 60)),
      enabled: props.scheduleEnabled ?? true,
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ time: events.EventField.time }),
          retryAttempts: 2,
          maxEventAge: Duration.seconds(props.intervalSeconds),
        }),
      ],
    });
  }

  private shardMap(id: string, fn: lambda.IFunction, concurrency: number): sfn.DistributedMap {
    const map = new sfn.DistributedMap(this, id, {
      comment: `One child execution per shard; a failed shard is recorded, the others go on.`,
      itemsPath: "$.shards",
      itemSelector: {
        "time.$": "$.time",
        "shard.$": "$$.Map.Item.Value",
      },
      maxConcurrency: concurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      // Only the failed shards stay in the state: the raw results (one small object per shard)
      // would otherwise accumulate over both Maps towards the 256 KiB state limit.
      resultSelector: { "failedShards.$": "$[?(@.failed == true)]" },
      resultPath: `$.${id[0]?.toLowerCase()}${id.slice(1)}`,
      label: id,
    });
    // Each item's result stays tiny (10,000 shards ≈ 120 KiB of raw results).
    const task = lambdaStep(this, `${id}Item`, fn, { resultSelector: { ok: true } });
    const failed = new sfn.Pass(this, `${id}ItemFailed`, {
      comment: "Records the failed shard; the Map and the pipeline go on.",
      parameters: {
        "shard.$": "$.shard",
        failed: true,
        "error.$": "$.error.Error",
      },
    });
    task.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: "$.error" });
    map.itemProcessor(task);
    return map;
  }
}

/**
 * Acknowledges the wildcards in a state machine role that the CDK adds for Lambda tasks, X-Ray and
 * log delivery.
 *
 * @param stateMachine the state machine
 * @param invoked the functions its tasks invoke
 */
export function acknowledgeStateMachineRole(
  stateMachine: sfn.StateMachine,
  invoked: readonly lambda.IFunction[],
): void {
  const policy = stateMachine.role.node.tryFindChild("DefaultPolicy");
  if (!policy) return;
  acknowledgeAll(policy, [
    {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray (PutTraceSegments, GetSamplingRules…) and CloudWatch Logs delivery (CreateLogDelivery, DescribeResourcePolicies…) have no resource-level permissions; the CDK adds them for tracing and execution logging.",
    },
    ...invoked.map((fn) => ({
      id: arnWildcardFinding(fn, ":*"),
      reason:
        "Invoking a Lambda task: the CDK grants the function ARN and its qualified versions/aliases (ARN:*), nothing else.",
    })),
  ]);
}
