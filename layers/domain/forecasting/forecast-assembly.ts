import { quantileKey, type ShaperConfig } from "../config.js";
import type { Forecast, ForecastErrorSummary, ResourceForecast } from "../forecast.js";
import type { Resource } from "../resources.js";
import { addErrorSummaries, emptyErrorSummary, scoreForecast } from "./forecast-error.js";
import type { GridSeries } from "./usage-series.js";

/**
 * The pure steps of a forecast run around the model call: which category a series gets, how
 * series are grouped into endpoint calls, how model outputs become stored forecasts, and how a
 * previous forecast is scored against the history that has since arrived.
 */

/**
 * The categorical feature (`cat`) of a series: the index of the user's tier in the config, and
 * one past the last tier for pool aggregates and users whose tier is not configured. A DeepAR
 * model trained on shaper's data therefore has cardinality tiers + 1.
 */
export function tierCategory(
  config: Pick<ShaperConfig, "tiers">,
  tier: string | undefined,
): number {
  const names = Object.keys(config.tiers);
  const index = tier === undefined ? -1 : names.indexOf(tier);
  return index >= 0 ? index : names.length;
}

/**
 * Packs groups of series (all resources of one user and pool) into batches of at most
 * `maxSeries` series, never splitting a group, so one model answers every resource of a
 * forecast. A group larger than the limit gets a batch of its own.
 *
 * @param groups in order; the order is kept within and across batches
 * @param seriesOf how many series a group holds
 * @param maxSeries series per batch (config `forecast.batchSize`), ≥ 1
 */
export function batchGroups<G>(
  groups: readonly G[],
  seriesOf: (group: G) => number,
  maxSeries: number,
): G[][] {
  const batches: G[][] = [];
  let current: G[] = [];
  let count = 0;
  for (const group of groups) {
    const size = seriesOf(group);
    if (current.length > 0 && count + size > maxSeries) {
      batches.push(current);
      current = [];
      count = 0;
    }
    current.push(group);
    count += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The stored form of one model output: the first `horizon` steps of the mean and of each
 * configured quantile.
 *
 * @throws RangeError when the output lacks a configured quantile or is shorter than the horizon
 *   (adapters validate responses, so this signals a bug in one)
 */
export function toResourceForecast(
  output: {
    readonly mean: readonly number[];
    readonly quantiles: Readonly<Record<string, readonly number[]>>;
  },
  levels: readonly number[],
  horizon: number,
): ResourceForecast {
  const cut = (row: readonly number[] | undefined, name: string): number[] => {
    if (!row || row.length < horizon) {
      throw new RangeError(
        `Model output ${name} has ${row?.length ?? 0} values; expected at least ${horizon}.`,
      );
    }
    return row.slice(0, horizon);
  };
  const quantiles: Record<string, number[]> = {};
  for (const level of levels) {
    const key = quantileKey(level);
    quantiles[key] = cut(output.quantiles[key], `quantile ${key}`);
  }
  return { mean: cut(output.mean, "mean"), quantiles };
}

/**
 * Scores a previous forecast against the actuals that have arrived: each of its steps whose
 * interval lies on the series' grid and has a value. Steps still in the future, or missing, are
 * not scored.
 *
 * @param forecast the forecast being replaced
 * @param series the same user's (or pool's) history per resource, on a grid of
 *   `forecast.intervalSeconds` steps
 * @returns the error over all resources; empty when the interval length changed since
 */
export function scoreAgainstHistory(
  forecast: Pick<Forecast, "start" | "intervalSeconds" | "horizon" | "byResource">,
  series: Readonly<Partial<Record<Resource, GridSeries>>>,
  intervalSeconds: number,
): ForecastErrorSummary {
  if (forecast.intervalSeconds !== intervalSeconds) return emptyErrorSummary();
  let total = emptyErrorSummary();
  for (const [resource, values] of Object.entries(forecast.byResource) as [
    Resource,
    ResourceForecast,
  ][]) {
    const history = series[resource];
    if (!history) continue;
    const actuals: number[] = [];
    for (let step = 0; step < forecast.horizon; step++) {
      const index = (forecast.start + step * intervalSeconds - history.start) / intervalSeconds;
      const inGrid = Number.isInteger(index) && index >= 0 && index < history.target.length;
      actuals.push(inGrid ? (history.target[index] as number) : Number.NaN);
    }
    total = addErrorSummaries(total, scoreForecast(values, actuals));
  }
  return total;
}

/** The interval a kept forecast's arrived actuals must stay within: its 80 % band. */
const KEEP_BAND = [0.1, 0.9] as const;

/**
 * Why a user's forecast must be renewed by the run whose window ends at `windowEnd`, or
 * undefined when it can stand for another interval: it is younger than `refreshIntervals`
 * intervals, still covers the plan's horizon but for those intervals (the plan holds its last
 * step beyond its end), forecasts every resource, and every actual that has arrived since it
 * started lies within its 80 % band (q0.1…q0.9) at that step. A missing actual says nothing and
 * keeps it. `refreshIntervals` ≤ 1 renews every run.
 *
 * @param previous the user's latest forecast of the pool
 * @param series the user's usage per resource, covering at least `[previous.start, windowEnd)`
 * @returns a reason (for counts and tests) or undefined to keep `previous`
 */
export function renewalReason(
  previous: Pick<Forecast, "start" | "intervalSeconds" | "horizon" | "byResource" | "coldStart">,
  series: Readonly<Partial<Record<Resource, GridSeries>>>,
  resources: readonly Resource[],
  windowEnd: number,
  intervalSeconds: number,
  refreshIntervals: number,
): string | undefined {
  if (refreshIntervals <= 1) return "renewed every run";
  if (previous.intervalSeconds !== intervalSeconds) return "the interval length changed";
  if (previous.coldStart) return "it was a cold-start answer";
  const age = (windowEnd - previous.start) / intervalSeconds;
  if (!Number.isInteger(age) || age <= 0) return "it does not start before this window";
  if (age >= refreshIntervals || age >= previous.horizon) return `it is ${age} intervals old`;
  const [lowKey, highKey] = KEEP_BAND.map(quantileKey) as [string, string];
  for (const resource of resources) {
    const forecast = previous.byResource[resource];
    const low = forecast?.quantiles[lowKey];
    const high = forecast?.quantiles[highKey];
    const history = series[resource];
    if (!low || !high || !history) return `it has no 80 % band of ${resource}`;
    for (let step = 0; step < age; step++) {
      const index = (previous.start + step * intervalSeconds - history.start) / intervalSeconds;
      const actual = Number.isInteger(index) && index >= 0 ? history.target[index] : undefined;
      if (actual === undefined || Number.isNaN(actual)) continue;
      if (actual < (low[step] as number) || actual > (high[step] as number)) {
        return `${resource} left its 80 % band`;
      }
    }
  }
  return undefined;
}
