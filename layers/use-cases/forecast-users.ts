import { poolResources, type ShaperConfig, type User, userPools } from "../domain/config.js";
import { ValidationError } from "../domain/errors.js";
import type { CriticalPeak, Forecast, ForecastErrorSummary } from "../domain/forecast.js";
import { applyCohortColdStarts } from "../domain/forecasting/cohort.js";
import {
  batchGroups,
  renewalReason,
  scoreAgainstHistory,
  tierCategory,
} from "../domain/forecasting/forecast-assembly.js";
import {
  accumulateError,
  emptyErrorSummary,
  totalError,
  weightedQuantileLoss,
} from "../domain/forecasting/forecast-error.js";
import {
  buildUsageSeries,
  type GridSeries,
  gridFromFirstRecord,
} from "../domain/forecasting/usage-series.js";
import { type Amounts, addAmounts, maxAmounts, type Resource } from "../domain/resources.js";
import { intervalStartOf } from "../domain/time.js";
import type { UsageRecord } from "../domain/usage.js";
import type { ConfigSource } from "../ports/config-source.js";
import type { ForecastInstance, ForecastModel } from "../ports/forecast-model.js";
import type { ForecastStateStore, SeriesStates } from "../ports/forecast-state-store.js";
import type { ForecastStore } from "../ports/forecast-store.js";
import type { UsageStore } from "../ports/usage-store.js";
import type { UserRegistry } from "../ports/user-registry.js";
import { FallbackForecaster, type ModelAnswer } from "./fallback-forecaster.js";
import {
  forecastOptions,
  forecastsOfAnswer,
  insideWindow,
  mapConcurrently,
  type ReadExtent,
  type RunWindow,
  readSinceOrWhole,
  runWindow,
  seriesInstances,
  splitNotResumed,
  statesOfAnswer,
  statesOrigin,
} from "./forecast-run.js";

/** What forecasting a shard needs. */
export interface ForecastUsersDeps {
  readonly configSource: ConfigSource;
  readonly userRegistry: UserRegistry;
  readonly usageStore: UsageStore;
  readonly forecastStore: ForecastStore;
  /** The endpoint model for this run (endpoint name and timeout come from the config). */
  readonly primaryModel: (config: ShaperConfig) => ForecastModel;
  /** Answers when the primary fails; must not fail on data. */
  readonly fallbackModel: ForecastModel;
  /** Users whose history is read at once. @default 16 */
  readonly readConcurrency?: number;
  /** Model calls in flight at once. @default 4 */
  readonly batchConcurrency?: number;
  /**
   * Where each series' model state is kept between runs, so the model resumes instead of
   * refitting. Absent: every run refits. A failing store costs refits, never the run.
   */
  readonly stateStore?: ForecastStateStore;
}

export interface ForecastUsersInput {
  /** When the run was scheduled, epoch seconds; forecasts start at the interval containing it. */
  readonly time: number;
  readonly shard: number;
}

export interface ForecastUsersResult {
  readonly shard: number;
  /** The run id error summaries are written under (window end, 12 digits). */
  readonly runId: string;
  /** Start of the first forecast interval, epoch seconds. */
  readonly windowEnd: number;
  readonly users: number;
  /** Forecasts stored (user × pool). */
  readonly forecasts: number;
  /** Series forecast (user × pool × resource). */
  readonly series: number;
  /** Series with no observed history (cold start). */
  readonly coldStartSeries: number;
  readonly batches: number;
  readonly fallbackBatches: number;
  /** Distinct reasons the fallback answered (at most 5). */
  readonly fallbackReasons: readonly string[];
  /** Points of previous forecasts scored against arrived actuals. */
  readonly scoredPoints: number;
  /** Series whose model state was given to the model / returned by it. */
  readonly statesRead: number;
  readonly statesWritten: number;
  /** State store reads or writes that failed (the series were refitted; nothing else changed). */
  readonly stateErrors: number;
  /**
   * User-pools whose usage was read again over the whole window because the model refitted
   * series sent only from their states' origin (see `readUserPool`).
   */
  readonly rereads: number;
  /**
   * User-pools whose forecast was kept as it stands: younger than `forecast.refreshIntervals`,
   * its 80 % band held every actual since, and no new critical request (see `renewalReason`).
   */
  readonly forecastsKept: number;
  readonly errorByTier: Readonly<Record<string, ForecastErrorSummary>>;
  /** wQL over every scored point of the shard; absent when nothing could be scored. */
  readonly wql?: number;
}

/** One user and pool, read and scored, ready to forecast. */
interface UserPoolWork {
  readonly user: User;
  readonly pool: string;
  readonly resources: readonly Resource[];
  readonly series: Partial<Record<Resource, GridSeries>>;
  /** The largest critical burst remembered for the user (see `criticalPeakOf`). */
  readonly criticalPeak?: CriticalPeak;
  readonly previousError: ForecastErrorSummary;
  readonly coldStart: boolean;
  /** The model states stored for this user's series in the pool. */
  readonly states?: SeriesStates;
  /** True when the series hold only the intervals since the states' origin ("since-states"). */
  readonly partial?: boolean;
  /** True when the user's latest forecast stands for this run: nothing is asked or stored. */
  readonly keep?: boolean;
}

/**
 * Forecasts every user of one shard: reads each user's recent usage per pool, scores the
 * forecast it replaces against the actuals that have arrived, asks the endpoint model for new
 * forecasts in batches (the in-process model answers a batch the endpoint cannot, and the
 * forecasts say so), answers users with no history from their cohort (the same tier's users of
 * the pool on the same page, cohort.ts), stores them, and records the shard's forecast error.
 *
 * Reruns of a window are idempotent: forecasts are keyed by user and pool, and a forecast keeps
 * the error it measured for the one it replaced, so the rerun's error summary is the same.
 *
 * @throws ValidationError when the shard is outside the configured shard count
 * @throws DependencyError when a store fails, or the fallback model fails
 * @example
 * const result = await forecastUsers(deps, { time: Date.parse(event.time) / 1000, shard: 3 });
 */
export async function forecastUsers(
  deps: ForecastUsersDeps,
  input: ForecastUsersInput,
): Promise<ForecastUsersResult> {
  const config = await deps.configSource.load();
  checkShard(input.shard, config);
  const run = runWindow(config, input.time);
  const forecaster = new FallbackForecaster(deps.primaryModel(config), deps.fallbackModel);
  const tally = new ShardTally();
  for await (const page of deps.userRegistry.listUsersInShard(input.shard, config.shardCount)) {
    const onStateError = () => {
      tally.counts.stateErrors++;
    };
    const concurrency = deps.readConcurrency ?? 16;
    const ask = (work: readonly UserPoolWork[]) =>
      mapConcurrently(
        batchGroups(work, (w) => w.resources.length, config.forecast.batchSize),
        deps.batchConcurrency ?? 4,
        async (batch) => {
          const instances = batch.flatMap((w) => instancesOf(config, run, w));
          return { batch, answer: await forecaster.forecast(instances, forecastOptions(config)) };
        },
      );
    const pairs = page.flatMap((user) => userPools(user, config).map((pool) => ({ user, pool })));
    const firstRead = (
      await mapConcurrently(pairs, concurrency, ({ user, pool }) =>
        readUserPool(deps, config, run, user, pool, onStateError, "since-states"),
      )
    ).flatMap((w) => (w ? [w] : []));
    const toRenew = firstRead.filter((w) => !w.keep);
    tally.counts.forecastsKept += firstRead.length - toRenew.length;
    const firstAnswers = await ask(toRenew);
    // Series sent from their states' origin only, which the model refitted instead of resuming
    // (a new model version, a state it could not read): sent again with their whole window.
    const { kept, redo } = splitNotResumed<UserPoolWork>(firstAnswers);
    const reread = (
      await mapConcurrently(redo, concurrency, (w) =>
        readUserPool(deps, config, run, w.user, w.pool, onStateError, "whole-window"),
      )
    ).flatMap((w) => (w ? [w] : []));
    const answered = [...kept, ...(reread.length > 0 ? await ask(reread) : [])];
    const work = answered.flatMap(({ batch }) => batch);
    tally.counts.rereads += reread.length;
    const forecasts = applyCohortColdStarts(
      answered.flatMap(({ batch, answer }) => assemble(config, run, batch, answer)),
    );
    await deps.forecastStore.putForecasts(forecasts);
    tally.addPage(page.length, work, answered, forecasts.length);
    if (deps.stateStore)
      await storeStates(deps.stateStore, answered, deps.readConcurrency ?? 16, tally);
  }
  await deps.forecastStore.putErrorSummary(run.runId, input.shard, tally.errorByTier);
  return tally.result(input.shard, run);
}

/** Counts of a shard run, page by page. */
class ShardTally {
  readonly errorByTier: Record<string, ForecastErrorSummary> = {};
  private readonly fallbackReasons = new Set<string>();
  readonly counts = {
    statesRead: 0,
    statesWritten: 0,
    stateErrors: 0,
    users: 0,
    forecasts: 0,
    series: 0,
    coldStartSeries: 0,
    batches: 0,
    fallbackBatches: 0,
    scoredPoints: 0,
    rereads: 0,
    forecastsKept: 0,
  };

  addPage(
    users: number,
    work: readonly UserPoolWork[],
    answered: readonly { readonly answer: ModelAnswer }[],
    forecasts: number,
  ): void {
    const c = this.counts;
    c.users += users;
    c.forecasts += forecasts;
    for (const item of work) {
      accumulateError(this.errorByTier, item.user.tier, item.previousError);
      c.scoredPoints += item.previousError.points;
      c.series += item.resources.length;
      c.statesRead += Object.keys(item.states ?? {}).length;
      if (item.coldStart) c.coldStartSeries += item.resources.length;
    }
    for (const { answer } of answered) {
      c.batches++;
      if (answer.fallbackReason === undefined) continue;
      c.fallbackBatches++;
      if (this.fallbackReasons.size < 5) this.fallbackReasons.add(answer.fallbackReason);
    }
  }

  result(shard: number, run: RunWindow): ForecastUsersResult {
    const wql = weightedQuantileLoss(totalError(this.errorByTier));
    return {
      shard,
      runId: run.runId,
      windowEnd: run.windowEnd,
      ...this.counts,
      fallbackReasons: [...this.fallbackReasons],
      errorByTier: this.errorByTier,
      ...(wql === undefined ? {} : { wql }),
    };
  }
}

function assemble(
  config: ShaperConfig,
  run: RunWindow,
  batch: readonly UserPoolWork[],
  answer: ModelAnswer,
): Forecast[] {
  return forecastsOfAnswer(config, run, batch, answer, (work) => ({
    pool: work.pool,
    userId: work.user.userId,
    tier: work.user.tier,
    ...limitsOf(work.user),
    ...(work.coldStart ? { coldStart: true } : {}),
    ...(work.criticalPeak ? { criticalPeak: work.criticalPeak } : {}),
    ...(work.previousError.points > 0
      ? { previousError: { runId: run.runId, summary: work.previousError } }
      : {}),
  }));
}

/** The user's own guarantee/cap overrides, carried on its forecasts for the plan. */
function limitsOf(user: User): Pick<Forecast, "limits"> {
  if (user.guaranteedMinimum === undefined && user.cap === undefined) return {};
  return {
    limits: {
      ...(user.guaranteedMinimum === undefined
        ? {}
        : { guaranteedMinimum: user.guaranteedMinimum }),
      ...(user.cap === undefined ? {} : { cap: user.cap }),
    },
  };
}

function instancesOf(config: ShaperConfig, run: RunWindow, work: UserPoolWork): ForecastInstance[] {
  return seriesInstances(
    work.series,
    work.resources,
    tierCategory(config, work.user.tier),
    run.grid.intervalSeconds,
    work.states,
  );
}

/**
 * Stores the states the model returned, one write per user and pool; a failed write is counted
 * (the next run refits those series) and does not fail the run: forecasts are already stored.
 */
async function storeStates(
  store: ForecastStateStore,
  answered: readonly { readonly batch: readonly UserPoolWork[]; readonly answer: ModelAnswer }[],
  concurrency: number,
  tally: ShardTally,
): Promise<void> {
  const writes = answered.flatMap(({ batch, answer }) => statesOfAnswer(batch, answer));
  await mapConcurrently(writes, concurrency, async ({ work, states }) => {
    try {
      await store.putStates(work.user.userId, work.pool, states);
      tally.counts.statesWritten += Object.keys(states).length;
    } catch {
      tally.counts.stateErrors++;
    }
  });
}

/** The stored states of a user's series in a pool; a failed read counts and means "none". */
async function readStates(
  store: ForecastStateStore | undefined,
  userId: string,
  pool: string,
  onError: () => void,
): Promise<SeriesStates | undefined> {
  if (!store) return undefined;
  try {
    return await store.getStates(userId, pool);
  } catch {
    onError();
    return undefined;
  }
}

/**
 * Reads one user's pool for the run: its usage, the forecast being replaced (scored against the
 * actuals that arrived) and the series' model states. With "since-states", a pool whose series
 * all carry a state is read from the earliest of the states' origins and the replaced forecast's
 * start, less one critical-burst window (so bursts straddling it are summed whole): a handful of
 * intervals instead of a week — unless nothing was observed in them, when the whole window is
 * read after all (whether the user is a cold start depends on the whole window).
 *
 * The forecast being replaced may instead stand (`keep`, "since-states" only): when it is young
 * enough, its 80 % band held what arrived (`renewalReason`) and the user's critical peak did not
 * change. It is then neither scored nor asked for again: it is scored when it is replaced.
 *
 * @returns the work, or undefined when the pool is not configured
 */
async function readUserPool(
  deps: ForecastUsersDeps,
  config: ShaperConfig,
  run: RunWindow,
  user: User,
  pool: string,
  onStateError: () => void,
  extent: ReadExtent,
): Promise<UserPoolWork | undefined> {
  const poolConfig = config.pools[pool];
  if (!poolConfig) return undefined;
  const resources = poolResources(poolConfig);
  const burstSeconds = poolConfig.provisioningLagSeconds + run.grid.intervalSeconds;
  const [previous, states] = await Promise.all([
    deps.forecastStore.getUserForecast(pool, user.userId),
    readStates(deps.stateStore, user.userId, pool, onStateError),
  ]);
  const since =
    extent === "since-states"
      ? readStart(states, resources, previous, run, burstSeconds)
      : undefined;
  const { read, partial, observed } = await readSinceOrWhole(
    run,
    since,
    resources,
    async (grid) => {
      const records = await deps.usageStore.getUsage(user.userId, pool, grid.from, grid.to);
      return {
        records,
        series: buildUsageSeries(records, resources, gridFromFirstRecord(records, grid)),
      };
    },
  );
  const { records, series } = read;
  const criticalPeak = criticalPeakOf(
    records,
    previous?.criticalPeak,
    run.windowEnd,
    config.forecast.criticalPeakDays,
    burstSeconds,
  );
  const keep =
    extent === "since-states" &&
    observed &&
    previous !== undefined &&
    samePeak(criticalPeak, previous.criticalPeak) &&
    renewalReason(
      previous,
      series,
      resources,
      run.windowEnd,
      run.grid.intervalSeconds,
      config.forecast.refreshIntervals,
    ) === undefined;
  if (keep) {
    return {
      user,
      pool,
      resources,
      series,
      previousError: emptyErrorSummary(),
      coldStart: false,
      keep,
    };
  }
  return {
    user,
    pool,
    resources,
    series,
    ...(criticalPeak ? { criticalPeak } : {}),
    previousError: errorOfPrevious(previous, series, run),
    coldStart: !observed,
    ...(states ? { states } : {}),
    ...(partial ? { partial: true } : {}),
  };
}

/**
 * Where a "since-states" read starts: the earliest of the series' state origins and the replaced
 * forecast's start, less `burstSeconds`; undefined (read the whole window) when a series has no
 * state of the model, there is no forecast to replace, or that start is not inside the window.
 */
function readStart(
  states: SeriesStates | undefined,
  resources: readonly Resource[],
  previous: Forecast | undefined,
  run: RunWindow,
  burstSeconds: number,
): number | undefined {
  const origin = statesOrigin(states, resources);
  if (origin === undefined || !previous) return undefined;
  return insideWindow(
    intervalStartOf(Math.min(origin, previous.start) - burstSeconds, run.grid.intervalSeconds),
    run,
  );
}

/**
 * The critical burst to keep room for: per resource, the most the user's critical requests asked
 * within `windowSeconds` (the pool's provisioning lag plus one interval: capacity the plan adds
 * after a burst is admitted serves only a lag later, so requests arriving meanwhile need the room
 * already), over the records read and the peak the previous forecast carried, as long as the user
 * sent a critical request within the last `keepDays` (the newest such interval is `lastSeenAt`).
 * Carrying the previous peak remembers bursts further back than the history read.
 *
 * @param records the user's records of the pool (any order)
 * @param carried the previous forecast's peak, if any
 * @param now the run's window end, epoch seconds
 * @param keepDays the config's `forecast.criticalPeakDays`
 * @param windowSeconds how far apart two intervals may start and still count as one burst
 *   (≥ one interval: a single interval's `criticalAsked`)
 * @returns the peak, or undefined when nothing critical was sent within `keepDays`
 */
export function criticalPeakOf(
  records: readonly UsageRecord[],
  carried: CriticalPeak | undefined,
  now: number,
  keepDays: number,
  windowSeconds: number,
): CriticalPeak | undefined {
  if (keepDays <= 0) return undefined;
  const since = now - keepDays * 86_400;
  const asked: { readonly at: number; readonly amounts: Amounts }[] = [];
  for (const record of records) {
    const amounts = record.requests?.criticalAsked;
    if (amounts && record.intervalStart >= since) asked.push({ at: record.intervalStart, amounts });
  }
  asked.sort((a, b) => a.at - b.at);
  let peak = carried && carried.lastSeenAt >= since ? carried : undefined;
  for (let i = 0; i < asked.length; i++) {
    const end = asked[i] as (typeof asked)[number];
    let burst = end.amounts;
    for (
      let j = i - 1;
      j >= 0 && end.at - (asked[j] as (typeof asked)[number]).at < windowSeconds;
      j--
    ) {
      burst = addAmounts(burst, (asked[j] as (typeof asked)[number]).amounts);
    }
    peak = peak
      ? { amounts: maxAmounts(peak.amounts, burst), lastSeenAt: Math.max(peak.lastSeenAt, end.at) }
      : { amounts: burst, lastSeenAt: end.at };
  }
  return peak;
}

/** Whether two critical peaks are the same (a new critical request changes `lastSeenAt`). */
function samePeak(a: CriticalPeak | undefined, b: CriticalPeak | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.lastSeenAt !== b.lastSeenAt) return false;
  const keys = new Set([...Object.keys(a.amounts), ...Object.keys(b.amounts)]) as Set<Resource>;
  for (const r of keys) if (a.amounts[r] !== b.amounts[r]) return false;
  return true;
}

/**
 * The error of the forecast being replaced. A forecast already made for this window (a rerun)
 * is not scored again: the error it recorded for its own predecessor is counted instead.
 */
function errorOfPrevious(
  previous: Forecast | undefined,
  series: Partial<Record<Resource, GridSeries>>,
  run: RunWindow,
): ForecastErrorSummary {
  if (!previous) return emptyErrorSummary();
  if (previous.start >= run.windowEnd) {
    const recorded = previous.previousError;
    return recorded?.runId === run.runId ? recorded.summary : emptyErrorSummary();
  }
  return scoreAgainstHistory(previous, series, run.grid.intervalSeconds);
}

function checkShard(shard: number, config: ShaperConfig): void {
  if (!Number.isInteger(shard) || shard < 0 || shard >= config.shardCount) {
    throw new ValidationError(
      `Shard ${shard} does not exist: the config has ${config.shardCount} shards (0…${config.shardCount - 1}). Send a shard in that range.`,
      [{ field: "shard", message: `expected an integer in [0, ${config.shardCount - 1}]` }],
    );
  }
}
