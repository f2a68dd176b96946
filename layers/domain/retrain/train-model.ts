import { pinballLoss, WQL_LEVELS } from "../forecasting/forecast-error.js";
import { DEFAULT_SWITCH_MARGIN } from "../forecasting/methods/selection.js";
import { seasonalNaivePredictive } from "../forecasting/seasonal-naive.js";
import type { SeasonalNaiveSettings } from "../forecasting/series-model.js";
import type { ModelMetrics } from "../model-registry.js";
import { rollingOriginWindows } from "./backtest.js";
import type { ModelParameters } from "./model-parameters.js";
import { scoreRollingOrigins } from "./validate-model.js";

/**
 * Training the seasonal-naive model: choosing its season length and calibrating its intervals on
 * rolling out-of-sample errors (split conformal prediction, Vovk et al. 2005; for forecasting,
 * Stankeviciute et al. 2021). Training runs on the history before the validation hold-out only.
 *
 * 1. For each candidate season (one day; one week when the forecast stage's history window holds
 *    two weeks, so weekly seasonal errors exist), forecast every rolling origin of every sampled
 *    series and record, per forecast step, the point forecast b, the actual y and the unscaled
 *    offsets o_q of the quantiles from b.
 * 2. A forecast with interval scale s gives quantile q = max(0, b + s·o_q). For each step the set
 *    of s whose 80 % interval [q0.1, q0.9] contains y is an interval of s; the calibrated scale is
 *    the smallest s under which at least 80 % of the out-of-sample steps are covered.
 * 3. The season whose calibrated forecasts have the lower wQL on those steps wins.
 *
 * The offsets are read exactly, without the clamp at zero, by forecasting the series shifted up
 * by a constant: the model's errors are differences of the series, so a shift moves the point
 * forecast and leaves the offsets unchanged (a unit test guards this).
 */

/** Coverage the calibrated 80 % interval aims at. */
export const TARGET_COVERAGE80 = 0.8;

/** Largest interval scale the artefact schema accepts. */
export const MAX_INTERVAL_SCALE = 100;

export interface TrainOptions {
  /** Steps forecast per origin (config.horizonIntervals). */
  readonly horizon: number;
  /** Steps of history the forecast stage sends (config.historyIntervals). */
  readonly historyLength: number;
  /** Steps of one day (seasonIntervals(config)). */
  readonly daySteps: number;
  /** Rolling origins per series, the most recent ones of the training range. @default 12 */
  readonly originsPerSeries?: number;
}

/** One out-of-sample forecast step: point forecast, actual, unscaled offset per wQL level. */
export interface CalibrationPoint {
  readonly base: number;
  readonly actual: number;
  /** Offsets from `base` of the quantiles at WQL_LEVELS, in order (q0.1 first, q0.9 last). */
  readonly offsets: readonly number[];
}

export interface SeasonCandidate {
  readonly seasonLength: number;
  readonly intervalScale: number;
  /** In-sample (rolling out-of-sample on the training range) metrics at the calibrated scale. */
  readonly wql: number | null;
  readonly coverage80: number | null;
  /** Coverage of the uncalibrated intervals (scale 1). */
  readonly coverage80Unscaled: number | null;
  readonly points: number;
}

export interface TrainResult {
  readonly parameters: SeasonalNaiveSettings;
  readonly candidates: readonly SeasonCandidate[];
  /** Series with at least one scored window. */
  readonly series: number;
  readonly points: number;
}

/**
 * Season lengths worth trying: one day, and one week when the history window holds two weeks.
 *
 * @param daySteps steps per day
 * @param historyLength steps of history the model sees
 */
export function seasonCandidates(daySteps: number, historyLength: number): number[] {
  const week = 7 * daySteps;
  return historyLength >= 2 * week ? [daySteps, week] : [daySteps];
}

/**
 * Fits the season length and interval scale on a set of training series.
 *
 * @param series training series, each oldest first with NaN for missing steps, ending where the
 *   hold-out begins
 * @param options horizon, history window and day length in steps
 * @returns the fitted parameters, every candidate's backtest metrics, and what they rest on
 * @example
 * const { parameters } = trainSeasonalNaive(series, { horizon: 12, historyLength: 2016, daySteps: 288 });
 */
export function trainSeasonalNaive(
  series: readonly (readonly number[])[],
  options: TrainOptions,
): TrainResult {
  const candidates: SeasonCandidate[] = [];
  let scoredSeries = 0;
  for (const seasonLength of seasonCandidates(options.daySteps, options.historyLength)) {
    const points: CalibrationPoint[] = [];
    let seriesWithPoints = 0;
    for (const target of series) {
      const added = calibrationPoints(target, seasonLength, options);
      if (added.length > 0) seriesWithPoints++;
      for (const p of added) points.push(p);
    }
    scoredSeries = Math.max(scoredSeries, seriesWithPoints);
    const intervalScale = calibrateIntervalScale(points, TARGET_COVERAGE80);
    const scored = scoreAtScale(points, intervalScale);
    candidates.push({
      seasonLength,
      intervalScale,
      wql: scored.wql,
      coverage80: scored.coverage80,
      coverage80Unscaled: scoreAtScale(points, 1).coverage80,
      points: points.length,
    });
  }
  const best = candidates.reduce((a, b) => ((b.wql ?? Infinity) < (a.wql ?? Infinity) ? b : a));
  return {
    parameters: {
      kind: "seasonal-naive",
      seasonLength: best.seasonLength,
      intervalScale: best.intervalScale,
    },
    candidates,
    series: scoredSeries,
    points: best.points,
  };
}

/**
 * Out-of-sample forecast steps of one series at the last `originsPerSeries` rolling origins.
 *
 * @param target the series, oldest first, NaN = missing
 * @param seasonLength the season to forecast with
 * @param options horizon and history window in steps
 */
export function calibrationPoints(
  target: readonly number[],
  seasonLength: number,
  options: TrainOptions,
): CalibrationPoint[] {
  const origins = options.originsPerSeries ?? 12;
  const firstOrigin = target.length - origins * options.horizon;
  const windows = rollingOriginWindows(target, {
    horizon: options.horizon,
    historyLength: options.historyLength,
    firstOrigin,
    end: target.length,
  });
  const points: CalibrationPoint[] = [];
  for (const window of windows) {
    const magnitude = window.history.reduce(
      (m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m),
      0,
    );
    // Shift far enough that no quantile reaches zero; see the module comment.
    const shift = 1 + 10 * magnitude;
    const shifted = window.history.map((v) => (Number.isFinite(v) ? v + shift : Number.NaN));
    const predictive = seasonalNaivePredictive(shifted, {
      predictionLength: window.actuals.length,
      seasonLength,
      quantiles: WQL_LEVELS,
    });
    if (predictive.basis !== "seasonal-errors" && predictive.basis !== "one-step-errors") continue;
    const rows = WQL_LEVELS.map((level) => predictive.quantile(level));
    window.actuals.forEach((actual, h) => {
      if (!Number.isFinite(actual)) return;
      const center = predictive.mean[h] as number;
      points.push({
        base: center - shift,
        actual,
        offsets: rows.map((row) => (row[h] as number) - center),
      });
    });
  }
  return points;
}

/**
 * The smallest interval scale s under which at least `target` of the points have their actual
 * within [max(0, b + s·o0.1), max(0, b + s·o0.9)]; when no scale reaches the target, the scale
 * with the highest coverage (the smallest such).
 *
 * @param points out-of-sample forecast steps
 * @param target coverage to reach, e.g. 0.8
 * @returns the scale, in [0, MAX_INTERVAL_SCALE]; 1 when there are no points
 */
export function calibrateIntervalScale(
  points: readonly CalibrationPoint[],
  target: number,
): number {
  if (points.length === 0) return 1;
  const starts: number[] = [];
  const ends: number[] = [];
  for (const p of points) {
    const range = coveringScales(p);
    if (range) {
      starts.push(range[0]);
      ends.push(range[1]);
    }
  }
  starts.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  const needed = Math.ceil(target * points.length - 1e-9);
  let bestScale = 1;
  let bestCount = -1;
  let closed = 0;
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i] as number;
    if (s > MAX_INTERVAL_SCALE) break;
    // Ranges that ended before s no longer cover it.
    while (closed < ends.length && (ends[closed] as number) < s) closed++;
    const count = i + 1 - closed;
    if (count >= needed) return roundScale(s);
    if (count > bestCount) {
      bestCount = count;
      bestScale = s;
    }
  }
  return roundScale(bestCount < 0 ? 1 : bestScale);
}

/** Rounds a scale up to 6 significant digits, so rounding never uncovers a calibrating point. */
function roundScale(s: number): number {
  if (s <= 0) return 0;
  const digits = 10 ** (5 - Math.floor(Math.log10(s)));
  return Math.min(MAX_INTERVAL_SCALE, Math.ceil(s * digits) / digits);
}

/**
 * The scales s ≥ 0 under which a point's actual lies within its 80 % interval, as [from, to]
 * (to may be Infinity), or undefined when no scale covers it.
 */
export function coveringScales(point: CalibrationPoint): [number, number] | undefined {
  const { base, actual } = point;
  const low = point.offsets[0] as number;
  const high = point.offsets[point.offsets.length - 1] as number;
  const d = actual - base;
  let from = 0;
  let to = Number.POSITIVE_INFINITY;
  // Lower end: max(0, b + s·low) ≤ y, i.e. s·low ≤ d (the actual is never negative).
  if (actual < 0) return undefined;
  if (low < 0) from = Math.max(from, d / low);
  else if (low > 0) to = Math.min(to, d / low);
  else if (d < 0) return undefined;
  // Upper end: y ≤ max(0, b + s·high), i.e. y = 0 or s·high ≥ d.
  if (actual > 0) {
    if (high > 0) from = Math.max(from, d / high);
    else if (high < 0) to = Math.min(to, d / high);
    else if (d > 0) return undefined;
  }
  return from <= to ? [Math.max(0, from), to] : undefined;
}

/**
 * wQL and 80 % coverage of the points' forecasts at interval scale `scale`.
 *
 * @returns wql null when every actual is zero; coverage80 null when there are no points
 */
export function scoreAtScale(
  points: readonly CalibrationPoint[],
  scale: number,
): { wql: number | null; coverage80: number | null } {
  let pinball = 0;
  let absActual = 0;
  let covered = 0;
  for (const p of points) {
    absActual += Math.abs(p.actual);
    WQL_LEVELS.forEach((level, i) => {
      const q = Math.max(0, p.base + scale * (p.offsets[i] as number));
      pinball += 2 * pinballLoss(p.actual, q, level);
    });
    const low = Math.max(0, p.base + scale * (p.offsets[0] as number));
    const high = Math.max(0, p.base + scale * (p.offsets[WQL_LEVELS.length - 1] as number));
    if (p.actual >= low && p.actual <= high) covered++;
  }
  return {
    wql: absActual > 0 ? pinball / (WQL_LEVELS.length * absActual) : null,
    coverage80: points.length > 0 ? covered / points.length : null,
  };
}

/** One model tried by `trainForecastModel`, with its backtest metrics on the training range. */
export interface ModelCandidate {
  readonly parameters: ModelParameters;
  readonly metrics: ModelMetrics;
}

export interface ModelTrainResult {
  /** The candidate with the lowest wQL. */
  readonly parameters: ModelParameters;
  readonly candidates: readonly ModelCandidate[];
  /** The seasonal-naive training (seasons tried, calibration). */
  readonly seasonalNaive: TrainResult;
}

/**
 * Trains the forecasting model: the seasonal-naive model's season and interval scale
 * (`trainSeasonalNaive`), and the shaper method with and without weekly candidates (when the
 * history window holds two weeks) and with two switch margins; every candidate is scored on the
 * same rolling origins of the training range (the last `originsPerSeries` horizons of each
 * series) and the lowest wQL wins.
 *
 * @param series training series, oldest first, NaN = missing, ending where the hold-out begins
 * @param options horizon, history window and day length in steps
 * @returns the winner and every candidate's metrics
 * @example
 * const { parameters } = await trainForecastModel(series, { horizon: 12, historyLength: 2016, daySteps: 288 });
 */
export async function trainForecastModel(
  series: readonly (readonly number[])[],
  options: TrainOptions,
): Promise<ModelTrainResult> {
  const seasonalNaive = trainSeasonalNaive(series, options);
  const week = 7 * options.daySteps;
  const weekly = options.historyLength >= 2 * week ? [undefined, week] : [undefined];
  const tried: ModelParameters[] = [seasonalNaive.parameters];
  for (const weeklySeasonLength of weekly) {
    for (const switchMargin of [DEFAULT_SWITCH_MARGIN, 0]) {
      tried.push({
        kind: "shaper",
        seasonLength: options.daySteps,
        ...(weeklySeasonLength === undefined ? {} : { weeklySeasonLength }),
        switchMargin,
      });
    }
  }
  const origins = options.originsPerSeries ?? 12;
  const candidates: ModelCandidate[] = [];
  for (const parameters of tried) {
    const metrics = await scoreRollingOrigins(series, parameters, {
      horizon: options.horizon,
      historyLength: options.historyLength,
      firstOrigin: (target) => target.length - origins * options.horizon,
    });
    candidates.push({ parameters, metrics });
  }
  const best = candidates.reduce((a, b) =>
    b.metrics.points > 0 && b.metrics.wql < a.metrics.wql ? b : a,
  );
  return { parameters: best.parameters, candidates, seasonalNaive };
}
