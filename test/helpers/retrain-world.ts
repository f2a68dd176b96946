import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
} from "@aws-sdk/client-sagemaker";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbModelRegistry } from "../../layers/adapters/dynamodb/dynamodb-model-registry.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { keys, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { VARIANT_NAME } from "../../layers/adapters/sagemaker/sagemaker-model-deployer.js";
import {
  parseConfig,
  poolResources,
  type ShaperConfig,
  seasonIntervals,
  userPools,
} from "../../layers/domain/config.js";
import { FORECAST_MODEL_NAME } from "../../layers/domain/retrain/model-parameters.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { RequestLogEntry, UsageRecord } from "../../layers/domain/usage.js";
import { testConfigInput } from "../fixtures/config.js";
import { syntheticSeries } from "../fixtures/synthetic-series.js";
import { createTables, tableEnv, uniquePrefix } from "./tables.js";

/**
 * A small deployment in moto for the retrain steps: the five tables, a config, the fixture's four
 * users, an artefact bucket, and the forecasting endpoint (SageMaker model, serverless endpoint
 * config and endpoint) serving an initial model. The config is the test fixture's, at hourly
 * intervals so that a week of history is 168 points: horizon 6, history 168, hold-out 48,
 * 12 series sampled.
 */

export const HOUR = 3_600;
export const MODEL_IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shaper-model:test";
export const MODEL_EXECUTION_ROLE_ARN = "arn:aws:iam::123456789012:role/shaper-model-test";

export interface RetrainWorld {
  readonly prefix: string;
  readonly tables: TableNames;
  readonly config: ShaperConfig;
  readonly bucket: string;
  readonly endpointName: string;
  /** Environment the stack gives the retrain functions. */
  readonly env: Record<string, string>;
  readonly aws: ReturnType<typeof createAwsClients>;
  readonly registry: DynamoDbModelRegistry;
  readonly usageStore: DynamoDbUsageStore;
}

export async function createRetrainWorld(): Promise<RetrainWorld> {
  const aws = createAwsClients();
  const prefix = uniquePrefix();
  const tables = await createTables(aws.dynamodb(), prefix);
  const endpointName = `${prefix}-forecaster`;
  const bucket = `${prefix}-artefacts`;
  const config = parseConfig(
    {
      ...testConfigInput(),
      intervalSeconds: HOUR,
      horizonIntervals: 6,
      historyIntervals: 168,
      forecast: { endpointName, errorThresholdWql: 0.3 },
      retrain: { holdoutIntervals: 48, sampleSeries: 12, minRelativeImprovement: 0.02 },
    },
    "retrain test world",
  );
  const doc = aws.documentClient();
  await new DynamoDbConfigSource(doc, tables.registry, systemClock).save(config, 1_795_000_000);
  await new DynamoDbUserRegistry(doc, tables.registry, config.shardCount).putUsers(config.users);
  await aws.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    prefix,
    tables,
    config,
    bucket,
    endpointName,
    env: {
      ...tableEnv(tables),
      ARTIFACT_BUCKET: bucket,
      MODEL_IMAGE_URI,
      MODEL_EXECUTION_ROLE_ARN,
      FORECAST_ENDPOINT_NAME: endpointName,
      SERVERLESS_MEMORY_MB: "2048",
      SERVERLESS_MAX_CONCURRENCY: "5",
    },
    aws,
    registry: new DynamoDbModelRegistry(doc, tables.registry),
    usageStore: new DynamoDbUsageStore(doc, tables.usage),
  };
}

/**
 * Registers and serves an initial model, as the stack and a first promotion leave it: the
 * artefact in S3, the registry version promoted, and the endpoint on `<endpoint>-<version>`.
 *
 * @param intervalScale the model's interval scale (5 = far too wide intervals)
 */
export async function serveInitialModel(
  world: RetrainWorld,
  version: string,
  intervalScale: number,
): Promise<void> {
  const key = `models/${FORECAST_MODEL_NAME}/${version}.json`;
  await world.aws.s3().send(
    new PutObjectCommand({
      Bucket: world.bucket,
      Key: key,
      Body: JSON.stringify({
        kind: "seasonal-naive",
        version,
        seasonLength: seasonIntervals(world.config),
        intervalScale,
      }),
    }),
  );
  const artifactUri = `s3://${world.bucket}/${key}`;
  await world.registry.putVersion({
    modelName: FORECAST_MODEL_NAME,
    version,
    artifactUri,
    trainedAt: 1_790_000_000,
    status: "candidate",
    statusReason: "the initial model of the test world",
  });
  await world.registry.promote(FORECAST_MODEL_NAME, version, undefined);
  const name = `${world.endpointName}-${version}`;
  const sagemaker = world.aws.sagemaker();
  await sagemaker.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: MODEL_EXECUTION_ROLE_ARN,
      PrimaryContainer: {
        Image: MODEL_IMAGE_URI,
        Environment: { MODEL_ARTIFACT_URI: artifactUri, MODEL_VERSION: version },
      },
    }),
  );
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: VARIANT_NAME,
          ModelName: name,
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
        },
      ],
    }),
  );
  await sagemaker.send(
    new CreateEndpointCommand({ EndpointName: world.endpointName, EndpointConfigName: name }),
  );
}

/**
 * Hourly usage of every user, pool and resource over [end − hours, end): a daily pattern plus
 * seeded noise whose standard deviation is `noise(hoursFromStart)`.
 */
export function usageHistory(
  config: ShaperConfig,
  end: number,
  hours: number,
  noise: (hour: number) => number,
  seed: number,
): UsageRecord[] {
  const start = end - hours * HOUR;
  const records: UsageRecord[] = [];
  config.users.forEach((user, u) => {
    for (const pool of userPools(user, config)) {
      const resources = poolResources(config.pools[pool] as ShaperConfig["pools"][string]);
      const series = resources.map((_, r) =>
        syntheticSeries({
          length: hours,
          daySteps: seasonIntervals(config),
          level: 40 + 10 * r,
          dailyAmplitude: 15,
          noise,
          seed: seed + 100 * u + 10 * r + (pool === "gpu" ? 5 : 0),
        }),
      );
      for (let t = 0; t < hours; t++) {
        const usage: Record<string, number> = {};
        resources.forEach((resource, r) => {
          usage[resource] = series[r]?.[t] as number;
        });
        records.push({ userId: user.userId, pool, intervalStart: start + t * HOUR, usage });
      }
    }
  });
  return records;
}

/** Writes decision items into the admission table as the admission API does (docs/data-model.md). */
export async function putDecisions(
  world: RetrainWorld,
  entries: readonly RequestLogEntry[],
): Promise<void> {
  const doc = world.aws.documentClient();
  for (const entry of entries) {
    const shard = shardOf(entry.userId, world.config.shardCount);
    await doc.send(
      new PutCommand({
        TableName: world.tables.admission,
        Item: {
          ...keys.decision(entry.requestId),
          ...keys.requestLog(shard, world.config.shardCount, entry.receivedAt, entry.requestId),
          request: {
            requestId: entry.requestId,
            userId: entry.userId,
            pool: entry.pool,
            amounts: entry.amounts,
            durationSeconds: entry.durationSeconds,
            criticality: entry.criticality ?? "normal",
          },
          decision: { outcome: entry.outcome },
          decidedAt: entry.receivedAt,
          ...(entry.tier ? { tier: entry.tier } : {}),
        },
      }),
    );
  }
}

/** `n` request-log entries of one user with the given outcome, spread over the hour before `end`. */
export function requests(
  userId: string,
  tier: string,
  outcome: RequestLogEntry["outcome"],
  n: number,
  end: number,
): RequestLogEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: `${userId}-${outcome}-${end}-${i}`,
    userId,
    pool: "cpu",
    amounts: { vcpu: 2 },
    durationSeconds: 600,
    receivedAt: end - 3_000 + i,
    outcome,
    tier,
    criticality: "normal" as const,
  }));
}
