import { describe, expect, it } from "vitest";
import { InMemoryEventPublisher } from "../../../layers/adapters/local/in-memory-event-publisher.js";
import { InMemoryForecastStateStore } from "../../../layers/adapters/local/in-memory-forecast-state-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryUsageStore } from "../../../layers/adapters/local/in-memory-usage-store.js";
import { InProcessForecastModel } from "../../../layers/adapters/local/in-process-forecast-model.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import { DependencyError } from "../../../layers/domain/errors.js";
import type { ForecastErrorSummary } from "../../../layers/domain/forecast.js";
import { forecastRunId } from "../../../layers/domain/forecasting/forecast-error.js";
import type { PoolUsagePartial } from "../../../layers/domain/usage.js";
import type {
  ForecastInstance,
  ForecastModel,
  ForecastOutput,
} from "../../../layers/ports/forecast-model.js";
import {
  FORECAST_ERROR_EVENT,
  type ForecastPoolsDeps,
  forecastPools,
  poolSubject,
  REALERT_SECONDS,
} from "../../../layers/use-cases/forecast-pools.js";
import { testConfig } from "../../fixtures/config.js";
import { recordingModel } from "../../helpers/recording-model.js";

const INTERVAL = 300;
const END = 1_795_813_200;
const TIME = END + 17;
const SHARDS = 2;

class FailingModel implements ForecastModel {
  readonly identity = { model: "endpoint", modelVersion: "v1" };
  async forecast(): Promise<ForecastOutput[]> {
    throw new DependencyError("SageMaker", "endpoint answered garbage", { retryable: false });
  }
}

function summary(pinballSum: number, absActualSum: number, points = 10): ForecastErrorSummary {
  return { pinballSum, absActualSum, quantileCount: 9, points, covered80: points - 2 };
}

async function setup(
  primary: ForecastModel = new InProcessForecastModel({
    identity: { model: "endpoint", modelVersion: "v1" },
  }),
) {
  const config = testConfig({ shardCount: SHARDS, forecast: { errorThresholdWql: 0.3 } });
  const usage = new InMemoryUsageStore();
  const partials: PoolUsagePartial[] = [];
  for (let i = 1; i <= 100; i++) {
    for (let shard = 0; shard < SHARDS; shard++) {
      partials.push({
        pool: "cpu",
        intervalStart: END - i * INTERVAL,
        shard,
        usage: { vcpu: 10 + shard, memoryGiB: 40 },
        reportingUsers: 2,
        missingUsers: 0,
      });
    }
  }
  await usage.putPoolUsagePartials(partials);
  const forecasts = new InMemoryForecastStore();
  const events = new InMemoryEventPublisher();
  const deps: ForecastPoolsDeps = {
    configSource: new StaticConfigSource(config),
    usageStore: usage,
    forecastStore: forecasts,
    events,
    primaryModel: () => primary,
    fallbackModel: new InProcessForecastModel(),
  };
  return { config, deps, forecasts, events, usage };
}

describe("forecastPools", () => {
  it("forecasts each pool's aggregate series, the sum over shards", async () => {
    const { deps, forecasts, config } = await setup();
    const result = await forecastPools(deps, { time: TIME });
    expect(result.pools).toBe(2);
    expect(result.series).toBe(2 + 3);
    const cpu = await forecasts.getPoolForecast("cpu");
    expect(cpu).toMatchObject({
      pool: "cpu",
      start: END,
      issuedAt: TIME,
      horizon: config.horizonIntervals,
      model: "endpoint",
    });
    expect(cpu?.userId).toBeUndefined();
    expect(cpu?.byResource.vcpu?.mean[0]).toBeCloseTo(21, 9);
    expect(cpu?.byResource.memoryGiB?.mean[0]).toBeCloseTo(80, 9);
    // No partials for gpu: a cold-start forecast, marked as such.
    const gpu = await forecasts.getPoolForecast("gpu");
    expect(gpu?.coldStart).toBe(true);
    expect(result.coldStartSeries).toBe(3);
  });

  it("falls back to the in-process model when the endpoint fails, and records why", async () => {
    const { deps, forecasts } = await setup(new FailingModel());
    const result = await forecastPools(deps, { time: TIME });
    expect(result.fallbackBatches).toBe(result.batches);
    const cpu = await forecasts.getPoolForecast("cpu");
    expect(cpu?.fallbackReason).toContain("garbage");
    expect(cpu?.byResource.vcpu?.mean[0]).toBeCloseTo(21, 9);
  });

  it("publishes ForecastErrorThresholdExceeded when the last hour's wQL passes the threshold", async () => {
    const { deps, forecasts, events } = await setup();
    // Runs inside the last hour (one at the window end, one 55 minutes before): wQL 45/(9·10) = 0.5.
    await forecasts.putErrorSummary(forecastRunId(END), 0, { premium: summary(30, 5, 6) });
    await forecasts.putErrorSummary(forecastRunId(END - 3_300), 1, { free: summary(15, 5, 4) });
    // A run older than an hour does not count (it would pull the wQL far below 0.5); it keeps the
    // previous run's hour under the threshold, so this run is a crossing.
    await forecasts.putErrorSummary(forecastRunId(END - 3_600), 0, { premium: summary(0, 1_000) });
    const result = await forecastPools(deps, { time: TIME });
    expect(result.published).toBe(true);
    expect(result.error.wql).toBeCloseTo(0.5, 12);
    const [event] = events.ofType(FORECAST_ERROR_EVENT);
    expect(events.ofType(FORECAST_ERROR_EVENT)).toHaveLength(1);
    expect(event?.detail).toMatchObject({
      points: 10,
      threshold: 0.3,
      from: END - 3_600,
      to: END,
      byTier: { premium: { points: 6 }, free: { points: 4 } },
    });
    const byTier = event?.detail.byTier as Record<string, { wql: number }> | undefined;
    expect(byTier?.premium?.wql).toBeCloseTo(30 / 45, 12);
    expect(event?.detail.coverage80).toBeCloseTo(0.6, 12);
  });

  it("does not publish again while the error stays above the threshold", async () => {
    const { deps, forecasts, events } = await setup();
    // Above the threshold in this run's hour and in the previous run's hour: no new crossing.
    await forecasts.putErrorSummary(forecastRunId(END - INTERVAL), 0, {
      premium: summary(30, 5, 6),
    });
    await forecasts.putErrorSummary(forecastRunId(END), 0, { premium: summary(30, 5, 6) });
    const result = await forecastPools(deps, { time: TIME });
    expect(result.error.wql).toBeGreaterThan(0.3);
    expect(result.published).toBe(false);
    expect(events.ofType(FORECAST_ERROR_EVENT)).toEqual([]);
  });

  it("repeats the event when a re-alert period starts and the error is still above", async () => {
    const { deps, forecasts, events } = await setup();
    const periodEnd = Math.floor(END / REALERT_SECONDS) * REALERT_SECONDS;
    await forecasts.putErrorSummary(forecastRunId(periodEnd - INTERVAL), 0, {
      premium: summary(30, 5, 6),
    });
    await forecasts.putErrorSummary(forecastRunId(periodEnd), 0, { premium: summary(30, 5, 6) });
    const result = await forecastPools(deps, { time: periodEnd + 17 });
    expect(result.published).toBe(true);
    expect(events.ofType(FORECAST_ERROR_EVENT)).toHaveLength(1);
  });

  it("publishes nothing when the error is under the threshold or unmeasured", async () => {
    const { deps, forecasts, events } = await setup();
    expect((await forecastPools(deps, { time: TIME })).error.wql).toBeNull();
    await forecasts.putErrorSummary(forecastRunId(END), 0, { standard: summary(9, 10) });
    const result = await forecastPools(deps, { time: TIME });
    expect(result.error.wql).toBeCloseTo(0.1, 12);
    expect(result.published).toBe(false);
    expect(events.events).toEqual([]);
  });
});

describe("forecastPools with a state store", () => {
  const originOf = (state: unknown) =>
    (state as { forecaster: { originSeconds: number } }).forecaster.originSeconds;

  it("keeps each pool series' model state and resumes from it on the next run", async () => {
    const model = new InProcessForecastModel({
      identity: { model: "endpoint", modelVersion: "v1" },
    });
    const sent: ForecastInstance[][] = [];
    const recording = recordingModel(model, sent);
    const { deps, usage } = await setup(recording);
    const states = new InMemoryForecastStateStore();
    const first = await forecastPools({ ...deps, stateStore: states }, { time: TIME });
    expect(first.stateErrors).toBe(0);
    const saved = await states.getStates(poolSubject("cpu"), "cpu");
    expect(Object.keys(saved ?? {}).sort()).toEqual(["memoryGiB", "vcpu"]);
    expect(originOf(saved?.vcpu)).toBe(END);
    // No user can be named like a pool's subject: user ids hold no "#".
    expect(poolSubject("cpu").startsWith("#")).toBe(true);

    await usage.putPoolUsagePartials(
      [0, 1].map((shard) => ({
        pool: "cpu",
        intervalStart: END,
        shard,
        usage: { vcpu: 12, memoryGiB: 40 },
        reportingUsers: 2,
        missingUsers: 0,
      })),
    );
    const second = await forecastPools({ ...deps, stateStore: states }, { time: TIME + INTERVAL });
    expect(second.stateErrors).toBe(0);
    // The second run sent every series with its state (5 series over both pools).
    expect(sent.at(-1)?.filter((i) => i.state !== undefined)).toHaveLength(5);
    // The stored state absorbed the new interval.
    expect(originOf((await states.getStates(poolSubject("cpu"), "cpu"))?.vcpu)).toBe(
      END + INTERVAL,
    );
    // Only what arrived since the states' origin was read and sent for the cpu pool.
    const cpu = sent.at(-1)?.filter((i) => i.target.some(Number.isFinite));
    expect(cpu?.map((i) => [i.start, i.target])).toEqual([
      [END, [24]],
      [END, [80]],
    ]);
    expect(second.batches).toBe(1);
  });

  it("forecasts from the states' origin exactly as from the whole window, and refits whole", async () => {
    const v1 = new InProcessForecastModel({ identity: { model: "endpoint", modelVersion: "v1" } });
    const narrow = await setup(v1);
    const wide = await setup(v1);
    const widened = wide.usage;
    const wholeReads: ForecastPoolsDeps["usageStore"] = Object.assign(Object.create(widened), {
      getPoolUsagePartials: (pool: string, _from: number, to: number) =>
        widened.getPoolUsagePartials(pool, 0, to),
    });
    const next = [0, 1].map((shard) => ({
      pool: "cpu",
      intervalStart: END,
      shard,
      usage: { vcpu: 14, memoryGiB: 41 },
      reportingUsers: 2,
      missingUsers: 0,
    }));
    for (const [s, usageStore] of [
      [narrow, narrow.usage],
      [wide, wholeReads],
    ] as const) {
      const stateStore = new InMemoryForecastStateStore();
      await forecastPools({ ...s.deps, usageStore, stateStore }, { time: TIME });
      await s.usage.putPoolUsagePartials(next);
      await forecastPools({ ...s.deps, usageStore, stateStore }, { time: TIME + INTERVAL });
    }
    const a = await narrow.forecasts.getPoolForecast("cpu");
    expect(a?.start).toBe(END + INTERVAL);
    expect(a).toEqual(await wide.forecasts.getPoolForecast("cpu"));

    // A new model version sets the states aside: the cpu pool is read and sent again whole.
    const v2 = new InProcessForecastModel({ identity: { model: "endpoint", modelVersion: "v2" } });
    const sent: ForecastInstance[][] = [];
    const recording = recordingModel(v2, sent);
    const stateStore = new InMemoryForecastStateStore();
    await forecastPools({ ...narrow.deps, stateStore }, { time: TIME });
    await forecastPools(
      { ...narrow.deps, primaryModel: () => recording, stateStore },
      { time: TIME + INTERVAL },
    );
    const cpuLengths = sent.map((call) =>
      call.filter((i) => i.target.some(Number.isFinite)).map((i) => i.target.length),
    );
    // First from the states' origin (one interval each), then whole: 101 intervals.
    expect(cpuLengths).toEqual([
      [1, 1],
      [101, 101],
    ]);
  });

  it("still forecasts every pool when the state store fails, counting the failures", async () => {
    const { deps, forecasts } = await setup();
    const broken = {
      getStates: async () => {
        throw new DependencyError("S3", "reading forecast states failed", { retryable: true });
      },
      putStates: async () => {
        throw new DependencyError("S3", "writing forecast states failed", { retryable: true });
      },
    };
    const result = await forecastPools({ ...deps, stateStore: broken }, { time: TIME });
    expect(result.pools).toBe(2);
    // One failed read and one failed write per pool.
    expect(result.stateErrors).toBe(4);
    expect(await forecasts.getPoolForecast("cpu")).toBeDefined();
  });
});
