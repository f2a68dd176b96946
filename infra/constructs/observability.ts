import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { ShaperFunction } from "./shaper-function.js";

/** Metric the forecast functions emit (Powertools EMF) when the in-function fallback model answers. */
export const FORECAST_FALLBACKS_METRIC = "ForecastFallbacks";
/** Weighted quantile loss of the last hour's pool forecasts, emitted by forecast-pools. */
export const FORECAST_ERROR_METRIC = "ForecastWqlLastHour";

export interface ObservabilityProps {
  /** Functions whose errors raise an alarm. */
  readonly functions: readonly ShaperFunction[];
  /** State machines whose failed executions raise an alarm, by a short name. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /** Namespace of shaper's own metrics. */
  readonly metricsNamespace: string;
  /** `service` dimension values of the functions that emit ForecastFallbacks. */
  readonly forecastServices: readonly string[];
  /** `service` dimension value of the function that emits ForecastWqlLastHour. */
  readonly forecastErrorService: string;
  /** Length of one pipeline interval, in seconds: the period of the pipeline's metrics. */
  readonly intervalSeconds: number;
  /**
   * The admission API, for the dashboard.
   * @default - no API widgets
   */
  readonly api?: apigwv2.HttpApi;
  /**
   * Email address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Consecutive intervals with fallback forecasts before the fallback alarm fires (a few in a
   * row mean the endpoint is down, not blinking).
   * @default 3
   */
  readonly fallbackEvaluationIntervals?: number;
}

/**
 * Alarms and a dashboard: an alarm on each function's Errors, on each state machine's failed
 * executions and on ForecastFallbacks, all notifying an SNS topic (KMS-encrypted, SSL only);
 * a dashboard with the pipeline, the functions, the API and the forecasts.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    // CloudWatch alarms cannot publish to a topic under the AWS managed SNS key: it needs a
    // customer managed key whose policy lets CloudWatch use it.
    const key = new kms.Key(this, "TopicKey", {
      description: "Encrypts shaper's alarm topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
      }),
    );
    this.topic = new sns.Topic(this, "Alarms", {
      displayName: "shaper alarms",
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const action = new actions.SnsAction(this.topic);
    const period = Duration.seconds(props.intervalSeconds);

    for (const fn of props.functions) {
      this.addAlarm(
        `${fn.node.id}Errors`,
        fn.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
        `shaper ${fn.serviceName}: the function failed (Errors >= 1 in 5 min). Its log group has the error.`,
        action,
      );
    }
    for (const [name, machine] of Object.entries(props.stateMachines)) {
      this.addAlarm(
        `${name}ExecutionsFailed`,
        machine.metricFailed({ period: Duration.minutes(5), statistic: "Sum" }),
        `shaper ${name}: an execution failed (ExecutionsFailed >= 1 in 5 min). Open it in the Step Functions console.`,
        action,
      );
    }
    const fallbacks = this.forecastFallbacks(props, period);
    this.addAlarm(
      "ForecastFallbacks",
      fallbacks,
      `shaper forecast: the in-function fallback model answered in ${props.fallbackEvaluationIntervals ?? 3} intervals in a row. Check the SageMaker endpoint and the forecast functions' logs (fallbackReason).`,
      action,
      props.fallbackEvaluationIntervals ?? 3,
    );

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      defaultInterval: Duration.hours(6),
    });
    const executions = (name: string, machine: sfn.IStateMachine) =>
      new cloudwatch.GraphWidget({
        title: `${name} executions`,
        left: [
          machine.metricStarted({ period }),
          machine.metricSucceeded({ period }),
          machine.metricFailed({ period }),
        ],
        right: [machine.metricTime({ period, statistic: "p90" })],
        width: 12,
      });
    this.dashboard.addWidgets(
      ...Object.entries(props.stateMachines).map(([name, machine]) => executions(name, machine)),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Function errors",
        left: props.functions.map((fn) =>
          fn.function.metricErrors({ period, label: fn.serviceName }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Function duration (p90)",
        left: props.functions.map((fn) =>
          fn.function.metricDuration({ period, statistic: "p90", label: fn.serviceName }),
        ),
        width: 12,
      }),
    );
    const apiWidgets: cloudwatch.IWidget[] = [];
    if (props.api) {
      apiWidgets.push(
        new cloudwatch.GraphWidget({
          title: "Admission API requests",
          left: [
            props.api.metricCount({ period: Duration.minutes(1) }),
            props.api.metricClientError({ period: Duration.minutes(1) }),
            props.api.metricServerError({ period: Duration.minutes(1) }),
          ],
          right: [props.api.metricLatency({ period: Duration.minutes(1), statistic: "p99" })],
          width: 12,
        }),
      );
    }
    this.dashboard.addWidgets(
      ...apiWidgets,
      new cloudwatch.GraphWidget({
        title: "Forecast fallbacks and error",
        left: [fallbacks],
        right: [
          new cloudwatch.Metric({
            namespace: props.metricsNamespace,
            metricName: FORECAST_ERROR_METRIC,
            dimensionsMap: { service: props.forecastErrorService },
            statistic: "Average",
            period,
            label: "wQL, last hour",
          }),
        ],
        width: 12,
      }),
    );
  }

  private forecastFallbacks(props: ObservabilityProps, period: Duration): cloudwatch.IMetric {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    props.forecastServices.forEach((service, i) => {
      usingMetrics[`m${i}`] = new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: FORECAST_FALLBACKS_METRIC,
        dimensionsMap: { service },
        statistic: "Sum",
        period,
      });
    });
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(" + "),
      usingMetrics,
      label: FORECAST_FALLBACKS_METRIC,
      period,
    });
  }

  private addAlarm(
    id: string,
    metric: cloudwatch.IMetric,
    description: string,
    action: cloudwatch.IAlarmAction,
    evaluationPeriods = 1,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(action);
    this.alarms.push(alarm);
  }
}
