import { AasCapacityScaler } from "../../layers/adapters/application-auto-scaling/aas-capacity-scaler.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbPlanStore } from "../../layers/adapters/dynamodb/dynamodb-plan-store.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { PlanCapacityDeps } from "../../layers/use-cases/plan-capacity.js";
import { admissionStoreFor } from "../shared/admission-store.js";
import { type AwsRuntime, awsRuntime } from "../shared/runtime.js";

let cached: AwsRuntime | undefined;

/** The plan function's runtime (clients, tables, clock, config source), built on first use. */
export function planRuntime(): AwsRuntime {
  cached ??= awsRuntime();
  return cached;
}

/**
 * The plan use case's adapters. Built per invocation from the loaded config (cheap objects over
 * the cached clients; the admission store is kept across invocations), because the shard count and
 * decision retention come from it.
 * Extra environment: `SCHEDULED_ACTION_PREFIX` (default "shaper"), the first part of the names
 * of the scheduled actions the plan owns.
 */
export async function planDeps(rt: AwsRuntime): Promise<PlanCapacityDeps> {
  const config = await rt.configSource.load();
  const { documentClient, tables } = rt;
  return {
    config: rt.configSource,
    policies: new DynamoDbPolicyStore(documentClient, tables.registry),
    forecasts: new DynamoDbForecastStore(documentClient, tables.forecasts, config.shardCount),
    users: new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount),
    scaler: new AasCapacityScaler(rt.aws.applicationAutoScaling(), rt.aws.ecs(), {
      clock: rt.clock,
      ...(rt.env.SCHEDULED_ACTION_PREFIX ? { actionPrefix: rt.env.SCHEDULED_ACTION_PREFIX } : {}),
    }),
    plans: new DynamoDbPlanStore(documentClient, tables.plans),
    admissions: admissionStoreFor(documentClient, tables.admission, {
      shardCount: config.shardCount,
      decisionRetentionSeconds: config.admission.decisionRetentionSeconds,
    }),
  };
}
