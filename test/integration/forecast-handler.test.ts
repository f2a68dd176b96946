import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DescribeArchiveCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { forecastRunId } from "../../layers/domain/forecasting/forecast-error.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { PoolUsagePartial, UsageRecord } from "../../layers/domain/usage.js";
import type { ForecastPoolsResult } from "../../layers/use-cases/forecast-pools.js";
import type { ForecastUsersResult } from "../../layers/use-cases/forecast-users.js";
import { testConfigInput } from "../fixtures/config.js";
import { deepArResponse, type FakeEndpoint, startFakeEndpoint } from "../helpers/fake-endpoint.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import { createTables, deleteTables, tableEnv, uniquePrefix } from "../helpers/tables.js";

/**
 * The forecast handlers end to end, in-process: usage in DynamoDB (moto) → the handlers, built as
 * at a Lambda cold start from the environment → forecasts in DynamoDB. The endpoint is the local
 * model server (through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), or a fake that is down, slow or
 * answers garbage, in which case the in-function fallback answers and the forecasts say so.
 */

const aws = createAwsClients();
const SHARDS = 2;
const INTERVAL = 300;
const TIME = "2026-11-27T20:00:12Z";
const END = Date.parse("2026-11-27T20:00:00Z") / 1000;
const modelServerUrl = process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME ?? "";
const config = {
  ...testConfigInput(),
  shardCount: SHARDS,
  historyIntervals: 288,
  forecast: { endpointName: "shaper-forecaster", timeoutMs: 1_500, errorThresholdWql: 0.01 },
};
const users = config.users ?? [];
const busName = `${uniquePrefix()}-bus`;
const archiveName = `${uniquePrefix()}-archive`;
let tables: TableNames;
let fake: FakeEndpoint | undefined;
const savedEnv = { ...process.env };

/** Puts the environment back as it was before this file changed it. */
function restoreEnv(): void {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
}

/** The handler module loaded fresh, as a new Lambda container would, with this endpoint. */
async function loadHandlers(endpointUrl: string) {
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = endpointUrl;
  vi.resetModules();
  const shard = await import("../../functions/forecast/shard.js");
  const pools = await import("../../functions/forecast/pools.js");
  return { shard: shard.handler, pools: pools.handler };
}

async function runShard(endpointUrl: string, shard: number): Promise<ForecastUsersResult> {
  const { shard: handler } = await loadHandlers(endpointUrl);
  const event = {
    version: "0",
    source: "aws.events",
    "detail-type": "Scheduled Event",
    time: TIME,
    shard,
  };
  return (await handler(event, lambdaContext("forecast-shard"))) as ForecastUsersResult;
}

const store = () => new DynamoDbForecastStore(aws.documentClient(), tables.forecasts, SHARDS);

beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
  Object.assign(process.env, tableEnv(tables), { EVENT_BUS_NAME: busName });
  await new DynamoDbConfigSource(aws.documentClient(), tables.registry, systemClock).save(
    config,
    END,
  );
  await new DynamoDbUserRegistry(aws.documentClient(), tables.registry, SHARDS).putUsers(users);
  // acme and globex: one day of cpu usage, with gaps; the others have no history (cold start).
  const records: UsageRecord[] = [];
  for (const userId of ["acme", "globex"]) {
    for (let i = 1; i <= 288; i++) {
      records.push({
        userId,
        pool: "cpu",
        intervalStart: END - i * INTERVAL,
        usage: i % 40 === 0 ? null : { vcpu: 4 + (i % 12), memoryGiB: 16 },
      });
    }
  }
  const usageStore = new DynamoDbUsageStore(aws.documentClient(), tables.usage);
  await usageStore.putUsage(records);
  const partials: PoolUsagePartial[] = [];
  for (let i = 1; i <= 48; i++) {
    for (let shard = 0; shard < SHARDS; shard++) {
      partials.push({
        pool: "cpu",
        intervalStart: END - i * INTERVAL,
        shard,
        usage: { vcpu: 10, memoryGiB: 32 },
        reportingUsers: 1,
        missingUsers: 0,
      });
    }
  }
  await usageStore.putPoolUsagePartials(partials);
  const events = aws.eventBridge();
  const bus = await events.send(new CreateEventBusCommand({ Name: busName }));
  await events.send(
    new CreateArchiveCommand({
      ArchiveName: archiveName,
      EventSourceArn: bus.EventBusArn,
      EventPattern: JSON.stringify({
        source: ["shaper.forecast"],
        "detail-type": ["ForecastErrorThresholdExceeded"],
      }),
    }),
  );
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

afterAll(async () => {
  restoreEnv();
  await deleteTables(aws.dynamodb(), tables);
});

describe("forecast-shard handler", () => {
  it("reads usage from DynamoDB, forecasts with the endpoint and stores every user's forecast", async () => {
    const results = [await runShard(modelServerUrl, 0), await runShard(modelServerUrl, 1)];
    expect(results.reduce((n, r) => n + r.users, 0)).toBe(users.length);
    expect(results.every((r) => r.fallbackBatches === 0)).toBe(true);
    const acme = await store().getUserForecast("cpu", "acme");
    expect(acme).toMatchObject({
      model: "shaper-forecaster",
      start: END,
      horizon: 12,
      tier: "premium",
    });
    expect(acme?.fallbackReason).toBeUndefined();
    expect(acme?.byResource.vcpu?.mean).toHaveLength(12);
    expect(acme?.byResource.memoryGiB?.mean[0]).toBeCloseTo(16, 6);
    expect(Object.keys(acme?.byResource.vcpu?.quantiles ?? {})).toHaveLength(11);
    const hooli = await store().getUserForecast("gpu", "hooli");
    expect(hooli?.coldStart).toBe(true);
    expect(Object.keys(hooli?.byResource ?? {}).sort()).toEqual(["gpu", "memoryGiB", "vcpu"]);
    // The shard's error summary is written for the run, even when nothing could be scored yet.
    const shard = shardOf("acme", SHARDS);
    expect(results[shard]?.runId).toBe(forecastRunId(END));
  });

  it("falls back to the in-function model when the endpoint is down, and still stores forecasts", async () => {
    const down = await startFakeEndpoint(() => ({ status: 200, body: "" }));
    const url = down.url;
    await down.close();
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    let result: ForecastUsersResult;
    try {
      result = await runShard(url, shardOf("acme", SHARDS));
    } finally {
      spy.mockRestore();
    }
    expect(result.fallbackBatches).toBe(result.batches);
    // The ForecastFallbacks metric the alarm watches, as CloudWatch EMF.
    const emf = lines
      .flatMap((l) => l.split("\n"))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.find((m) => m.ForecastFallbacks !== undefined)?.ForecastFallbacks).toBe(
      result.batches,
    );
    const acme = await store().getUserForecast("cpu", "acme");
    expect(acme?.model).toBe("shaper");
    expect(acme?.fallbackReason).toMatch(/InvokeEndpoint on shaper-forecaster failed/);
    expect(acme?.byResource.vcpu?.mean).toHaveLength(12);
  });

  it("falls back when the endpoint is slower than forecast.timeoutMs", async () => {
    fake = await startFakeEndpoint(() => ({
      status: 200,
      body: deepArResponse(10, 12, [0.1, 0.2]),
      delayMs: 30_000,
    }));
    const result = await runShard(fake.url, shardOf("globex", SHARDS));
    expect(result.fallbackBatches).toBeGreaterThan(0);
    const globex = await store().getUserForecast("cpu", "globex");
    expect(globex?.fallbackReason).toMatch(/did not answer within 1500 ms/);
    expect(globex?.byResource.memoryGiB?.mean[0]).toBeCloseTo(16, 6);
  });

  it("falls back when the endpoint answers garbage, never storing it as a forecast", async () => {
    fake = await startFakeEndpoint(() => ({
      status: 200,
      body: '{"predictions": [{"mean": "lots"}]',
    }));
    const result = await runShard(fake.url, shardOf("acme", SHARDS));
    expect(result.fallbackBatches).toBe(result.batches);
    const acme = await store().getUserForecast("cpu", "acme");
    expect(acme?.fallbackReason).toMatch(/malformed DeepAR response/);
    expect(acme?.byResource.vcpu?.mean.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  });

  it("rejects an event without a shard, naming the field", async () => {
    const { shard: handler } = await loadHandlers(modelServerUrl);
    await expect(handler({ time: TIME }, lambdaContext())).rejects.toThrow(/shard/);
  });
});

describe("forecast-pools handler", () => {
  it("stores each pool's forecast and publishes the error event to the bus when wQL passes the threshold", async () => {
    // Error the shards measured in this run (none before it: a crossing): wQL 18 / (9 · 10) = 0.2 > 0.01.
    await store().putErrorSummary(forecastRunId(END), 0, {
      premium: { pinballSum: 18, absActualSum: 10, quantileCount: 9, points: 5, covered80: 4 },
    });
    const { pools: handler } = await loadHandlers(modelServerUrl);
    const result = (await handler(
      { time: TIME, id: "abc" },
      lambdaContext("forecast-pools"),
    )) as ForecastPoolsResult;
    expect(result.fallbackBatches).toBe(0);
    const cpu = await store().getPoolForecast("cpu");
    expect(cpu?.byResource.vcpu?.mean[0]).toBeCloseTo(20, 6);
    expect(cpu?.model).toBe("shaper-forecaster");
    expect(result.published).toBe(true);
    expect(result.error.wql).toBeGreaterThanOrEqual(0.2);
    const archive = await aws
      .eventBridge()
      .send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive.EventCount).toBe(1);
  });
});
