import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { keys, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { InMemoryForecastStore } from "../../layers/adapters/local/in-memory-forecast-store.js";
import { ValidationError } from "../../layers/domain/errors.js";
import type { Forecast, ForecastErrorSummary } from "../../layers/domain/forecast.js";
import { forecastRunId } from "../../layers/domain/forecasting/forecast-error.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { ForecastStore } from "../../layers/ports/forecast-store.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const aws = createAwsClients();
const SHARDS = 4;
let tables: TableNames;
beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
});
afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

const T0 = 1_795_000_200;
const unique = () => Math.random().toString(36).slice(2, 10);

function forecast(pool: string, userId: string | undefined, issuedAt = T0, level = 1): Forecast {
  return {
    pool,
    ...(userId === undefined ? {} : { userId, tier: "standard" }),
    issuedAt,
    start: issuedAt - (issuedAt % 300),
    intervalSeconds: 300,
    horizon: 2,
    byResource: {
      vcpu: {
        mean: [level, level + 0.5],
        quantiles: { "0.1": [0, level], "0.9": [level + 2, level + 3] },
      },
      memoryGiB: { mean: [4 * level, 4], quantiles: { "0.1": [1, 1], "0.9": [8, 8] } },
    },
    model: "shaper-forecaster",
    modelVersion: "v1",
  };
}

function summary(points: number): ForecastErrorSummary {
  return {
    pinballSum: 2 * points,
    absActualSum: 10 * points,
    quantileCount: 9,
    points,
    covered80: points - 1,
  };
}

/** A run id base no other test uses, so error-summary ranges do not overlap. */
function runBase(): number {
  return 1_000_000_000 + Math.floor(Math.random() * 1e6) * 10_000;
}

/** Three consecutive run ids (5 minutes apart) from a fresh base, and that base. */
function threeRuns(): { base: number; runs: [string, string, string] } {
  const base = runBase();
  return {
    base,
    runs: [base, base + 300, base + 600].map(forecastRunId) as [string, string, string],
  };
}

const adapters: Array<[string, () => ForecastStore]> = [
  ["InMemoryForecastStore", () => new InMemoryForecastStore({ pageSize: 7 })],
  [
    "DynamoDbForecastStore",
    () => new DynamoDbForecastStore(aws.documentClient(), tables.forecasts, SHARDS),
  ],
];

describe.each(adapters)("ForecastStore contract: %s", (_name, make) => {
  it("stores a user's forecast with its provenance and reads it back", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    const stored: Forecast = {
      ...forecast(pool, "acme"),
      fallbackReason: "endpoint timed out",
      coldStart: true,
      criticalPeak: { amounts: { vcpu: 12.5, memoryGiB: 64 }, lastSeenAt: T0 - 86_400 },
      previousError: { runId: forecastRunId(T0), summary: summary(3) },
    };
    await store.putForecasts([stored]);
    expect(await store.getUserForecast(pool, "acme")).toEqual(stored);
    expect(await store.getUserForecast(pool, "nobody")).toBeUndefined();
    expect(await store.getUserForecast(`p-${unique()}`, "acme")).toBeUndefined();
  });

  it("keeps only the latest forecast of a user and pool", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    await store.putForecasts([forecast(pool, "acme", T0, 1)]);
    await store.putForecasts([forecast(pool, "acme", T0 + 300, 2)]);
    const got = await store.getUserForecast(pool, "acme");
    expect(got?.issuedAt).toBe(T0 + 300);
    expect(got?.byResource.vcpu?.mean).toEqual([2, 2.5]);
  });

  it("lets the last of two forecasts for one key in a write win", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    await store.putForecasts([forecast(pool, "acme", T0, 1), forecast(pool, "acme", T0, 7)]);
    expect((await store.getUserForecast(pool, "acme"))?.byResource.vcpu?.mean).toEqual([7, 7.5]);
  });

  it("lists every user forecast of a pool across shards, and only that pool's", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    expect(new Set(users.map((u) => shardOf(u, SHARDS))).size).toBe(SHARDS);
    await store.putForecasts(users.map((u) => forecast(pool, u)));
    await store.putForecasts([forecast(`p-${unique()}`, "elsewhere"), forecast(pool, undefined)]);
    const listed: string[] = [];
    for await (const page of store.listUserForecasts(pool)) {
      expect(page.length).toBeGreaterThan(0);
      listed.push(...page.map((f) => f.userId ?? "(pool)"));
    }
    expect(listed.sort()).toEqual([...users].sort());
  });

  it("returns the latest pool forecast by issue time", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    expect(await store.getPoolForecast(pool)).toBeUndefined();
    await store.putForecasts([
      forecast(pool, undefined, T0 + 600, 3),
      forecast(pool, undefined, T0, 1),
    ]);
    await store.putForecasts([forecast(pool, "acme", T0 + 900, 9)]);
    const latest = await store.getPoolForecast(pool);
    expect(latest?.issuedAt).toBe(T0 + 600);
    expect(latest?.userId).toBeUndefined();
    expect(latest?.byResource.vcpu?.mean).toEqual([3, 3.5]);
  });

  it("keeps forecast values to at least six significant digits", async () => {
    const store = make();
    const pool = `p-${unique()}`;
    const precise = forecast(pool, "acme");
    const third = 1 / 3;
    await store.putForecasts([
      {
        ...precise,
        byResource: { vcpu: { mean: [third, 1234.56789], quantiles: { "0.5": [third, 2 / 3] } } },
      },
    ]);
    const got = await store.getUserForecast(pool, "acme");
    expect(got?.byResource.vcpu?.mean[0]).toBeCloseTo(third, 6);
    expect(
      Math.abs((got?.byResource.vcpu?.mean[1] ?? 0) - 1234.56789) / 1234.56789,
    ).toBeLessThanOrEqual(5e-6);
  });

  it("sums error summaries over shards and runs in an inclusive run-id range, per tier", async () => {
    const store = make();
    const { base, runs } = threeRuns();
    const [r0, r1, r2] = runs;
    await store.putErrorSummary(r0, 0, { premium: summary(2), free: summary(5) });
    await store.putErrorSummary(r0, 3, { premium: summary(3) });
    await store.putErrorSummary(r1, 1, { premium: summary(4) });
    await store.putErrorSummary(r2, 0, { premium: summary(100) });
    const got = await store.getErrorSummaries(r0, r1);
    expect(got.premium?.points).toBe(9);
    expect(got.premium?.pinballSum).toBe(18);
    expect(got.premium?.covered80).toBe(6);
    expect(got.free?.points).toBe(5);
    expect(
      await store.getErrorSummaries(forecastRunId(base - 600), forecastRunId(base - 300)),
    ).toEqual({});
  });

  it("sums error summaries written out of run order (a rerun of an older window)", async () => {
    const store = make();
    const { runs } = threeRuns();
    const [r0, r1, r2] = runs;
    await store.putErrorSummary(r2, 0, { premium: summary(7) });
    await store.putErrorSummary(r0, 0, { premium: summary(2) });
    await store.putErrorSummary(r1, 0, { premium: summary(4) });
    expect((await store.getErrorSummaries(r0, r1)).premium?.points).toBe(6);
    expect((await store.getErrorSummaries(r1, r2)).premium?.points).toBe(11);
  });

  it("replaces a run and shard's error summary when it is written again (reruns)", async () => {
    const store = make();
    const run = forecastRunId(runBase());
    await store.putErrorSummary(run, 2, { standard: summary(4) });
    await store.putErrorSummary(run, 2, { standard: summary(6) });
    expect((await store.getErrorSummaries(run, run)).standard?.points).toBe(6);
  });
});

describe("DynamoDbForecastStore", () => {
  const make = () => new DynamoDbForecastStore(aws.documentClient(), tables.forecasts, SHARDS);

  it("keys user forecasts by pool and shard and expires items a week after issue", async () => {
    const pool = `p-${unique()}`;
    await make().putForecasts([forecast(pool, "acme")]);
    const item = (
      await aws.documentClient().send(
        new GetCommand({
          TableName: tables.forecasts,
          Key: keys.userForecast(pool, shardOf("acme", SHARDS), "acme"),
        }),
      )
    ).Item;
    expect(item?.expiresAt).toBe(T0 + 7 * 86_400);
    expect(item?.tier).toBe("standard");
  });

  it("refuses a forecast too large for one DynamoDB item before writing it", async () => {
    const pool = `p-${unique()}`;
    const long = Array.from({ length: 50_000 }, (_, i) => i + 0.123456);
    const huge: Forecast = {
      ...forecast(pool, "acme"),
      byResource: { vcpu: { mean: long, quantiles: { "0.5": long } } },
    };
    await expect(make().putForecasts([huge])).rejects.toThrow(ValidationError);
    expect(await make().getUserForecast(pool, "acme")).toBeUndefined();
  });

  it("refuses a run id that is not 12-digit epoch seconds", async () => {
    await expect(make().putErrorSummary("run-1", 0, {})).rejects.toThrow(/12-digit/);
  });
});
