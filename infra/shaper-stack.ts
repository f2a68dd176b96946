import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import { type ShaperConfig, seasonIntervals } from "../layers/domain/config.js";
import { AdmissionApi, type JwtAuthorizerSettings } from "./constructs/admission-api.js";
import { ArtifactStore } from "./constructs/artifact-store.js";
import { ConfigSeed } from "./constructs/config-seed.js";
import { ModelEndpoint } from "./constructs/model-endpoint.js";
import { Observability } from "./constructs/observability.js";
import { Pipeline } from "./constructs/pipeline.js";
import { RetrainFlow } from "./constructs/retrain-flow.js";
import { METRICS_NAMESPACE, ShaperFunctions } from "./constructs/shaper-functions.js";
import { ShaperTables } from "./constructs/shaper-tables.js";
import { REPO_ROOT } from "./paths.js";

export interface ShaperStackProps extends StackProps {
  /** The validated config (`parseConfig`). */
  readonly config: ShaperConfig;
  /**
   * `updatedAt` stored with the config at deploy, in epoch seconds.
   * @default 0
   */
  readonly configUpdatedAt?: number;
  /**
   * JWT authorizer for the admission API.
   * @default - IAM authorization
   */
  readonly jwt?: JwtAuthorizerSettings;
  /**
   * Email subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Customer managed key for the tables.
   * @default - AWS managed key
   */
  readonly tableEncryptionKey?: kms.IKey;
  /**
   * Root of the function entries and of the model image's build context.
   * @default REPO_ROOT
   */
  readonly projectRoot?: string;
  /**
   * Serverless endpoint memory, in MB.
   * @default 2048
   */
  readonly endpointMemorySizeMb?: number;
  /**
   * Serverless endpoint concurrency.
   * @default 5
   */
  readonly endpointMaxConcurrency?: number;
}

/**
 * shaper in one stack: tables, artefact bucket, forecasting endpoint, the functions, the
 * scheduled pipeline, the admission API, the retrain flow, the config seed, alarms and a dashboard.
 */
export class ShaperStack extends Stack {
  readonly tables: ShaperTables;
  readonly artifacts: ArtifactStore;
  readonly modelEndpoint: ModelEndpoint;
  readonly functions: ShaperFunctions;
  readonly pipeline: Pipeline;
  readonly admissionApi: AdmissionApi;
  readonly retrainFlow: RetrainFlow;
  readonly configSeed: ConfigSeed;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: ShaperStackProps) {
    super(scope, id, props);
    const { config } = props;
    const projectRoot = props.projectRoot ?? REPO_ROOT;

    this.tables = new ShaperTables(this, "Tables", {
      ...(props.tableEncryptionKey ? { encryptionKey: props.tableEncryptionKey } : {}),
    });
    this.artifacts = new ArtifactStore(this, "Artifacts");
    this.modelEndpoint = new ModelEndpoint(this, "ModelEndpoint", {
      endpointName: config.forecast.endpointName,
      artifacts: this.artifacts,
      predictionLength: config.horizonIntervals,
      seasonLength: seasonIntervals(config),
      imageDirectory: projectRoot,
      ...(props.endpointMemorySizeMb ? { memorySizeMb: props.endpointMemorySizeMb } : {}),
      ...(props.endpointMaxConcurrency ? { maxConcurrency: props.endpointMaxConcurrency } : {}),
    });
    this.functions = new ShaperFunctions(this, "Functions", {
      config,
      tables: this.tables,
      artifacts: this.artifacts,
      modelEndpoint: this.modelEndpoint,
      projectRoot,
    });
    const fns = this.functions;
    this.pipeline = new Pipeline(this, "Pipeline", {
      functions: {
        collectShard: fns.collectShard.function,
        collectPools: fns.collectPools.function,
        forecastShard: fns.forecastShard.function,
        forecastPools: fns.forecastPools.function,
        plan: fns.plan.function,
      },
      shardCount: config.shardCount,
      intervalSeconds: config.intervalSeconds,
    });
    this.admissionApi = new AdmissionApi(this, "AdmissionApi", {
      handler: fns.admission.function,
      ...(props.jwt ? { jwt: props.jwt } : {}),
    });
    this.retrainFlow = new RetrainFlow(this, "Retrain", {
      functions: {
        evaluate: fns.retrain.evaluate.function,
        train: fns.retrain.train.function,
        validate: fns.retrain.validate.function,
        promote: fns.retrain.promote.function,
        adapt: fns.retrain.adapt.function,
      },
    });
    this.configSeed = new ConfigSeed(this, "ConfigSeed", {
      table: this.tables.registry,
      config,
      updatedAt: props.configUpdatedAt ?? 0,
    });
    this.observability = new Observability(this, "Observability", {
      functions: fns.all(),
      stateMachines: {
        pipeline: this.pipeline.stateMachine,
        retrain: this.retrainFlow.stateMachine,
      },
      metricsNamespace: METRICS_NAMESPACE,
      forecastServices: [fns.forecastShard.serviceName, fns.forecastPools.serviceName],
      forecastErrorService: fns.forecastPools.serviceName,
      intervalSeconds: config.intervalSeconds,
      api: this.admissionApi.api,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    new CfnOutput(this, "AdmissionApiUrl", { value: this.admissionApi.url });
    new CfnOutput(this, "PipelineStateMachineArn", {
      value: this.pipeline.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, "RetrainStateMachineArn", {
      value: this.retrainFlow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, "RegistryTableName", { value: this.tables.registry.tableName });
    new CfnOutput(this, "AdmissionTableName", { value: this.tables.admission.tableName });
    new CfnOutput(this, "ArtifactBucketName", { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, "ForecastEndpointName", { value: this.modelEndpoint.endpointName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.observability.topic.topicArn });
  }
}
