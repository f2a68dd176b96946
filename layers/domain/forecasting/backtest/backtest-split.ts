import { ValidationError } from "../../errors.js";
import type { SeriesInput } from "../methods/method.js";

/**
 * Where each series' fitting part ends and its scored part begins — the two protocols of the
 * backtest (issue 3):
 * - with a future file: fit on the history; rolling origins move through the future part;
 * - without: fit on the first 70 % of each series; rolling origins move through the last 30 %.
 * In both, origins sit every `horizon` steps from `testStart[i]`, each followed by a full window
 * (see `rollingOrigins`); at an origin a model may use everything before it.
 */
export interface BacktestSplit {
  /** Per series, exclusive end index of the part the model is fitted on. */
  readonly trainEnd: readonly number[];
  /** Per series, index of the first origin (≥ trainEnd); the series length means "nothing scored". */
  readonly testStart: readonly number[];
}

/** Share of each series the model is fitted on when no future file is given. */
export const DEFAULT_TRAIN_FRACTION = 0.7;

/**
 * The no-future protocol: fit on the first `trainFraction` of each series, score the rest.
 *
 * @param series the series as read
 * @param trainFraction share of each series (by steps) in the fitting part, in (0, 1)
 * @returns trainEnd = testStart = ⌊fraction · length⌋ per series
 * @throws ValidationError when the fraction is outside (0, 1)
 */
export function holdoutSplit(
  series: readonly SeriesInput[],
  trainFraction = DEFAULT_TRAIN_FRACTION,
): BacktestSplit {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new ValidationError(
      `Train fraction ${trainFraction} is outside (0, 1). Expected e.g. 0.7 (fit on 70 %, score 30 %).`,
    );
  }
  const trainEnd = series.map((s) => Math.floor(trainFraction * s.values.length));
  return { trainEnd, testStart: trainEnd };
}

/** A history file and a future file joined per series id. */
export interface JoinedSeries {
  /** One series per id found in either file, history ids first (sorted), then future-only ids. */
  readonly series: SeriesInput[];
  readonly split: BacktestSplit;
  /** Ids only in the history: fitted on, never scored. */
  readonly historyOnly: readonly string[];
  /** Ids only in the future: no history at all (cold start), scored from their first step. */
  readonly futureOnly: readonly string[];
}

/**
 * Joins the series of a history and a future read of the same trace by id, on their common
 * absolute time grid: history values, then NaN for any gap, then the future values. The fitting
 * part is the history; origins start at the future's first step. Where the future overlaps the
 * history, the future's values win and the fitting part stops where the future begins (so no
 * scored value is ever fitted on).
 *
 * @param history series read from --history
 * @param future series read from --future (same format)
 * @returns the joined series with their split
 * @throws ValidationError when a series' step differs between the files or its start is off-grid
 */
export function joinHistoryAndFuture(
  history: readonly SeriesInput[],
  future: readonly SeriesInput[],
): JoinedSeries {
  const futureById = new Map(future.map((s) => [s.id, s]));
  const series: SeriesInput[] = [];
  const trainEnd: number[] = [];
  const testStart: number[] = [];
  const historyOnly: string[] = [];
  for (const past of history) {
    const next = futureById.get(past.id);
    futureById.delete(past.id);
    if (!next) {
      historyOnly.push(past.id);
      series.push(past);
      trainEnd.push(past.values.length);
      testStart.push(past.values.length);
      continue;
    }
    const offset = gridOffset(past, next);
    const length = Math.max(past.values.length, offset + next.values.length);
    const values = new Float64Array(length).fill(Number.NaN);
    for (let i = 0; i < past.values.length; i++) values[i] = past.values[i] as number;
    for (let i = 0; i < next.values.length; i++) values[offset + i] = next.values[i] as number;
    series.push({ ...past, values, features: { ...next.features, ...past.features } });
    trainEnd.push(Math.min(past.values.length, offset));
    testStart.push(offset);
  }
  const futureOnly = [...futureById.keys()];
  for (const next of futureById.values()) {
    series.push(next);
    trainEnd.push(0);
    testStart.push(0);
  }
  return { series, split: { trainEnd, testStart }, historyOnly, futureOnly };
}

/** Index in `past`'s grid where `next` begins. */
function gridOffset(past: SeriesInput, next: SeriesInput): number {
  if (past.stepSeconds !== next.stepSeconds) {
    throw new ValidationError(
      `Series ${past.id} has ${past.stepSeconds}-s steps in the history but ${next.stepSeconds}-s steps in the future file. Expected the same trace format in both.`,
    );
  }
  const offset = (next.startSeconds - past.startSeconds) / past.stepSeconds;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ValidationError(
      `Series ${past.id}: the future file starts at ${next.startSeconds} s, ${offset < 0 ? "before the history starts" : "off the history's step grid"} (history starts at ${past.startSeconds} s, step ${past.stepSeconds} s). Expected a future that continues the history.`,
    );
  }
  return offset;
}

/**
 * The rolling origins of one series for one horizon: testStart, testStart + h, … as long as a
 * full window of h steps fits in the series.
 *
 * @param length series length, steps
 * @param testStart first origin
 * @param horizon window length and spacing, steps (≥ 1)
 * @returns ascending origins; empty when not even one window fits
 */
export function rollingOrigins(length: number, testStart: number, horizon: number): number[] {
  const origins: number[] = [];
  for (let origin = testStart; origin + horizon <= length; origin += horizon) origins.push(origin);
  return origins;
}
