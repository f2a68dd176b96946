import type { ShaperConfig } from "../domain/config.js";
import type { Forecast, ResourceForecast } from "../domain/forecast.js";
import { toResourceForecast } from "../domain/forecasting/forecast-assembly.js";
import { forecastRunId } from "../domain/forecasting/forecast-error.js";
import { modelStateOrigin } from "../domain/forecasting/series-model.js";
import {
  type GridSeries,
  type SeriesGrid,
  trimLeadingMissing,
} from "../domain/forecasting/usage-series.js";
import type { Resource } from "../domain/resources.js";
import { intervalStartOf } from "../domain/time.js";
import type { ForecastInstance, ForecastOptions } from "../ports/forecast-model.js";
import type { SeriesStates } from "../ports/forecast-state-store.js";
import type { ModelAnswer } from "./fallback-forecaster.js";

/**
 * What the user and pool forecast runs share: the run's window, the model options, how series
 * become model instances and how a model's answer becomes stored forecasts.
 */

/** The window a run forecasts from, shared by the user and pool forecast runs. */
export interface RunWindow {
  readonly issuedAt: number;
  readonly windowEnd: number;
  readonly runId: string;
  readonly grid: SeriesGrid;
}

/**
 * The run's window: forecasts start at the interval containing `time` (the window end), history
 * is the `historyIntervals` intervals before it.
 */
export function runWindow(config: ShaperConfig, time: number): RunWindow {
  const windowEnd = intervalStartOf(time, config.intervalSeconds);
  return {
    issuedAt: Math.floor(time),
    windowEnd,
    runId: forecastRunId(windowEnd),
    grid: {
      from: windowEnd - config.historyIntervals * config.intervalSeconds,
      to: windowEnd,
      intervalSeconds: config.intervalSeconds,
    },
  };
}

/** Options of every model call of a run: the configured quantiles over the horizon. */
export function forecastOptions(config: ShaperConfig): ForecastOptions {
  return {
    quantiles: config.quantiles,
    numSamples: config.forecast.numSamples,
    intervalSeconds: config.intervalSeconds,
    predictionLength: config.horizonIntervals,
  };
}

/**
 * The model instances of one series group: each resource's history with the missing values
 * before the first observation dropped, the tier as its category, and the model's state of the
 * series from the last run when there is one.
 */
export function seriesInstances(
  series: Partial<Record<Resource, GridSeries>>,
  resources: readonly Resource[],
  category: number,
  intervalSeconds: number,
  states?: Partial<Record<Resource, unknown>>,
): ForecastInstance[] {
  return resources.map((resource) => {
    const full = series[resource];
    if (!full) throw new RangeError(`No series was built for resource ${resource}.`);
    const { start, target } = trimLeadingMissing(full, intervalSeconds);
    const state = states?.[resource];
    return { start, target, cat: [category], ...(state === undefined ? {} : { state }) };
  });
}

/** What a forecast is of: the pool, and for user forecasts the user and what is known of them. */
export type ForecastSubject = Pick<
  Forecast,
  "pool" | "userId" | "tier" | "limits" | "coldStart" | "criticalPeak" | "previousError"
>;

/**
 * The forecasts of one answered batch, one per group: the outputs are read in order, one per
 * resource of each group, and stamped with the run and the model that answered.
 */
export function forecastsOfAnswer<G extends { readonly resources: readonly Resource[] }>(
  config: ShaperConfig,
  run: RunWindow,
  batch: readonly G[],
  answer: ModelAnswer,
  describe: (group: G) => ForecastSubject,
): Forecast[] {
  let next = 0;
  return batch.map((group) => {
    const byResource: Partial<Record<Resource, ResourceForecast>> = {};
    for (const resource of group.resources) {
      const output = answer.outputs[next++];
      if (output) {
        byResource[resource] = toResourceForecast(
          output,
          config.quantiles,
          config.horizonIntervals,
        );
      }
    }
    return { ...baseForecast(config, run, answer), ...describe(group), byResource };
  });
}

function baseForecast(
  config: ShaperConfig,
  run: RunWindow,
  answer: ModelAnswer,
): Omit<Forecast, keyof ForecastSubject | "byResource"> {
  return {
    issuedAt: run.issuedAt,
    start: run.windowEnd,
    intervalSeconds: config.intervalSeconds,
    horizon: config.horizonIntervals,
    model: answer.identity.model,
    modelVersion: answer.identity.modelVersion,
    ...(answer.fallbackReason === undefined ? {} : { fallbackReason: answer.fallbackReason }),
  };
}

/** Maps with at most `limit` calls in flight, keeping the input order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * The model states a batch's answer carries, per series group (the outputs are in the batch's
 * series order, a group's resources in a row); groups whose series returned none are left out.
 */
export function statesOfAnswer<W extends { readonly resources: readonly Resource[] }>(
  batch: readonly W[],
  answer: ModelAnswer,
): { work: W; states: SeriesStates }[] {
  const out: { work: W; states: SeriesStates }[] = [];
  let next = 0;
  for (const work of batch) {
    const states: SeriesStates = {};
    for (const resource of work.resources) {
      const state = answer.outputs[next++]?.state;
      if (state !== undefined) states[resource] = state;
    }
    if (Object.keys(states).length > 0) out.push({ work, states });
  }
  return out;
}

/**
 * Where a user's or pool's series stand, all together: the earliest origin of their model states
 * (`modelStateOrigin`); undefined when one of them has no state of the model.
 */
export function statesOrigin(
  states: SeriesStates | undefined,
  resources: readonly Resource[],
): number | undefined {
  if (!states) return undefined;
  let from = Number.POSITIVE_INFINITY;
  for (const resource of resources) {
    const origin = modelStateOrigin(states[resource]);
    if (origin === undefined) return undefined;
    from = Math.min(from, origin);
  }
  return Number.isFinite(from) ? from : undefined;
}

/**
 * How much history a forecast run reads for a user's or pool's series: "since-states" only from
 * where their stored model states stand (when each has one inside the window: the model resumes
 * from there and reads nothing before), "whole-window" the run's whole history.
 */
export type ReadExtent = "since-states" | "whole-window";

/**
 * Reads a user's or pool's history for a run: from `since` when given (see `ReadExtent`), and the
 * whole window instead when nothing was observed in that short read — whether the series are a
 * cold start depends on the whole window.
 *
 * @param read reads and builds the series over a grid
 * @returns what `read` gave, whether it holds only the intervals since `since` (`partial`), and
 *   whether any resource has an observed value (not a cold start)
 */
export async function readSinceOrWhole<
  T extends { readonly series: Partial<Record<Resource, GridSeries>> },
>(
  run: RunWindow,
  since: number | undefined,
  resources: readonly Resource[],
  read: (grid: SeriesGrid) => Promise<T>,
): Promise<{ readonly read: T; readonly partial: boolean; readonly observed: boolean }> {
  const observedIn = (got: T) =>
    resources.some((r) => got.series[r]?.target.some(Number.isFinite) ?? false);
  if (since !== undefined) {
    const short = await read({ ...run.grid, from: since });
    if (observedIn(short)) return { read: short, partial: true, observed: true };
  }
  const whole = await read(run.grid);
  return { read: whole, partial: false, observed: observedIn(whole) };
}

/** `from` when it lies inside the run's history window (after its start), else undefined. */
export function insideWindow(from: number, run: RunWindow): number | undefined {
  return from > run.grid.from && from < run.grid.to ? from : undefined;
}

/** A batch of series groups and the model's answer for it. */
export interface AnsweredBatch<W> {
  readonly batch: readonly W[];
  readonly answer: ModelAnswer;
}

/**
 * Splits the answers of a run's first pass: batches stay as answered, except that groups whose
 * history was read only from their states' origin (`partial`) with a series the model did not
 * resume are taken out (with their outputs), to be read and asked again over the whole window.
 */
export function splitNotResumed<
  W extends { readonly resources: readonly Resource[]; readonly partial?: boolean },
>(answered: readonly AnsweredBatch<W>[]): { kept: AnsweredBatch<W>[]; redo: W[] } {
  const kept: AnsweredBatch<W>[] = [];
  const redo: W[] = [];
  for (const { batch, answer } of answered) {
    const keptWork: W[] = [];
    const keptOutputs: ModelAnswer["outputs"][number][] = [];
    let next = 0;
    for (const work of batch) {
      const outputs = answer.outputs.slice(next, next + work.resources.length);
      next += work.resources.length;
      if (work.partial && !outputs.every((o) => o.resumed === true)) {
        redo.push(work);
      } else {
        keptWork.push(work);
        keptOutputs.push(...outputs);
      }
    }
    if (keptWork.length === batch.length) kept.push({ batch, answer });
    else if (keptWork.length > 0)
      kept.push({ batch: keptWork, answer: { ...answer, outputs: keptOutputs } });
  }
  return { kept, redo };
}
