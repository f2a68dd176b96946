import { ValidationError } from "../../errors.js";
import { pinballLoss, WQL_LEVELS } from "../forecast-error.js";
import type { SeriesInput } from "../methods/method.js";
import { type BacktestSplit, rollingOrigins } from "./backtest-split.js";

/**
 * Scoring of rolling-origin forecasts, the same code for shaper's methods and for the peers
 * (statsforecast), so every model is measured on identical windows with identical arithmetic.
 *
 * Metric definitions (issue 3), pooled over all series and windows of one horizon; actuals that
 * are NaN (missing in the trace) are not scored:
 * - wql = Σ_q Σ 2·pinball_q(y, ŷ_q) / (9 · Σ|y|), q ∈ {0.1, …, 0.9};
 * - mase = mean over series of MAE / scale, where MAE is the mean |y − ŷ_0.5| over the series'
 *   scored points (the median is the point forecast for absolute error, as in GluonTS) and scale
 *   is the in-sample one-day seasonal-naive MAE, mean |y_t − y_{t−m}| over the fitting part; a
 *   series whose scale is 0 or undefined (no pair of observed values a day apart) is left out of
 *   the mean and counted in `maseSkipped`;
 * - coverage80 = share of actuals within [ŷ_0.1, ŷ_0.9] (ends included);
 * - width80 = mean (ŷ_0.9 − ŷ_0.1) / mean |y|.
 */

/** The quantile levels every forecast must carry, ascending (the wQL levels 0.1…0.9). */
export const BACKTEST_QUANTILES: readonly number[] = WQL_LEVELS;

const LOW = 0; // index of 0.1
const MEDIAN = 4; // index of 0.5
const HIGH = 8; // index of 0.9

/** Metrics of one model over a set of series, at one horizon. */
export interface BacktestMetrics {
  /** Series with at least one scored window. */
  readonly series: number;
  readonly windows: number;
  /** Actual values scored (NaN actuals are not). */
  readonly points: number;
  readonly mase: number | null;
  readonly wql: number | null;
  readonly coverage80: number | null;
  readonly width80: number | null;
  /** Series with windows but no usable MASE scale (0 or undefined), left out of `mase`. */
  readonly maseSkipped: number;
  /** Seconds fitting and forecasting for this horizon's run, where measured separately. */
  readonly fitSeconds?: number;
  readonly predictSeconds?: number;
}

/** One series' figures at the main horizon. */
export interface SeriesScoreRow {
  readonly id: string;
  readonly windows: number;
  readonly points: number;
  readonly mase: number | null;
  readonly wql: number | null;
  readonly coverage80: number | null;
  readonly width80: number | null;
  /** Mean |y − ŷ_0.5|, in the series' unit. */
  readonly mae: number | null;
  /** In-sample one-day seasonal-naive MAE (the MASE denominator); null when undefined. */
  readonly scale: number | null;
  /** Under one day of observed history in the fitting part. */
  readonly coldStart: boolean;
}

/** One model's entry in the backtest JSON (`{ "models": [...] }`). */
export interface ModelReport {
  readonly name: string;
  /** Present (true) for peer models (statsforecast), absent for shaper's own. */
  readonly peer?: true;
  readonly series: number;
  readonly mase: number | null;
  readonly wql: number | null;
  readonly coverage80: number | null;
  readonly width80: number | null;
  /** Time spent fitting, seconds, over every horizon's run (core-seconds for peers). */
  readonly fitSeconds: number;
  /** Time spent advancing and forecasting at the origins, seconds, over every horizon's run. */
  readonly predictSeconds: number;
  readonly windows: number;
  readonly points: number;
  readonly maseSkipped: number;
  /** Metrics per horizon (steps), for every horizon with at least one window. */
  readonly byHorizon: Readonly<Record<string, BacktestMetrics>>;
  /** Per-series figures at the main horizon. */
  readonly perSeries: readonly SeriesScoreRow[];
  /** The metrics on the series with under one day of history, when there are any. */
  readonly coldStart?: BacktestMetrics;
  /** Anything else worth knowing about this model's run (e.g. peer fallbacks). */
  readonly notes?: Readonly<Record<string, number | string>>;
}

export interface BacktestScorerOptions {
  /** The main horizon, steps (the headline metrics). */
  readonly horizon: number;
  /** Further horizons reported under byHorizon, steps. */
  readonly byHorizon: readonly number[];
  /** Steps in one day: the MASE scale's season and the cold-start threshold. */
  readonly seasonLength: number;
}

// Per (horizon, series) accumulator fields, in a flat Float64Array.
const PINBALL = 0;
const ABS_ACTUAL = 1;
const POINTS = 2;
const COVERED = 3;
const WIDTH = 4;
const ABS_ERROR = 5;
const WINDOWS = 6;
const FIELDS = 7;

/**
 * Accumulates the scores of one model's forecasts window by window and reports its metrics.
 *
 * @example
 * const scorer = new BacktestScorer(series, holdoutSplit(series), { horizon: 12, byHorizon: [3, 12, 288], seasonLength: 288 });
 * for (const origin of scorer.origins(0, 12)) scorer.record(0, 12, origin, forecastAt(origin).quantiles);
 * scorer.report("my-model", { fitSeconds: 1, predictSeconds: 2 }).wql;
 */
export class BacktestScorer {
  /** Every horizon scored, ascending: the main one and the byHorizon ones. */
  readonly horizons: readonly number[];
  private readonly totals: Map<number, Float64Array>;
  private readonly scales: (number | undefined)[];
  private readonly coldStart: boolean[];

  constructor(
    private readonly series: readonly SeriesInput[],
    private readonly split: BacktestSplit,
    private readonly options: BacktestScorerOptions,
  ) {
    const horizons = [options.horizon, ...options.byHorizon];
    for (const h of horizons) {
      if (!(Number.isInteger(h) && h >= 1)) {
        throw new ValidationError(`Horizon ${h} is not a whole number of steps ≥ 1.`);
      }
    }
    if (!(Number.isInteger(options.seasonLength) && options.seasonLength >= 1)) {
      throw new ValidationError(`Season length ${options.seasonLength} is not a whole number ≥ 1.`);
    }
    if (split.trainEnd.length !== series.length || split.testStart.length !== series.length) {
      throw new ValidationError(
        `The split covers ${split.trainEnd.length} series but ${series.length} were given.`,
      );
    }
    this.horizons = [...new Set(horizons)].sort((a, b) => a - b);
    this.totals = new Map(
      this.horizons.map((h) => [h, new Float64Array(series.length * FIELDS)] as const),
    );
    this.scales = series.map((s, i) =>
      seasonalNaiveScale(s.values, split.trainEnd[i] as number, options.seasonLength),
    );
    this.coldStart = series.map(
      (s, i) => observedCount(s.values, split.trainEnd[i] as number) < options.seasonLength,
    );
  }

  /**
   * The origins at which series `index` is forecast for horizon `horizon` (see `rollingOrigins`).
   */
  origins(index: number, horizon: number): number[] {
    const s = this.series[index];
    if (!s) throw new RangeError(`No series ${index}.`);
    return rollingOrigins(s.values.length, this.split.testStart[index] as number, horizon);
  }

  /** True when `origin` is one of series `index`'s origins for `horizon`. */
  isOrigin(index: number, horizon: number, origin: number): boolean {
    const s = this.series[index];
    const start = this.split.testStart[index];
    if (!s || start === undefined) return false;
    return (
      origin >= start && (origin - start) % horizon === 0 && origin + horizon <= s.values.length
    );
  }

  /**
   * Scores one window: the first `horizon` steps of a forecast made at `origin`.
   *
   * @param quantiles one row per level of BACKTEST_QUANTILES, each at least `horizon` long
   * @throws ValidationError when the forecast has the wrong shape or a non-finite value
   */
  record(
    index: number,
    horizon: number,
    origin: number,
    quantiles: readonly ArrayLike<number>[],
  ): void {
    const s = this.series[index];
    const total = this.totals.get(horizon);
    if (!s || !total) throw new RangeError(`No series ${index} or horizon ${horizon} to score.`);
    checkForecast(s.id, origin, horizon, quantiles);
    const at = index * FIELDS;
    total[at + WINDOWS] = (total[at + WINDOWS] as number) + 1;
    const low = quantiles[LOW] as ArrayLike<number>;
    const high = quantiles[HIGH] as ArrayLike<number>;
    const median = quantiles[MEDIAN] as ArrayLike<number>;
    for (let step = 0; step < horizon; step++) {
      const y = s.values[origin + step] as number;
      if (!Number.isFinite(y)) continue;
      let pinball = 0;
      for (let q = 0; q < BACKTEST_QUANTILES.length; q++) {
        const row = quantiles[q] as ArrayLike<number>;
        pinball += 2 * pinballLoss(y, row[step] as number, BACKTEST_QUANTILES[q] as number);
      }
      const lo = low[step] as number;
      const hi = high[step] as number;
      total[at + PINBALL] = (total[at + PINBALL] as number) + pinball;
      total[at + ABS_ACTUAL] = (total[at + ABS_ACTUAL] as number) + Math.abs(y);
      total[at + POINTS] = (total[at + POINTS] as number) + 1;
      if (y >= lo && y <= hi) total[at + COVERED] = (total[at + COVERED] as number) + 1;
      total[at + WIDTH] = (total[at + WIDTH] as number) + (hi - lo);
      total[at + ABS_ERROR] =
        (total[at + ABS_ERROR] as number) + Math.abs(y - (median[step] as number));
    }
  }

  /**
   * The model's report: headline metrics at the main horizon, byHorizon, perSeries, coldStart.
   *
   * @param timing seconds spent fitting and forecasting
   */
  report(
    name: string,
    timing: { readonly fitSeconds: number; readonly predictSeconds: number },
    extra: {
      readonly peer?: boolean;
      readonly notes?: Readonly<Record<string, number | string>>;
      /** Per horizon (key "12"), the timings of that horizon's own run. */
      readonly timingByHorizon?: Readonly<
        Record<string, { readonly fitSeconds: number; readonly predictSeconds: number }>
      >;
    } = {},
  ): ModelReport {
    const all = this.series.map((_, i) => i);
    const main = this.metrics(this.options.horizon, all);
    const byHorizon: Record<string, BacktestMetrics> = {};
    for (const h of this.horizons) {
      const m = this.metrics(h, all);
      const t = extra.timingByHorizon?.[String(h)];
      if (m.windows > 0) byHorizon[String(h)] = t ? { ...m, ...t } : m;
    }
    const cold = all.filter((i) => this.coldStart[i]);
    const coldMetrics = cold.length > 0 ? this.metrics(this.options.horizon, cold) : undefined;
    return {
      name,
      ...(extra.peer ? { peer: true as const } : {}),
      series: main.series,
      mase: main.mase,
      wql: main.wql,
      coverage80: main.coverage80,
      width80: main.width80,
      fitSeconds: timing.fitSeconds,
      predictSeconds: timing.predictSeconds,
      windows: main.windows,
      points: main.points,
      maseSkipped: main.maseSkipped,
      byHorizon,
      perSeries: this.perSeries(),
      ...(coldMetrics && coldMetrics.windows > 0 ? { coldStart: coldMetrics } : {}),
      ...(extra.notes ? { notes: extra.notes } : {}),
    };
  }

  private metrics(horizon: number, indexes: readonly number[]): BacktestMetrics {
    const total = this.totals.get(horizon) as Float64Array;
    let pinball = 0;
    let absActual = 0;
    let points = 0;
    let covered = 0;
    let width = 0;
    let windows = 0;
    let series = 0;
    let maseSum = 0;
    let maseCount = 0;
    let maseSkipped = 0;
    for (const i of indexes) {
      const at = i * FIELDS;
      const w = total[at + WINDOWS] as number;
      if (w === 0) continue;
      series++;
      windows += w;
      const n = total[at + POINTS] as number;
      points += n;
      pinball += total[at + PINBALL] as number;
      absActual += total[at + ABS_ACTUAL] as number;
      covered += total[at + COVERED] as number;
      width += total[at + WIDTH] as number;
      const scale = this.scales[i];
      if (n === 0) continue;
      if (scale === undefined || scale <= 0) {
        maseSkipped++;
        continue;
      }
      maseSum += (total[at + ABS_ERROR] as number) / n / scale;
      maseCount++;
    }
    return {
      series,
      windows,
      points,
      mase: maseCount > 0 ? maseSum / maseCount : null,
      wql: absActual > 0 ? pinball / (BACKTEST_QUANTILES.length * absActual) : null,
      coverage80: points > 0 ? covered / points : null,
      width80: absActual > 0 ? width / absActual : null,
      maseSkipped,
    };
  }

  private perSeries(): SeriesScoreRow[] {
    const total = this.totals.get(this.options.horizon) as Float64Array;
    const rows: SeriesScoreRow[] = [];
    this.series.forEach((s, i) => {
      const at = i * FIELDS;
      const windows = total[at + WINDOWS] as number;
      if (windows === 0) return;
      const points = total[at + POINTS] as number;
      const absActual = total[at + ABS_ACTUAL] as number;
      const scale = this.scales[i];
      const mae = points > 0 ? (total[at + ABS_ERROR] as number) / points : null;
      rows.push({
        id: s.id,
        windows,
        points,
        mase: mae !== null && scale !== undefined && scale > 0 ? mae / scale : null,
        wql:
          absActual > 0
            ? (total[at + PINBALL] as number) / (BACKTEST_QUANTILES.length * absActual)
            : null,
        coverage80: points > 0 ? (total[at + COVERED] as number) / points : null,
        width80: absActual > 0 ? (total[at + WIDTH] as number) / absActual : null,
        mae,
        scale: scale ?? null,
        coldStart: this.coldStart[i] as boolean,
      });
    });
    return rows;
  }
}

/**
 * In-sample one-day seasonal-naive MAE over values[0, end): mean |y_t − y_{t−m}| over the t where
 * both are observed.
 *
 * @returns the scale, or undefined when no such pair exists
 */
export function seasonalNaiveScale(
  values: ArrayLike<number>,
  end: number,
  seasonLength: number,
): number | undefined {
  let sum = 0;
  let count = 0;
  for (let t = seasonLength; t < end; t++) {
    const y = values[t] as number;
    const back = values[t - seasonLength] as number;
    if (!Number.isFinite(y) || !Number.isFinite(back)) continue;
    sum += Math.abs(y - back);
    count++;
  }
  return count > 0 ? sum / count : undefined;
}

function observedCount(values: ArrayLike<number>, end: number): number {
  let count = 0;
  for (let t = 0; t < end; t++) if (Number.isFinite(values[t])) count++;
  return count;
}

function checkForecast(
  id: string,
  origin: number,
  horizon: number,
  quantiles: readonly ArrayLike<number>[],
): void {
  if (quantiles.length !== BACKTEST_QUANTILES.length) {
    throw new ValidationError(
      `Forecast for series ${id} at origin ${origin} has ${quantiles.length} quantile rows; expected ${BACKTEST_QUANTILES.length} (levels ${BACKTEST_QUANTILES.join(", ")}).`,
    );
  }
  quantiles.forEach((row, q) => {
    if (row.length < horizon) {
      throw new ValidationError(
        `Forecast for series ${id} at origin ${origin}: quantile ${BACKTEST_QUANTILES[q]} has ${row.length} steps; expected at least ${horizon}.`,
      );
    }
    for (let step = 0; step < horizon; step++) {
      if (!Number.isFinite(row[step])) {
        throw new ValidationError(
          `Forecast for series ${id} at origin ${origin}: quantile ${BACKTEST_QUANTILES[q]} is ${row[step]} at step ${step + 1}; expected a finite number. The method must never return NaN.`,
        );
      }
    }
  });
}
