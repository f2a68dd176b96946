import { type Pool, poolResources, type ShaperConfig } from "../domain/config.js";
import type { Forecast, ForecastErrorSummary } from "../domain/forecast.js";
import { batchGroups, tierCategory } from "../domain/forecasting/forecast-assembly.js";
import {
  coverage80,
  forecastRunId,
  totalError,
  weightedQuantileLoss,
} from "../domain/forecasting/forecast-error.js";
import { buildPoolUsageSeries, type GridSeries } from "../domain/forecasting/usage-series.js";
import type { Resource } from "../domain/resources.js";
import type { ConfigSource } from "../ports/config-source.js";
import type { EventPublisher } from "../ports/event-publisher.js";
import type { ForecastModel } from "../ports/forecast-model.js";
import type { ForecastStateStore, SeriesStates } from "../ports/forecast-state-store.js";
import type { ForecastStore } from "../ports/forecast-store.js";
import type { UsageStore } from "../ports/usage-store.js";
import { FallbackForecaster, type ModelAnswer } from "./fallback-forecaster.js";
import {
  type AnsweredBatch,
  forecastOptions,
  forecastsOfAnswer,
  insideWindow,
  type ReadExtent,
  type RunWindow,
  readSinceOrWhole,
  runWindow,
  seriesInstances,
  splitNotResumed,
  statesOfAnswer,
  statesOrigin,
} from "./forecast-run.js";

/** The event the retrain flow is triggered by. */
export const FORECAST_ERROR_EVENT = "ForecastErrorThresholdExceeded";

/** Forecast error is judged over the runs of the last hour. */
export const ERROR_WINDOW_SECONDS = 3_600;

/** While the error stays above the threshold, the event is repeated once per this period. */
export const REALERT_SECONDS = 6 * 3_600;

/** What forecasting the pools needs. */
export interface ForecastPoolsDeps {
  readonly configSource: ConfigSource;
  readonly usageStore: UsageStore;
  readonly forecastStore: ForecastStore;
  readonly events: EventPublisher;
  /** The endpoint model for this run (endpoint name and timeout come from the config). */
  readonly primaryModel: (config: ShaperConfig) => ForecastModel;
  /** Answers when the primary fails; must not fail on data. */
  readonly fallbackModel: ForecastModel;
  /**
   * Where each pool's series keep the model's state between runs (subject `#pool:<name>`), so a
   * run resumes them instead of refitting a week of history. Absent: every run refits.
   */
  readonly stateStore?: ForecastStateStore;
}

export interface ForecastPoolsInput {
  /** When the run was scheduled, epoch seconds. */
  readonly time: number;
}

/** Error of one group over the error window. */
export interface ErrorFigures {
  /** Weighted quantile loss; null when nothing with a non-zero actual was scored. */
  readonly wql: number | null;
  readonly coverage80: number | null;
  readonly points: number;
}

/** The detail of a ForecastErrorThresholdExceeded event. */
export interface ForecastErrorEventDetail extends ErrorFigures {
  readonly threshold: number;
  readonly byTier: Readonly<Record<string, ErrorFigures>>;
  /** The runs judged: window ends in (from, to], epoch seconds. */
  readonly from: number;
  readonly to: number;
}

export interface ForecastPoolsResult {
  readonly windowEnd: number;
  readonly pools: number;
  readonly series: number;
  readonly coldStartSeries: number;
  readonly batches: number;
  readonly fallbackBatches: number;
  readonly fallbackReasons: readonly string[];
  /** State reads and writes that failed (each costs a refit, never a wrong forecast). */
  readonly stateErrors: number;
  /** Forecast error of the user forecasts over the last hour of runs. */
  readonly error: ForecastErrorEventDetail;
  /**
   * True when the event was published: the error passed the threshold this run (it was below one
   * run earlier), or it is still above and a re-alert period (REALERT_SECONDS) starts.
   */
  readonly published: boolean;
}

/** One pool's aggregate series, ready to forecast. */
interface PoolWork {
  readonly pool: string;
  readonly resources: readonly Resource[];
  readonly series: Partial<Record<Resource, GridSeries>>;
  readonly coldStart: boolean;
  readonly states?: SeriesStates;
  /** True when the series hold only the intervals since the states' origin. */
  readonly partial?: boolean;
}

/**
 * Forecasts each pool's aggregate series (the sum over shards of the users' usage, from the
 * partial sums collect writes), stores the pool forecasts, then judges the user forecasts' error
 * over the last hour of runs: when the weighted quantile loss passes
 * `forecast.errorThresholdWql`, it publishes ForecastErrorThresholdExceeded, which starts the
 * retrain flow.
 *
 * @throws DependencyError when a store or the event bus fails, or the fallback model fails
 * @example
 * const result = await forecastPools(deps, { time: Date.parse(event.time) / 1000 });
 */
export async function forecastPools(
  deps: ForecastPoolsDeps,
  input: ForecastPoolsInput,
): Promise<ForecastPoolsResult> {
  const config = await deps.configSource.load();
  const run = runWindow(config, input.time);
  let stateErrors = 0;
  const onStateError = () => {
    stateErrors++;
  };
  const pools = Object.keys(config.pools);
  const forecaster = new FallbackForecaster(deps.primaryModel(config), deps.fallbackModel);
  const ask = async (work: readonly PoolWork[]): Promise<AnsweredBatch<PoolWork>[]> => {
    const answered: AnsweredBatch<PoolWork>[] = [];
    for (const batch of batchGroups(work, (w) => w.resources.length, config.forecast.batchSize)) {
      const category = tierCategory(config, undefined);
      const instances = batch.flatMap((w) =>
        seriesInstances(w.series, w.resources, category, config.intervalSeconds, w.states),
      );
      answered.push({
        batch,
        answer: await forecaster.forecast(instances, forecastOptions(config)),
      });
    }
    return answered;
  };
  const first = await Promise.all(
    pools.map((pool) => readPool(deps, config, run, pool, onStateError, "since-states")),
  );
  // Pools sent from their states' origin only, which the model refitted: sent again whole.
  const { kept, redo } = splitNotResumed(await ask(first));
  const reread = await Promise.all(
    redo.map((w) => readPool(deps, config, run, w.pool, onStateError, "whole-window")),
  );
  const answered = [...kept, ...(reread.length > 0 ? await ask(reread) : [])];
  const work = answered.flatMap(({ batch }) => batch);
  const forecasts: Forecast[] = [];
  const fallbackReasons = new Set<string>();
  let fallbackBatches = 0;
  for (const { batch, answer } of answered) {
    if (deps.stateStore) stateErrors += await storePoolStates(deps.stateStore, batch, answer);
    if (answer.fallbackReason !== undefined) {
      fallbackBatches++;
      fallbackReasons.add(answer.fallbackReason);
    }
    forecasts.push(
      ...forecastsOfAnswer(config, run, batch, answer, (w) => ({
        pool: w.pool,
        ...(w.coldStart ? { coldStart: true } : {}),
      })),
    );
  }
  await deps.forecastStore.putForecasts(forecasts);

  const error = await recentError(deps.forecastStore, config, run.windowEnd);
  const published =
    isAbove(error) && (await shouldAlert(deps.forecastStore, config, run.windowEnd));
  if (published) await deps.events.publish(FORECAST_ERROR_EVENT, { ...error });
  return {
    windowEnd: run.windowEnd,
    pools: work.length,
    series: work.reduce((n, w) => n + w.resources.length, 0),
    coldStartSeries: work.reduce((n, w) => n + (w.coldStart ? w.resources.length : 0), 0),
    batches: answered.length,
    fallbackBatches,
    fallbackReasons: [...fallbackReasons],
    stateErrors,
    error,
    published,
  };
}

/**
 * Reads one pool's aggregate series for the run, as `readUserPool` does a user's: with
 * "since-states", only from where its series' model states stand when each has one (the model
 * resumes from there), unless nothing was observed since (then the whole window, which decides
 * a cold start); with "whole-window", the run's whole history.
 */
async function readPool(
  deps: ForecastPoolsDeps,
  config: ShaperConfig,
  run: RunWindow,
  pool: string,
  onStateError: () => void,
  extent: ReadExtent,
): Promise<PoolWork> {
  const resources = poolResources(config.pools[pool] as Pool);
  const states = await deps.stateStore?.getStates(poolSubject(pool), pool).catch(() => {
    onStateError();
    return undefined;
  });
  const origin = extent === "since-states" ? statesOrigin(states, resources) : undefined;
  const since = origin === undefined ? undefined : insideWindow(origin, run);
  const { read, partial, observed } = await readSinceOrWhole(
    run,
    since,
    resources,
    async (grid) => ({
      series: buildPoolUsageSeries(
        await deps.usageStore.getPoolUsagePartials(pool, grid.from, grid.to),
        resources,
        grid,
        config.shardCount,
      ),
    }),
  );
  return {
    pool,
    resources,
    series: read.series,
    coldStart: !observed,
    ...(states ? { states } : {}),
    ...(partial ? { partial: true } : {}),
  };
}

/**
 * The state store's subject of a pool's own series. It starts with "#", which no user id may
 * hold (config.ts's IdSchema), so a pool's states never meet a user's.
 */
export function poolSubject(pool: string): string {
  return `#pool:${pool}`;
}

/** Stores each pool's new states (the answer's, in the batch's series order); returns failures. */
async function storePoolStates(
  store: ForecastStateStore,
  batch: readonly PoolWork[],
  answer: ModelAnswer,
): Promise<number> {
  let failures = 0;
  for (const { work, states } of statesOfAnswer(batch, answer)) {
    try {
      await store.putStates(poolSubject(work.pool), work.pool, states);
    } catch {
      failures++;
    }
  }
  return failures;
}

function isAbove(error: ForecastErrorEventDetail): boolean {
  return error.wql !== null && error.wql > error.threshold;
}

/**
 * Whether an error above the threshold is news: it was not above one run earlier (a crossing),
 * or a re-alert period starts now. Without this, every run while the error stays high would
 * start another retrain flow.
 */
async function shouldAlert(
  store: ForecastStore,
  config: ShaperConfig,
  windowEnd: number,
): Promise<boolean> {
  if (windowEnd % REALERT_SECONDS === 0) return true;
  const previous = await recentError(store, config, windowEnd - config.intervalSeconds);
  return !isAbove(previous);
}

/** The user forecasts' error over the runs of the hour before `windowEnd`, overall and per tier. */
async function recentError(
  store: ForecastStore,
  config: ShaperConfig,
  windowEnd: number,
): Promise<ForecastErrorEventDetail> {
  const from = windowEnd - ERROR_WINDOW_SECONDS;
  const byTier = await store.getErrorSummaries(forecastRunId(from + 1), forecastRunId(windowEnd));
  return {
    ...figures(totalError(byTier)),
    threshold: config.forecast.errorThresholdWql,
    byTier: Object.fromEntries(Object.entries(byTier).map(([tier, s]) => [tier, figures(s)])),
    from,
    to: windowEnd,
  };
}

function figures(summary: ForecastErrorSummary): ErrorFigures {
  return {
    wql: weightedQuantileLoss(summary) ?? null,
    coverage80: coverage80(summary) ?? null,
    points: summary.points,
  };
}
