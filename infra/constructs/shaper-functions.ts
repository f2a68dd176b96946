import { Aws, Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { ShaperConfig } from "../../layers/domain/config.js";
import { acknowledgeAll } from "./acknowledge.js";
import type { ArtifactStore } from "./artifact-store.js";
import type { ModelEndpoint } from "./model-endpoint.js";
import { ShaperFunction } from "./shaper-function.js";
import { REQUEST_LOG_INDEX, type ShaperTables, USERS_BY_SHARD_INDEX } from "./shaper-tables.js";

/** Metrics namespace of everything the functions emit through Powertools. */
export const METRICS_NAMESPACE = "Shaper";

/** The retrain steps, in the order the retrain flow runs them. */
export const RETRAIN_STEPS = ["evaluate", "train", "validate", "promote", "adapt"] as const;
export type RetrainStep = (typeof RETRAIN_STEPS)[number];

export interface ShaperFunctionsProps {
  /** The validated deployment config. */
  readonly config: ShaperConfig;
  readonly tables: ShaperTables;
  readonly artifacts: ArtifactStore;
  readonly modelEndpoint: ModelEndpoint;
  /**
   * Event bus the forecast functions publish `ForecastErrorThresholdExceeded` to.
   * @default "default"
   */
  readonly eventBusName?: string;
  /**
   * Retention of every function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Root of the function entries.
   * @default REPO_ROOT
   */
  readonly projectRoot?: string;
}

/**
 * Every shaper function, each with least-privilege grants for what its handler does (see
 * docs/data-model.md for who reads and writes which item):
 * - collect: CloudWatch GetMetricData, registry read, usage write, the admission request-log index;
 * - forecast: InvokeEndpoint on the forecasting endpoint only, usage read, forecasts read/write,
 *   PutEvents on the bus;
 * - shape/plan: forecasts, plans, ledgers; ECS and Application Auto Scaling on the configured
 *   services only where IAM allows;
 * - shape/admission: registry and forecasts read, admission read/write (TransactWriteItems);
 * - retrain: history read, registry write, artefacts, and (promote) SageMaker on shaper's own
 *   models, endpoint configs and endpoint.
 */
export class ShaperFunctions extends Construct {
  readonly collectShard: ShaperFunction;
  readonly collectPools: ShaperFunction;
  readonly forecastShard: ShaperFunction;
  readonly forecastPools: ShaperFunction;
  readonly plan: ShaperFunction;
  readonly admission: ShaperFunction;
  readonly retrain: Readonly<Record<RetrainStep, ShaperFunction>>;

  constructor(scope: Construct, id: string, props: ShaperFunctionsProps) {
    super(scope, id);
    const { config, tables, modelEndpoint } = props;
    const eventBusName = props.eventBusName ?? "default";
    const baseEnvironment: Record<string, string> = {
      ...tables.environment(),
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: "INFO",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      NODE_OPTIONS: "--enable-source-maps",
    };
    const make = (
      fnId: string,
      entry: string,
      serviceName: string,
      description: string,
      sizing: { timeout: Duration; memorySizeMb: number },
      environment: Record<string, string> = {},
    ) =>
      new ShaperFunction(this, fnId, {
        entry,
        serviceName,
        description,
        timeout: sizing.timeout,
        memorySizeMb: sizing.memorySizeMb,
        baseEnvironment,
        environment,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        ...(props.projectRoot ? { projectRoot: props.projectRoot } : {}),
      });
    const shardSizing = { timeout: Duration.minutes(5), memorySizeMb: 1024 };

    // collect ---------------------------------------------------------------------------------
    this.collectShard = make(
      "CollectShard",
      "functions/collect/shard.ts",
      "collect-shard",
      "Reads one shard's per-user usage from CloudWatch and the request log into the usage table",
      shardSizing,
    );
    this.collectPools = make(
      "CollectPools",
      "functions/collect/pools.ts",
      "collect-pools",
      "Reads each pool's ECS load from CloudWatch into the usage table",
      { timeout: Duration.minutes(2), memorySizeMb: 512 },
    );
    for (const fn of [this.collectShard, this.collectPools]) {
      fn.allowOnAnyResource(
        ["cloudwatch:GetMetricData"],
        "collect: cloudwatch:GetMetricData has no resource-level permissions (CloudWatch authorises it only on *).",
      );
      // Collect only puts whole items keyed by interval (idempotent re-runs); it never reads usage.
      tables.grant(fn.role, "usage", "write");
    }
    tables.grant(this.collectShard.role, "registry", "read", [USERS_BY_SHARD_INDEX]);
    tables.grantIndexQuery(this.collectShard.role, "admission", [REQUEST_LOG_INDEX]);
    tables.grant(this.collectPools.role, "registry", "read");

    // forecast --------------------------------------------------------------------------------
    const forecastEnvironment = {
      EVENT_BUS_NAME: eventBusName,
      ARTIFACT_BUCKET: props.artifacts.bucket.bucketName,
    };
    this.forecastShard = make(
      "ForecastShard",
      "functions/forecast/shard.ts",
      "forecast-shard",
      "Forecasts one shard's users with the forecasting endpoint (in-function fallback)",
      shardSizing,
      forecastEnvironment,
    );
    this.forecastPools = make(
      "ForecastPools",
      "functions/forecast/pools.ts",
      "forecast-pools",
      "Forecasts each pool's aggregate series and publishes forecast-error events",
      { timeout: Duration.minutes(5), memorySizeMb: 1024 },
      forecastEnvironment,
    );
    const bus = events.EventBus.fromEventBusName(this, "Bus", eventBusName);
    for (const fn of [this.forecastShard, this.forecastPools]) {
      fn.allow(["sagemaker:InvokeEndpoint"], [modelEndpoint.endpointArn]);
      tables.grant(fn.role, "registry", "read", [USERS_BY_SHARD_INDEX]);
      tables.grant(fn.role, "usage", "read");
      tables.grant(fn.role, "forecasts", "readWrite");
      bus.grantPutEventsTo(fn.role);
    }
    props.artifacts.grantForecastStates(this.forecastShard.role);

    // shape -----------------------------------------------------------------------------------
    this.plan = make(
      "Plan",
      "functions/shape/plan.ts",
      "shape-plan",
      "Plans capacity per pool from the forecasts and scales the ECS services ahead of demand",
      { timeout: Duration.minutes(5), memorySizeMb: 1024 },
    );
    tables.grant(this.plan.role, "registry", "read");
    tables.grant(this.plan.role, "forecasts", "read");
    tables.grant(this.plan.role, "plans", "readWrite");
    tables.grant(this.plan.role, "admission", "readWrite");
    const serviceArns = [
      ...new Set(
        Object.values(config.pools).map(
          (pool) =>
            `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:service/${pool.ecs.cluster}/${pool.ecs.service}`,
        ),
      ),
    ];
    this.plan.allow(["ecs:DescribeServices", "ecs:UpdateService"], serviceArns);
    this.plan.allowOnAnyResource(
      [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScheduledAction",
        "application-autoscaling:DescribeScheduledActions",
      ],
      "shape/plan: Application Auto Scaling has no resource-level permissions for scalable targets and scheduled actions; the ECS services it may change are limited by the ecs:UpdateService statement.",
    );
    // Registering the first ECS scalable target creates Application Auto Scaling's service-linked
    // role; allow exactly that role, for exactly that service.
    this.plan.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["iam:CreateServiceLinkedRole"],
        resources: [
          `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
        ],
        conditions: {
          StringLike: { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" },
        },
      }),
    );

    this.admission = make(
      "Admission",
      "functions/shape/admission.ts",
      "shape-admission",
      "Answers capacity requests (grant / delay / offer / reject) for the admission API",
      { timeout: Duration.seconds(10), memorySizeMb: 512 },
      { MAX_BODY_BYTES: String(config.admission.maxBodyBytes) },
    );
    tables.grant(this.admission.role, "registry", "read");
    tables.grant(this.admission.role, "forecasts", "read");
    tables.grant(this.admission.role, "admission", "readWrite");

    // retrain ---------------------------------------------------------------------------------
    const retrainEnvironment = {
      ARTIFACT_BUCKET: props.artifacts.bucket.bucketName,
      MODEL_IMAGE_URI: modelEndpoint.image.imageUri,
      MODEL_EXECUTION_ROLE_ARN: modelEndpoint.executionRole.roleArn,
      FORECAST_ENDPOINT_NAME: modelEndpoint.endpointName,
      SERVERLESS_MEMORY_MB: String(modelEndpoint.memorySizeMb),
      SERVERLESS_MAX_CONCURRENCY: String(modelEndpoint.maxConcurrency),
    };
    const retrainSizing: Record<RetrainStep, { timeout: Duration; memorySizeMb: number }> = {
      evaluate: { timeout: Duration.minutes(5), memorySizeMb: 1024 },
      train: { timeout: Duration.minutes(15), memorySizeMb: 2048 },
      validate: { timeout: Duration.minutes(15), memorySizeMb: 2048 },
      promote: { timeout: Duration.minutes(5), memorySizeMb: 512 },
      adapt: { timeout: Duration.minutes(2), memorySizeMb: 512 },
    };
    const retrain = {} as Record<RetrainStep, ShaperFunction>;
    for (const step of RETRAIN_STEPS) {
      retrain[step] = make(
        `Retrain${step[0]?.toUpperCase()}${step.slice(1)}`,
        `functions/retrain/${step}.ts`,
        `retrain-${step}`,
        `Retrain flow step: ${step}`,
        retrainSizing[step],
        retrainEnvironment,
      );
    }
    // Evaluate: the config and forecast-error summaries.
    tables.grant(retrain.evaluate.role, "registry", "read");
    tables.grant(retrain.evaluate.role, "forecasts", "read");
    // Train and Validate: sampled users' history in, a candidate model (artefact + registry) out.
    for (const step of ["train", "validate"] as const) {
      tables.grant(retrain[step].role, "registry", "readWrite", [USERS_BY_SHARD_INDEX]);
      tables.grant(retrain[step].role, "usage", "read");
    }
    props.artifacts.grantArtifacts(retrain.train.role, "readWrite");
    props.artifacts.grantArtifacts(retrain.validate.role, "read");
    // Promote: SageMaker first (below), then the registry pointer.
    tables.grant(retrain.promote.role, "registry", "readWrite");
    // Adapt: error summaries, usage and the request log against each tier's target; policies out.
    tables.grant(retrain.adapt.role, "registry", "readWrite");
    tables.grant(retrain.adapt.role, "forecasts", "read");
    tables.grant(retrain.adapt.role, "usage", "read");
    tables.grantIndexQuery(retrain.adapt.role, "admission", [REQUEST_LOG_INDEX]);
    this.retrain = retrain;
    const promote = retrain.promote;
    // CreateModel tags the model (shaper:model, shaper:version), which needs AddTags too.
    promote.allow(
      ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"],
      [modelEndpoint.resourceArnPattern("model")],
    );
    promote.allow(
      ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"],
      [modelEndpoint.resourceArnPattern("endpoint-config")],
    );
    promote.allow(
      ["sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"],
      [modelEndpoint.endpointArn, modelEndpoint.resourceArnPattern("endpoint-config")],
    );
    promote.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [modelEndpoint.executionRole.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
      }),
    );
    acknowledgeAll(
      promote.role,
      (["model", "endpoint-config"] as const).map((resource) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${resource}/${modelEndpoint.endpointName.toLowerCase()}-*]`,
        reason: `Promote creates one SageMaker ${resource} per promoted model version, named <endpoint>-<version> at run time; the grant covers only names under this endpoint's prefix.`,
      })),
    );
  }

  /** Every function, in a stable order. */
  all(): ShaperFunction[] {
    return [
      this.collectShard,
      this.collectPools,
      this.forecastShard,
      this.forecastPools,
      this.plan,
      this.admission,
      ...RETRAIN_STEPS.map((step) => this.retrain[step]),
    ];
  }
}
