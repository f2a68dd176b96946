import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { AdmitRequestDeps } from "../../layers/use-cases/admit-request.js";
import { admissionStoreFor } from "../shared/admission-store.js";
import { type AwsRuntime, awsRuntime } from "../shared/runtime.js";

let cached: AwsRuntime | undefined;

/** The admission function's runtime (clients, tables, clock, config), built on first use. */
export function admissionRuntime(): AwsRuntime {
  cached ??= awsRuntime();
  return cached;
}

/**
 * The admission use case's adapters. Built per invocation from the loaded config (cheap objects
 * over the cached clients; the admission store is kept across invocations), because the shard
 * count and decision retention come from it.
 */
export async function admissionDeps(rt: AwsRuntime): Promise<AdmitRequestDeps> {
  const config = await rt.configSource.load();
  const { documentClient, tables } = rt;
  return {
    config: rt.configSource,
    users: new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount),
    admissions: admissionStoreFor(documentClient, tables.admission, {
      shardCount: config.shardCount,
      decisionRetentionSeconds: config.admission.decisionRetentionSeconds,
    }),
    forecasts: new DynamoDbForecastStore(documentClient, tables.forecasts, config.shardCount),
    policies: new DynamoDbPolicyStore(documentClient, tables.registry),
    clock: rt.clock,
  };
}
