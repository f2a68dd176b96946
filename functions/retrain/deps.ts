import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbModelRegistry } from "../../layers/adapters/dynamodb/dynamodb-model-registry.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { DynamoDbRequestLog } from "../../layers/adapters/dynamodb/dynamodb-request-log.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { S3ArtifactStore } from "../../layers/adapters/s3/s3-artifact-store.js";
import { SageMakerModelDeployer } from "../../layers/adapters/sagemaker/sagemaker-model-deployer.js";
import { type ShaperConfig, seasonIntervals } from "../../layers/domain/config.js";
import { ConfigError } from "../../layers/domain/errors.js";
import { logger } from "../../layers/lambda/observability.js";
import type { AdaptPoliciesDeps } from "../../layers/use-cases/retrain/adapt-policies.js";
import type { EvaluateForecastErrorDeps } from "../../layers/use-cases/retrain/evaluate-forecast-error.js";
import type { PromoteModelDeps } from "../../layers/use-cases/retrain/promote-model.js";
import type { TrainCandidateDeps } from "../../layers/use-cases/retrain/train-candidate.js";
import type { ValidateCandidateDeps } from "../../layers/use-cases/retrain/validate-candidate.js";
import { type AwsRuntime, awsRuntime, requireEnv } from "../shared/runtime.js";

/**
 * Adapters of the retrain steps, built once per cold start. Environment the stack sets:
 * ARTIFACT_BUCKET (Train, Validate), and for Promote MODEL_IMAGE_URI, MODEL_EXECUTION_ROLE_ARN,
 * FORECAST_ENDPOINT_NAME (else config.forecast.endpointName), SERVERLESS_MEMORY_MB,
 * SERVERLESS_MAX_CONCURRENCY. Each step reads only what it
 * needs, so a missing variable fails the step that needs it with a ConfigError naming it.
 */
export interface RetrainRuntime {
  readonly runtime: AwsRuntime;
  readonly modelRegistry: DynamoDbModelRegistry;
  readonly usageStore: DynamoDbUsageStore;
  readonly policyStore: DynamoDbPolicyStore;
}

let cached: RetrainRuntime | undefined;

/** The retrain steps' shared adapters (built on first use, reused while the container lives). */
export function retrainRuntime(): RetrainRuntime {
  if (!cached) {
    const runtime = awsRuntime();
    const { documentClient, tables } = runtime;
    cached = {
      runtime,
      modelRegistry: new DynamoDbModelRegistry(documentClient, tables.registry),
      usageStore: new DynamoDbUsageStore(documentClient, tables.usage),
      policyStore: new DynamoDbPolicyStore(documentClient, tables.registry),
    };
  }
  return cached;
}

async function loadConfig(rt: RetrainRuntime): Promise<ShaperConfig> {
  return rt.runtime.configSource.load();
}

function forecastStore(rt: RetrainRuntime, config: ShaperConfig): DynamoDbForecastStore {
  const { documentClient, tables } = rt.runtime;
  return new DynamoDbForecastStore(documentClient, tables.forecasts, config.shardCount);
}

function artifactStore(rt: RetrainRuntime): S3ArtifactStore {
  return new S3ArtifactStore(rt.runtime.aws.s3(), requireEnv(rt.runtime.env, "ARTIFACT_BUCKET"));
}

function userRegistry(rt: RetrainRuntime, config: ShaperConfig): DynamoDbUserRegistry {
  const { documentClient, tables } = rt.runtime;
  return new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount);
}

/** Deps of the Evaluate step. */
export async function evaluateDeps(rt: RetrainRuntime): Promise<EvaluateForecastErrorDeps> {
  const config = await loadConfig(rt);
  return {
    configSource: rt.runtime.configSource,
    forecastStore: forecastStore(rt, config),
    clock: rt.runtime.clock,
  };
}

/** Deps of the Train step. */
export async function trainDeps(rt: RetrainRuntime): Promise<TrainCandidateDeps> {
  const config = await loadConfig(rt);
  return {
    configSource: rt.runtime.configSource,
    userRegistry: userRegistry(rt, config),
    usageStore: rt.usageStore,
    artifactStore: artifactStore(rt),
    modelRegistry: rt.modelRegistry,
    clock: rt.runtime.clock,
  };
}

/** Deps of the Validate step. */
export async function validateDeps(rt: RetrainRuntime): Promise<ValidateCandidateDeps> {
  const config = await loadConfig(rt);
  return {
    configSource: rt.runtime.configSource,
    userRegistry: userRegistry(rt, config),
    usageStore: rt.usageStore,
    artifactStore: artifactStore(rt),
    modelRegistry: rt.modelRegistry,
  };
}

/** Deps of the Promote step: the SageMaker deployer is sized from the environment and config. */
export async function promoteDeps(rt: RetrainRuntime): Promise<PromoteModelDeps> {
  const config = await loadConfig(rt);
  const env = rt.runtime.env;
  const deployer = new SageMakerModelDeployer(rt.runtime.aws.sagemaker(), {
    endpointName: env.FORECAST_ENDPOINT_NAME || config.forecast.endpointName,
    imageUri: requireEnv(env, "MODEL_IMAGE_URI"),
    executionRoleArn: requireEnv(env, "MODEL_EXECUTION_ROLE_ARN"),
    predictionLength: config.horizonIntervals,
    seasonLength: seasonIntervals(config),
    memorySizeMb: positiveInt(env, "SERVERLESS_MEMORY_MB", 2_048),
    maxConcurrency: positiveInt(env, "SERVERLESS_MAX_CONCURRENCY", 5),
  });
  if (env.FORECAST_ENDPOINT_NAME && env.FORECAST_ENDPOINT_NAME !== config.forecast.endpointName) {
    logger.warn(
      "FORECAST_ENDPOINT_NAME differs from config.forecast.endpointName; updating the former",
      {
        env: env.FORECAST_ENDPOINT_NAME,
        config: config.forecast.endpointName,
      },
    );
  }
  return { modelRegistry: rt.modelRegistry, deployer };
}

/** Deps of the Adapt step. */
export async function adaptDeps(rt: RetrainRuntime): Promise<AdaptPoliciesDeps> {
  const config = await loadConfig(rt);
  const { documentClient, tables } = rt.runtime;
  return {
    configSource: rt.runtime.configSource,
    forecastStore: forecastStore(rt, config),
    requestLog: new DynamoDbRequestLog(documentClient, tables.admission, {
      onMalformedItem: (item) =>
        logger.warn("Skipped a malformed decision item in the request log", { ...item }),
    }),
    usageStore: rt.usageStore,
    policyStore: rt.policyStore,
    clock: rt.runtime.clock,
  };
}

function positiveInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(
      `Environment variable ${name} is "${text}"; expected a non-negative integer. The stack sets it from the model endpoint's settings.`,
    );
  }
  return value;
}
