import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { lambdaStep } from "./lambda-step.js";
import { acknowledgeStateMachineRole } from "./pipeline.js";

/** Source and detail-type of the event the forecast stage publishes when error passes the threshold. */
export const FORECAST_ERROR_EVENT = {
  source: "shaper.forecast",
  detailType: "ForecastErrorThresholdExceeded",
} as const;

/** State names of the retrain flow, in the order a full run visits them. */
export const RETRAIN_STATES = {
  evaluate: "Evaluate",
  needsRetrain: "NeedsRetrain",
  train: "Train",
  validate: "Validate",
  shouldPromote: "ShouldPromote",
  promote: "Promote",
  deploymentPending: "DeploymentPending",
  waitForEndpoint: "WaitForEndpoint",
  adapt: "Adapt",
  done: "Done",
} as const;

export interface RetrainFunctions {
  readonly evaluate: lambda.IFunction;
  readonly train: lambda.IFunction;
  readonly validate: lambda.IFunction;
  readonly promote: lambda.IFunction;
  readonly adapt: lambda.IFunction;
}

export interface RetrainFlowProps {
  readonly functions: RetrainFunctions;
  /**
   * Event bus the forecast stage publishes `ForecastErrorThresholdExceeded` to.
   * @default - the account's default bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Daily run, whatever the error: UTC hour and minute.
   * @default { hour: 3, minute: 17 }
   */
  readonly dailyAt?: { readonly hour: number; readonly minute: number };
  /**
   * Wait between Promote's checks of the endpoint while it updates to the candidate.
   * @default Duration.seconds(60)
   */
  readonly deployCheckInterval?: Duration;
  /**
   * Longest a retrain run may take.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The retrain flow: Evaluate → (needsRetrain?) Train → Validate → (promote?) Promote →
 * (deployment pending? wait, Promote again) → Adapt → Done. "No retrain needed" and "candidate rejected" go straight to Adapt, so policies adapt on
 * every run. Each step is a Lambda whose input and output is the whole flow state
 * (`payloadResponseOnly`, result replaces the state). Started by the forecast stage's
 * `ForecastErrorThresholdExceeded` event and once a day.
 */
export class RetrainFlow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly errorRule: events.Rule;
  readonly dailyRule: events.Rule;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RetrainFlowProps) {
    super(scope, id);
    const { functions } = props;
    const s = RETRAIN_STATES;

    const evaluate = lambdaStep(this, s.evaluate, functions.evaluate, {
      comment: "Accumulated forecast error (forecasts vs collected usage); sets needsRetrain.",
    });
    const train = lambdaStep(this, s.train, functions.train, {
      comment: "Trains a candidate on recent history; writes its artefact to S3.",
    });
    const validate = lambdaStep(this, s.validate, functions.validate, {
      comment: "Candidate vs current model on held-out recent data; sets promote.",
    });
    const promote = lambdaStep(this, s.promote, functions.promote, {
      comment:
        "Starts UpdateEndpoint to the candidate; moves the registry pointer once the endpoint serves it (deployment: promoted | pending | rejected).",
    });
    const adapt = lambdaStep(this, s.adapt, functions.adapt, {
      comment: "Adapts per-tier policy knobs towards each tier's service target.",
    });
    const done = new sfn.Succeed(this, s.done);
    adapt.next(done);

    const definition = evaluate.next(
      new sfn.Choice(this, s.needsRetrain)
        .when(
          sfn.Condition.and(
            sfn.Condition.isPresent("$.needsRetrain"),
            sfn.Condition.booleanEquals("$.needsRetrain", true),
          ),
          train.next(validate).next(
            new sfn.Choice(this, s.shouldPromote)
              .when(
                sfn.Condition.and(
                  sfn.Condition.isPresent("$.promote"),
                  sfn.Condition.booleanEquals("$.promote", true),
                ),
                promote.next(
                  new sfn.Choice(this, s.deploymentPending)
                    .when(
                      sfn.Condition.and(
                        sfn.Condition.isPresent("$.deployment"),
                        sfn.Condition.stringEquals("$.deployment", "pending"),
                      ),
                      new sfn.Wait(this, s.waitForEndpoint, {
                        comment:
                          "SageMaker updates an endpoint over minutes; Promote checks again.",
                        time: sfn.WaitTime.duration(
                          props.deployCheckInterval ?? Duration.seconds(60),
                        ),
                      }).next(promote),
                    )
                    .otherwise(adapt),
                ),
              )
              .otherwise(adapt),
          ),
        )
        .otherwise(adapt),
    );

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      comment: "shaper retrain: evaluate, retrain, validate, promote, adapt",
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout ?? Duration.hours(2),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeStateMachineRole(this.stateMachine, Object.values(functions));

    const target = (trigger: string) =>
      new targets.SfnStateMachine(this.stateMachine, {
        input: events.RuleTargetInput.fromObject({
          time: events.EventField.time,
          trigger,
        }),
        retryAttempts: 2,
      });
    this.errorRule = new events.Rule(this, "OnForecastError", {
      description: "Retrains when accumulated forecast error passes the threshold",
      ...(props.eventBus ? { eventBus: props.eventBus } : {}),
      eventPattern: {
        source: [FORECAST_ERROR_EVENT.source],
        detailType: [FORECAST_ERROR_EVENT.detailType],
      },
      targets: [target("forecast-error")],
    });
    const at = props.dailyAt ?? { hour: 3, minute: 17 };
    this.dailyRule = new events.Rule(this, "Daily", {
      description: "Retrain flow, daily",
      schedule: events.Schedule.cron({ hour: String(at.hour), minute: String(at.minute) }),
      targets: [target("schedule")],
    });
  }
}
