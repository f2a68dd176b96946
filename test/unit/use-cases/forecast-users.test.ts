import { describe, expect, it } from "vitest";
import { InMemoryForecastStateStore } from "../../../layers/adapters/local/in-memory-forecast-state-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryUsageStore } from "../../../layers/adapters/local/in-memory-usage-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { InProcessForecastModel } from "../../../layers/adapters/local/in-process-forecast-model.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import type { ShaperConfig, User } from "../../../layers/domain/config.js";
import { DependencyError, ValidationError } from "../../../layers/domain/errors.js";
import type { Forecast } from "../../../layers/domain/forecast.js";
import { forecastRunId, WQL_LEVELS } from "../../../layers/domain/forecasting/forecast-error.js";
import { shardOf } from "../../../layers/domain/sharding.js";
import type { UsageRecord } from "../../../layers/domain/usage.js";
import type {
  ForecastInstance,
  ForecastModel,
  ForecastOptions,
  ForecastOutput,
} from "../../../layers/ports/forecast-model.js";
import { type ForecastUsersDeps, forecastUsers } from "../../../layers/use-cases/forecast-users.js";
import { testConfig } from "../../fixtures/config.js";
import { recordingModel } from "../../helpers/recording-model.js";

const INTERVAL = 300;
const TIME = 1_795_813_337; // inside the interval starting 1_795_813_200
const END = 1_795_813_200;

/** A model that records its calls and answers with the in-process model. */
class RecordingModel implements ForecastModel {
  readonly identity = { model: "endpoint", modelVersion: "v9" };
  readonly calls: { instances: readonly ForecastInstance[]; options: ForecastOptions }[] = [];
  private readonly inner = new InProcessForecastModel();

  async forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ForecastOutput[]> {
    this.calls.push({ instances, options });
    return this.inner.forecast(instances, options);
  }
}

/** A usage store that records where each read starts. */
class RecordingUsageStore extends InMemoryUsageStore {
  constructor(private readonly reads: { userId: string; pool: string; from: number }[]) {
    super();
  }

  override getUsage(userId: string, pool: string, from: number, to: number) {
    this.reads.push({ userId, pool, from });
    return super.getUsage(userId, pool, from, to);
  }
}

/** A usage store whose every read starts at the beginning of time (a whole-window read). */
class WideningUsageStore extends InMemoryUsageStore {
  override getUsage(userId: string, pool: string, _from: number, to: number) {
    return super.getUsage(userId, pool, 0, to);
  }
}

/** An endpoint that is down. */
class FailingModel implements ForecastModel {
  readonly identity = { model: "endpoint", modelVersion: "v9" };
  calls = 0;
  constructor(
    private readonly error: Error = new DependencyError("SageMaker", "endpoint timed out", {
      retryable: true,
    }),
  ) {}

  async forecast(): Promise<ForecastOutput[]> {
    this.calls++;
    throw this.error;
  }
}

interface Setup {
  config: ShaperConfig;
  users: User[];
  shard: number;
  deps: ForecastUsersDeps;
  usage: InMemoryUsageStore;
  forecasts: InMemoryForecastStore;
}

/** Users of one shard with usage: acme/globex have two days of cpu history, hooli none. */
async function setup(
  primary: ForecastModel,
  overrides: Parameters<typeof testConfig>[0] = {},
  usage = new InMemoryUsageStore(),
): Promise<Setup> {
  const config = testConfig({ shardCount: 1, ...overrides });
  const users = config.users;
  const records: UsageRecord[] = [];
  for (const userId of ["acme", "globex"]) {
    for (let i = 1; i <= 576; i++) {
      const t = END - i * INTERVAL;
      const level = userId === "acme" ? 8 : 2;
      records.push({
        userId,
        pool: "cpu",
        intervalStart: t,
        usage: i % 50 === 0 ? null : { vcpu: level + (i % 288) / 100, memoryGiB: 4 * level },
      });
    }
  }
  await usage.putUsage(records);
  const forecasts = new InMemoryForecastStore();
  const deps: ForecastUsersDeps = {
    configSource: new StaticConfigSource(config),
    userRegistry: new InMemoryUserRegistry(users),
    usageStore: usage,
    forecastStore: forecasts,
    primaryModel: () => primary,
    fallbackModel: new InProcessForecastModel(),
  };
  return { config, users, shard: 0, deps, usage, forecasts };
}

describe("forecastUsers", () => {
  it("forecasts every user, pool they draw from and resource the pool offers", async () => {
    const primary = new RecordingModel();
    const { deps, forecasts, config } = await setup(primary);
    const result = await forecastUsers(deps, { time: TIME, shard: 0 });
    // acme, globex, hooli: cpu (2 resources) + gpu (3); initech: cpu only.
    expect(result.users).toBe(4);
    expect(result.forecasts).toBe(7);
    expect(result.series).toBe(3 * (2 + 3) + 2);
    expect(result.fallbackBatches).toBe(0);
    const acme = await forecasts.getUserForecast("cpu", "acme");
    expect(acme).toMatchObject({
      start: END,
      issuedAt: TIME,
      horizon: config.horizonIntervals,
      intervalSeconds: INTERVAL,
      model: "endpoint",
      modelVersion: "v9",
      tier: "premium",
    });
    expect(acme?.fallbackReason).toBeUndefined();
    expect(Object.keys(acme?.byResource ?? {}).sort()).toEqual(["memoryGiB", "vcpu"]);
    expect(Object.keys(acme?.byResource.vcpu?.quantiles ?? {}).sort()).toEqual(
      config.quantiles.map(String).sort(),
    );
    expect(acme?.byResource.vcpu?.mean).toHaveLength(config.horizonIntervals);
    expect(acme?.byResource.memoryGiB?.mean[0]).toBeCloseTo(32, 9);
    expect(await forecasts.getUserForecast("gpu", "initech")).toBeUndefined();
  });

  it("carries a user's own guarantee and cap overrides on its forecasts, for the plan", async () => {
    const users = testConfig().users.map((u) =>
      u.userId === "globex" ? { ...u, cap: { vcpu: 6 }, guaranteedMinimum: { vcpu: 1 } } : u,
    );
    const { deps, forecasts } = await setup(new RecordingModel(), { users });
    await forecastUsers(deps, { time: TIME, shard: 0 });
    expect((await forecasts.getUserForecast("cpu", "globex"))?.limits).toEqual({
      guaranteedMinimum: { vcpu: 1 },
      cap: { vcpu: 6 },
    });
    expect((await forecasts.getUserForecast("cpu", "acme"))?.limits).toBeUndefined();
  });

  it("carries the largest critical burst of the history it read on the forecast, for the plan's room", async () => {
    const { deps, forecasts, usage } = await setup(new RecordingModel());
    const stats = (criticalAsked?: { vcpu: number; memoryGiB?: number }) => ({
      count: 1,
      requested: { vcpu: 1 },
      amountSeconds: { vcpu: 60 },
      granted: { vcpu: 1 },
      ...(criticalAsked ? { criticalAsked } : {}),
    });
    await usage.putUsage([
      {
        userId: "acme",
        pool: "cpu",
        intervalStart: END - 10 * INTERVAL,
        usage: { vcpu: 8 },
        requests: stats({ vcpu: 12.5, memoryGiB: 4 }),
      },
      // The interval before, within the cpu pool's lag (180 s) plus one interval: the same burst.
      {
        userId: "acme",
        pool: "cpu",
        intervalStart: END - 11 * INTERVAL,
        usage: { vcpu: 8 },
        requests: stats({ vcpu: 2 }),
      },
      {
        userId: "acme",
        pool: "cpu",
        intervalStart: END - 20 * INTERVAL,
        usage: { vcpu: 8 },
        requests: stats({ vcpu: 3, memoryGiB: 64 }),
      },
      // Older than the history the run reads (2,016 intervals by default): not counted.
      {
        userId: "acme",
        pool: "cpu",
        intervalStart: END - 5_000 * INTERVAL,
        usage: { vcpu: 8 },
        requests: stats({ vcpu: 99 }),
      },
      {
        userId: "globex",
        pool: "cpu",
        intervalStart: END - 10 * INTERVAL,
        usage: { vcpu: 2 },
        requests: stats(),
      },
    ]);
    await forecastUsers(deps, { time: TIME, shard: 0 });
    expect((await forecasts.getUserForecast("cpu", "acme"))?.criticalPeak).toEqual({
      amounts: { vcpu: 14.5, memoryGiB: 64 },
      lastSeenAt: END - 10 * INTERVAL,
    });
    expect(await forecasts.getUserForecast("cpu", "globex")).not.toHaveProperty("criticalPeak");
  });

  it("remembers a critical peak beyond the history read, through the previous forecast, for criticalPeakDays", async () => {
    const { deps, forecasts } = await setup(new RecordingModel(), {
      forecast: { criticalPeakDays: 20 },
    });
    await forecastUsers(deps, { time: TIME, shard: 0 });
    const first = await forecasts.getUserForecast("cpu", "globex");
    // A peak the previous forecast carried, last seen 19 days ago (long before the week read).
    await forecasts.putForecasts([
      {
        ...(first as Forecast),
        criticalPeak: { amounts: { vcpu: 20, memoryGiB: 64 }, lastSeenAt: END - 19 * 86_400 },
      },
    ]);
    await forecastUsers(deps, { time: TIME + INTERVAL, shard: 0 });
    expect((await forecasts.getUserForecast("cpu", "globex"))?.criticalPeak).toEqual({
      amounts: { vcpu: 20, memoryGiB: 64 },
      lastSeenAt: END - 19 * 86_400,
    });
    // Two days later it is 21 days old: forgotten.
    await forecastUsers(deps, { time: TIME + 2 * 86_400, shard: 0 });
    expect(await forecasts.getUserForecast("cpu", "globex")).not.toHaveProperty("criticalPeak");
  });

  it("sends DeepAR-shaped instances: tier category, missing values as NaN, no leading gap", async () => {
    const primary = new RecordingModel();
    const { deps, config } = await setup(primary);
    await forecastUsers(deps, { time: TIME, shard: 0 });
    const all = primary.calls.flatMap((c) => c.instances);
    const options = primary.calls[0]?.options;
    expect(options?.predictionLength).toBe(config.horizonIntervals);
    expect(options?.quantiles).toEqual(config.quantiles);
    // acme's cpu vcpu: 576 intervals of history, one missing every 50.
    const acmeVcpu = all.find((i) => i.cat?.[0] === 0 && i.target.length === 576);
    expect(acmeVcpu?.start).toBe(END - 576 * INTERVAL);
    expect(acmeVcpu?.target.filter(Number.isNaN)).toHaveLength(11);
    // hooli (free tier, index 2) has no history: one missing value just before the window end.
    const hooli = all.filter((i) => i.cat?.[0] === 2);
    expect(hooli.length).toBeGreaterThan(0);
    for (const instance of hooli) {
      expect(instance.start).toBe(END - INTERVAL);
      expect(instance.target).toEqual([Number.NaN]);
    }
  });

  it("forecasts users without history from their cohort, marked as such", async () => {
    const { deps, forecasts } = await setup(new RecordingModel());
    const result = await forecastUsers(deps, { time: TIME, shard: 0 });
    const acme = await forecasts.getUserForecast("cpu", "acme");
    const globex = await forecasts.getUserForecast("cpu", "globex");
    expect(acme?.coldStart).toBeUndefined();
    // initech (standard, no history): its tier's warm user in the pool is globex alone.
    const initech = await forecasts.getUserForecast("cpu", "initech");
    expect(initech?.coldStart).toBe(true);
    expect(initech?.coldStartCohort).toEqual({ basis: "tier", members: 1 });
    expect(initech?.byResource).toEqual(globex?.byResource);
    // hooli (free, no history): no free user has history, so the pool's warm users (2).
    const hooli = await forecasts.getUserForecast("cpu", "hooli");
    expect(hooli?.coldStartCohort).toEqual({ basis: "pool", members: 2 });
    const midpoint = (a: readonly number[] = [], b: readonly number[] = []) =>
      a.map((v, h) => (v + (b[h] ?? 0)) / 2);
    expect(hooli?.byResource.vcpu?.mean).toEqual(
      midpoint(acme?.byResource.vcpu?.mean, globex?.byResource.vcpu?.mean),
    );
    expect(hooli?.byResource.vcpu?.quantiles["0.9"]).toEqual(
      midpoint(acme?.byResource.vcpu?.quantiles["0.9"], globex?.byResource.vcpu?.quantiles["0.9"]),
    );
    // No one has gpu history: the model's cold-start answer (zero) stands, without a cohort.
    const gpu = await forecasts.getUserForecast("gpu", "hooli");
    expect(gpu?.coldStart).toBe(true);
    expect(gpu?.coldStartCohort).toBeUndefined();
    expect(gpu?.byResource.gpu?.mean).toEqual(new Array(12).fill(0));
    expect(result.coldStartSeries).toBeGreaterThanOrEqual(2);
  });

  it("answers with the fallback model when the endpoint fails, and records why", async () => {
    const primary = new FailingModel();
    const { deps, forecasts } = await setup(primary, { forecast: { batchSize: 4 } });
    // One batch in flight at a time, so the count of endpoint calls is exact.
    const result = await forecastUsers({ ...deps, batchConcurrency: 1 }, { time: TIME, shard: 0 });
    expect(result.forecasts).toBe(7);
    expect(result.fallbackBatches).toBe(result.batches);
    expect(result.fallbackReasons.some((r) => r.includes("endpoint timed out"))).toBe(true);
    const acme = await forecasts.getUserForecast("cpu", "acme");
    expect(acme?.model).toBe("shaper");
    expect(acme?.modelVersion).toBe("in-process");
    expect(acme?.fallbackReason).toMatch(/endpoint timed out|skipped after 3 consecutive failures/);
    expect(acme?.byResource.vcpu?.mean).toHaveLength(12);
    // After three failures in a row the endpoint is not called again this run.
    expect(primary.calls).toBe(3);
    expect(result.batches).toBeGreaterThan(3);
  });

  it("lets errors that are not dependency failures through (bugs are not hidden by the fallback)", async () => {
    const { deps } = await setup(new FailingModel(new TypeError("bug")));
    await expect(forecastUsers(deps, { time: TIME, shard: 0 })).rejects.toThrow(TypeError);
  });

  it("batches series by the configured size without splitting a user's pool across calls", async () => {
    const primary = new RecordingModel();
    const { deps } = await setup(primary, { forecast: { batchSize: 4 } });
    const result = await forecastUsers(deps, { time: TIME, shard: 0 });
    expect(primary.calls.length).toBe(result.batches);
    expect(primary.calls.every((c) => c.instances.length <= 4)).toBe(true);
    // gpu groups (3 series) cannot share a batch of 4 with another group of 2 or 3.
    expect(primary.calls.map((c) => c.instances.length).reduce((a, b) => a + b, 0)).toBe(
      result.series,
    );
  });

  it("scores the forecast it replaces against the actuals that arrived, per tier, under the run id", async () => {
    const { deps, forecasts, usage } = await setup(new RecordingModel());
    await forecastUsers(deps, { time: TIME - INTERVAL, shard: 0 });
    const previous = await forecasts.getUserForecast("cpu", "acme");
    // What happened in the interval the previous forecast's first step covered: far above it.
    await usage.putUsage([
      {
        userId: "acme",
        pool: "cpu",
        intervalStart: END - INTERVAL,
        usage: { vcpu: 100, memoryGiB: 32 },
      },
    ]);
    const result = await forecastUsers(deps, { time: TIME, shard: 0 });
    expect(previous?.start).toBe(END - INTERVAL);
    expect(result.scoredPoints).toBeGreaterThanOrEqual(2);
    expect(result.errorByTier.premium?.points).toBe(2);
    expect(result.errorByTier.premium?.absActualSum).toBe(132);
    expect(result.wql).toBeGreaterThan(0);
    const stored = await forecasts.getErrorSummaries(forecastRunId(END), forecastRunId(END));
    expect(stored.premium).toEqual(result.errorByTier.premium);
    const pinballAt100 = WQL_LEVELS.reduce(
      (sum, q) => sum + 2 * q * (100 - (previous?.byResource.vcpu?.quantiles[String(q)]?.[0] ?? 0)),
      0,
    );
    expect(stored.premium?.pinballSum ?? 0).toBeGreaterThanOrEqual(pinballAt100 - 1e-9);
  });

  it("writes the same error summary when a window is forecast again (reruns are idempotent)", async () => {
    const { deps, forecasts, usage } = await setup(new RecordingModel());
    await forecastUsers(deps, { time: TIME - INTERVAL, shard: 0 });
    await usage.putUsage([
      { userId: "acme", pool: "cpu", intervalStart: END - INTERVAL, usage: { vcpu: 100 } },
    ]);
    const first = await forecastUsers(deps, { time: TIME, shard: 0 });
    const again = await forecastUsers(deps, { time: TIME, shard: 0 });
    expect(again.errorByTier).toEqual(first.errorByTier);
    expect(await forecasts.getErrorSummaries(forecastRunId(END), forecastRunId(END))).toEqual(
      first.errorByTier,
    );
  });

  it("forecasts only the users of the shard it is given", async () => {
    const { deps, forecasts, users } = await setup(new RecordingModel(), { shardCount: 3 });
    const shard = shardOf("acme", 3);
    const result = await forecastUsers(deps, { time: TIME, shard });
    const expected = users.filter((u) => shardOf(u.userId, 3) === shard).map((u) => u.userId);
    expect(result.users).toBe(expected.length);
    for (const user of users) {
      const stored = await forecasts.getUserForecast("cpu", user.userId);
      expect(stored !== undefined).toBe(expected.includes(user.userId));
    }
  });

  it("refuses a shard outside the configured shard count", async () => {
    const { deps } = await setup(new RecordingModel());
    await expect(forecastUsers(deps, { time: TIME, shard: 1 })).rejects.toThrow(ValidationError);
  });
});

// These renew every forecast on every run (refreshIntervals 1); keeping one is tested below.
describe("forecastUsers with a state store", () => {
  const originOf = (state: unknown) =>
    (state as { forecaster: { originSeconds: number } }).forecaster.originSeconds;

  it("stores each series' model state and gives it back on the next run, which resumes from it", async () => {
    const primary = new RecordingModel();
    const { deps, usage } = await setup(primary, { forecast: { refreshIntervals: 1 } });
    const states = new InMemoryForecastStateStore();
    const first = await forecastUsers({ ...deps, stateStore: states }, { time: TIME, shard: 0 });
    expect(first.statesRead).toBe(0);
    expect(first.statesWritten).toBe(first.series);
    const saved = await states.getStates("acme", "cpu");
    expect(originOf(saved?.vcpu)).toBe(END);

    await usage.putUsage([
      { userId: "acme", pool: "cpu", intervalStart: END, usage: { vcpu: 9, memoryGiB: 32 } },
    ]);
    const second = await forecastUsers(
      { ...deps, stateStore: states },
      { time: TIME + INTERVAL, shard: 0 },
    );
    expect(second.statesRead).toBe(first.series);
    const sent = primary.calls.at(-1)?.instances ?? [];
    expect(sent.filter((i) => i.state !== undefined)).toHaveLength(first.series);
    // The resumed forecaster absorbed the new interval: its origin moved one step.
    expect(originOf((await states.getStates("acme", "cpu"))?.vcpu)).toBe(END + INTERVAL);
    expect(second.stateErrors).toBe(0);
  });

  it("refits and still stores every forecast when the state store fails, counting the failures", async () => {
    const { deps, forecasts } = await setup(new RecordingModel(), {
      forecast: { refreshIntervals: 1 },
    });
    const broken = {
      getStates: async () => {
        throw new DependencyError("S3", "reading forecast states failed", { retryable: true });
      },
      putStates: async () => {
        throw new DependencyError("S3", "writing forecast states failed", { retryable: true });
      },
    };
    const result = await forecastUsers({ ...deps, stateStore: broken }, { time: TIME, shard: 0 });
    expect(result.forecasts).toBe(7);
    expect(result.statesWritten).toBe(0);
    // One failed read per user and pool (7), one failed write per user and pool (7).
    expect(result.stateErrors).toBe(14);
    expect(await forecasts.getUserForecast("cpu", "acme")).toBeDefined();
  });

  it("reads only the intervals since the series' states once each has one, and forecasts as from the whole window", async () => {
    // Two identical deployments; in the second, every usage read covers the whole window.
    const reads: { userId: string; pool: string; from: number }[] = [];
    const narrow = await setup(
      new RecordingModel(),
      { forecast: { refreshIntervals: 1 } },
      new RecordingUsageStore(reads),
    );
    const config = narrow.config;
    const wide = await setup(
      new RecordingModel(),
      { forecast: { refreshIntervals: 1 } },
      new WideningUsageStore(),
    );
    const runs = [
      { deps: { ...narrow.deps, stateStore: new InMemoryForecastStateStore() }, s: narrow },
      { deps: { ...wide.deps, stateStore: new InMemoryForecastStateStore() }, s: wide },
    ];
    const next = {
      userId: "acme",
      pool: "cpu",
      intervalStart: END,
      usage: { vcpu: 9, memoryGiB: 32 },
    };
    const results = [];
    for (const { deps, s } of runs) {
      await forecastUsers(deps, { time: TIME, shard: 0 });
      await s.usage.putUsage([next]);
      results.push(await forecastUsers(deps, { time: TIME + INTERVAL, shard: 0 }));
    }
    // The second run read acme's cpu from its states' origin (END) less the cpu pool's lag
    // (180 s) and one interval, floored to an interval: two intervals, not the week.
    const acmeReads = reads.filter((r) => r.userId === "acme" && r.pool === "cpu");
    expect(acmeReads.map((r) => r.from)).toEqual([
      END - config.historyIntervals * INTERVAL,
      END - 2 * INTERVAL,
    ]);
    expect(results[0]?.rereads).toBe(0);
    for (const userId of ["acme", "globex", "hooli"]) {
      for (const pool of ["cpu", "gpu"]) {
        const a = await narrow.forecasts.getUserForecast(pool, userId);
        const b = await wide.forecasts.getUserForecast(pool, userId);
        expect(a, `${userId} ${pool}`).toBeDefined();
        expect(a).toEqual(b);
      }
    }
    // hooli has never been observed: a cold start either way (its whole window was read).
    expect((await narrow.forecasts.getUserForecast("cpu", "hooli"))?.coldStart).toBe(true);
    expect(results[0]?.wql).toBe(results[1]?.wql);
  });

  it("sends a pool's whole window again when the model refits a series it was sent from its state", async () => {
    const v9 = new InProcessForecastModel({ identity: { model: "endpoint", modelVersion: "v9" } });
    const v10 = new InProcessForecastModel({
      identity: { model: "endpoint", modelVersion: "v10" },
    });
    const { deps, usage, forecasts, config } = await setup(v9, {
      forecast: { refreshIntervals: 1 },
    });
    const stateStore = new InMemoryForecastStateStore();
    await forecastUsers({ ...deps, stateStore }, { time: TIME, shard: 0 });
    await usage.putUsage([
      { userId: "acme", pool: "cpu", intervalStart: END, usage: { vcpu: 9, memoryGiB: 32 } },
    ]);
    // A retrain promoted v10: the v9 states are set aside and every series refitted.
    const sent: ForecastInstance[][] = [];
    const primary = recordingModel(v10, sent);
    const second = await forecastUsers(
      { ...deps, primaryModel: () => primary, stateStore },
      { time: TIME + INTERVAL, shard: 0 },
    );
    // Every user-pool with observed usage was first sent from its states' origin, then again whole.
    expect(second.rereads).toBeGreaterThan(0);
    // acme's cpu series: 3 intervals from the states' origin, then the whole window.
    const acmeCpu = sent.map((call) =>
      call.filter((i) => i.cat?.[0] === 0 && i.target.at(-1) === 9),
    );
    expect(acmeCpu.map((call) => call.map((i) => i.target.length))).toEqual([
      [3],
      [config.historyIntervals],
    ]);
    const refitted = await forecasts.getUserForecast("cpu", "acme");
    // The same forecast as a deployment that never had states, serving v10.
    const fresh = await setup(v10, { forecast: { refreshIntervals: 1 } });
    await fresh.usage.putUsage([
      { userId: "acme", pool: "cpu", intervalStart: END, usage: { vcpu: 9, memoryGiB: 32 } },
    ]);
    await forecastUsers(fresh.deps, { time: TIME + INTERVAL, shard: 0 });
    expect(refitted?.byResource).toEqual(
      (await fresh.forecasts.getUserForecast("cpu", "acme"))?.byResource,
    );
    expect(second.forecasts).toBe(7);
  });
});

describe("forecastUsers keeping forecasts that still hold", () => {
  /** A first run with a state store; returns what the next runs need. */
  async function afterFirstRun(refreshIntervals: number) {
    const sent: ForecastInstance[][] = [];
    const primary = recordingModel(new InProcessForecastModel(), sent);
    const setupResult = await setup(primary, { forecast: { refreshIntervals } });
    const deps = { ...setupResult.deps, stateStore: new InMemoryForecastStateStore() };
    await forecastUsers(deps, { time: TIME, shard: 0 });
    const first = await setupResult.forecasts.getUserForecast("cpu", "acme");
    if (!first) throw new Error("acme has no first forecast");
    sent.length = 0;
    return { ...setupResult, deps, sent, first };
  }
  /** acme's cpu usage at the first forecast's median, step `step` after its start. */
  const onMedian = (first: Forecast, step: number): UsageRecord => ({
    userId: "acme",
    pool: "cpu",
    intervalStart: END + step * INTERVAL,
    usage: {
      vcpu: first.byResource.vcpu?.quantiles["0.5"]?.[step] as number,
      memoryGiB: first.byResource.memoryGiB?.quantiles["0.5"]?.[step] as number,
    },
  });
  const sentFor = (sent: ForecastInstance[][]) => sent.flat().length;

  it("keeps a user's forecast while its 80 % band holds what arrives, and renews one it misses", async () => {
    const { deps, usage, forecasts, sent, first } = await afterFirstRun(6);
    await usage.putUsage([
      onMedian(first, 0),
      { userId: "globex", pool: "cpu", intervalStart: END, usage: { vcpu: 500, memoryGiB: 8 } },
    ]);
    const second = await forecastUsers(deps, { time: TIME + INTERVAL, shard: 0 });
    expect(second.forecastsKept).toBe(1);
    expect(await forecasts.getUserForecast("cpu", "acme")).toEqual(first);
    // globex left its band: renewed from the new interval on.
    expect((await forecasts.getUserForecast("cpu", "globex"))?.start).toBe(END + INTERVAL);
    // acme's two cpu series were not sent; everyone else's seven pools were (17 − 2 series).
    expect(sentFor(sent)).toBe(3 * (2 + 3) + 2 - 2);
    expect(second.forecasts).toBe(7 - 1);
  });

  it("renews a kept forecast once it is refreshIntervals old, scoring every step that arrived", async () => {
    const { deps, usage, forecasts, first } = await afterFirstRun(2);
    await usage.putUsage([onMedian(first, 0)]);
    const second = await forecastUsers(deps, { time: TIME + INTERVAL, shard: 0 });
    // acme's and globex's (whose interval is missing: that says nothing).
    expect(second.forecastsKept).toBe(2);
    await usage.putUsage([onMedian(first, 1)]);
    const third = await forecastUsers(deps, { time: TIME + 2 * INTERVAL, shard: 0 });
    expect(third.forecastsKept).toBe(0);
    const renewed = await forecasts.getUserForecast("cpu", "acme");
    expect(renewed?.start).toBe(END + 2 * INTERVAL);
    // Two steps of two resources, all at the median: scored, and every one inside the band.
    expect(renewed?.previousError?.summary).toMatchObject({ points: 4, covered80: 4 });
  });

  it("renews the forecast of a user who sent a critical request, to carry its critical peak", async () => {
    const { deps, usage, forecasts, first } = await afterFirstRun(6);
    const critical = { vcpu: 4 };
    await usage.putUsage([
      {
        ...onMedian(first, 0),
        requests: {
          count: 1,
          requested: critical,
          amountSeconds: { vcpu: 4 * 600 },
          granted: critical,
          criticalAsked: critical,
        },
      },
    ]);
    const second = await forecastUsers(deps, { time: TIME + INTERVAL, shard: 0 });
    expect(second.forecastsKept).toBe(1); // globex's: its interval is missing
    const renewed = await forecasts.getUserForecast("cpu", "acme");
    expect(renewed?.start).toBe(END + INTERVAL);
    expect(renewed?.criticalPeak).toEqual({
      amounts: critical,
      lastSeenAt: END,
    });
  });
});
