import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { EventBridgeEventPublisher } from "../../layers/adapters/eventbridge/eventbridge-event-publisher.js";
import { InProcessForecastModel } from "../../layers/adapters/local/in-process-forecast-model.js";
import { S3ForecastStateStore } from "../../layers/adapters/s3/s3-forecast-state-store.js";
import { SageMakerForecastModel } from "../../layers/adapters/sagemaker-runtime/sagemaker-forecast-model.js";
import type { ShaperConfig } from "../../layers/domain/config.js";
import type { ForecastModel } from "../../layers/ports/forecast-model.js";
import type { ForecastPoolsDeps } from "../../layers/use-cases/forecast-pools.js";
import type { ForecastUsersDeps } from "../../layers/use-cases/forecast-users.js";
import { type AwsRuntime, awsRuntime } from "../shared/runtime.js";

/** Adapters of the forecast functions that do not depend on the loaded config. */
export interface ForecastRuntime {
  readonly runtime: AwsRuntime;
  readonly usageStore: DynamoDbUsageStore;
  readonly events: EventBridgeEventPublisher;
  readonly fallbackModel: InProcessForecastModel;
  /** The endpoint model for a config (its endpoint name and timeout). */
  readonly primaryModel: (config: ShaperConfig) => ForecastModel;
  /** Per-series model states between runs (S3, `forecast-state/` in ARTIFACT_BUCKET). */
  readonly stateStore?: S3ForecastStateStore;
}

let cached: ForecastRuntime | undefined;

/**
 * The forecast functions' adapters, built on first use and reused while the container lives.
 * Extra environment: `EVENT_BUS_NAME` (default "default"), the bus forecast-error events go to;
 * `ARTIFACT_BUCKET`, the bucket whose `forecast-state/` prefix keeps per-series model states
 * (absent: every run refits).
 */
export function forecastRuntime(): ForecastRuntime {
  cached ??= buildForecastRuntime(awsRuntime());
  return cached;
}

function buildForecastRuntime(runtime: AwsRuntime): ForecastRuntime {
  const sagemakerRuntime = runtime.aws.sagemakerRuntime();
  return {
    runtime,
    usageStore: new DynamoDbUsageStore(runtime.documentClient, runtime.tables.usage),
    events: new EventBridgeEventPublisher(
      runtime.aws.eventBridge(),
      runtime.env.EVENT_BUS_NAME || "default",
      "shaper.forecast",
    ),
    fallbackModel: new InProcessForecastModel(),
    ...(runtime.env.ARTIFACT_BUCKET
      ? { stateStore: new S3ForecastStateStore(runtime.aws.s3(), runtime.env.ARTIFACT_BUCKET) }
      : {}),
    primaryModel: (config) =>
      new SageMakerForecastModel(sagemakerRuntime, {
        endpointName: config.forecast.endpointName,
        timeoutMs: config.forecast.timeoutMs,
      }),
  };
}

/** The forecast store and user registry are partitioned by the loaded config's shard count. */
async function shardedStores(rt: ForecastRuntime) {
  const config = await rt.runtime.configSource.load();
  const { documentClient, tables } = rt.runtime;
  return {
    forecastStore: new DynamoDbForecastStore(documentClient, tables.forecasts, config.shardCount),
    userRegistry: new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount),
  };
}

/** Deps of `forecastUsers`. */
export async function forecastUsersDeps(rt: ForecastRuntime): Promise<ForecastUsersDeps> {
  const { forecastStore, userRegistry } = await shardedStores(rt);
  return {
    configSource: rt.runtime.configSource,
    userRegistry,
    usageStore: rt.usageStore,
    forecastStore,
    primaryModel: rt.primaryModel,
    fallbackModel: rt.fallbackModel,
    ...(rt.stateStore ? { stateStore: rt.stateStore } : {}),
  };
}

/** Deps of `forecastPools`. */
export async function forecastPoolsDeps(rt: ForecastRuntime): Promise<ForecastPoolsDeps> {
  const { forecastStore } = await shardedStores(rt);
  return {
    configSource: rt.runtime.configSource,
    usageStore: rt.usageStore,
    forecastStore,
    events: rt.events,
    primaryModel: rt.primaryModel,
    fallbackModel: rt.fallbackModel,
    ...(rt.stateStore ? { stateStore: rt.stateStore } : {}),
  };
}
