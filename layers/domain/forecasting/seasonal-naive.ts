import { quantileKey } from "../config.js";
import { ValidationError } from "../errors.js";
import { empiricalQuantile, rearrangeQuantiles } from "./quantiles.js";

/**
 * Seasonal-naive forecasting with empirical prediction intervals: the floor every better model
 * must beat, the model the project's own endpoint serves, and the in-function fallback.
 *
 * Point forecast: the value one season back (Hyndman & Athanasopoulos, "Forecasting: Principles
 * and Practice", §5.2), walking back further seasons past missing values; with less than one
 * season of history, or no observed value in the step's seasonal slot, the last observed value.
 *
 * Intervals: empirical quantiles of the model's own in-sample errors, added to the point
 * forecast. With enough history these are the seasonal differences y[t] − y[t−m] (exactly the
 * error the model makes one season ahead), widened by √k for a forecast k seasons back (fpp §5.5).
 * With less history they are the one-step differences and their negatives (no drift assumed),
 * widened by √lag, lag capped at one season (beyond that the level is taken from a season back,
 * not extrapolated further). A series with
 * one observation gets wide intervals: the next values are assumed anywhere within ±100 % of it,
 * widened the same way. A series with no observation at all gets the cold-start answer: mean 0
 * and zero-width intervals at 0, marked `basis: "cold-start"` so callers can tell "nothing known"
 * from "predicted idle" (the plan serves such users from their tier's guaranteed minimum).
 *
 * Guarantees (tested as properties): no NaN or infinity in the output; values ≥ 0 (demand is
 * non-negative); quantiles monotone in their level at every step; a constant series gives
 * zero-width intervals at the constant; scaling the input by k > 0 scales the output by k.
 */

/** Which error model produced the intervals. */
export type ForecastBasis = "seasonal-errors" | "one-step-errors" | "single-point" | "cold-start";

export interface SeasonalNaiveOptions {
  /** Steps to forecast (DeepAR's `prediction_length`). */
  readonly predictionLength: number;
  /** Steps per season, e.g. 288 five-minute steps for a daily season. */
  readonly seasonLength: number;
  /** Quantile levels in (0, 1), e.g. [0.1, 0.5, 0.9]. */
  readonly quantiles: readonly number[];
  /** Multiplies every interval offset (a calibration factor fitted by the retrain flow). @default 1 */
  readonly intervalScale?: number;
  /** Sample paths to return (stratified, deterministic); 0 returns none. @default 0 */
  readonly numSamples?: number;
  /** Seasonal differences needed before their empirical distribution is used. @default 8 */
  readonly minSeasonalErrors?: number;
}

/** The model's predictive distribution per step, before it is cut into quantiles or samples. */
export interface SeasonalNaivePredictive {
  readonly mean: readonly number[];
  readonly basis: ForecastBasis;
  /** Finite values in the target. */
  readonly observedPoints: number;
  /** Forecast of the `level` quantile at every step (≥ 0, finite, monotone in `level`). */
  quantile(level: number): number[];
}

export interface SeasonalNaiveForecast {
  readonly mean: number[];
  /** Keyed by `quantileKey(level)`. */
  readonly quantiles: Record<string, number[]>;
  /** `numSamples` paths of `predictionLength` values; present when numSamples > 0. */
  readonly samples?: number[][];
  readonly basis: ForecastBasis;
  readonly observedPoints: number;
}

const DEFAULT_MIN_SEASONAL_ERRORS = 8;
const MAX_PREDICTION_LENGTH = 100_000;
const MAX_SAMPLES = 10_000;

/**
 * Forecasts one series with the seasonal-naive model and empirical quantiles.
 *
 * @param target history, oldest first, one value per step; NaN (or any non-finite value) is missing
 * @param options prediction length and season in steps, quantile levels, optional samples
 * @returns mean, quantiles (keyed "0.1"…) and optional samples over `predictionLength` steps
 * @throws ValidationError when an option is out of range (never because of the data)
 * @example
 * const f = forecastSeasonalNaive([3, 5, NaN, 4], { predictionLength: 2, seasonLength: 288, quantiles: [0.1, 0.9] });
 * f.quantiles["0.9"]; // two values, each ≥ f.quantiles["0.1"] at the same step
 */
export function forecastSeasonalNaive(
  target: readonly number[],
  options: SeasonalNaiveOptions,
): SeasonalNaiveForecast {
  const predictive = seasonalNaivePredictive(target, options);
  const raw: Record<string, number[]> = {};
  for (const level of options.quantiles) raw[quantileKey(level)] = predictive.quantile(level);
  const numSamples = options.numSamples ?? 0;
  return {
    mean: [...predictive.mean],
    quantiles: rearrangeQuantiles(raw),
    ...(numSamples > 0 ? { samples: stratifiedSamples(predictive, numSamples) } : {}),
    basis: predictive.basis,
    observedPoints: predictive.observedPoints,
  };
}

/**
 * The seasonal-naive predictive distribution of one series (see the module comment).
 *
 * @param target history, oldest first; non-finite values are missing
 * @throws ValidationError when an option is out of range
 */
export function seasonalNaivePredictive(
  target: readonly number[],
  options: SeasonalNaiveOptions,
): SeasonalNaivePredictive {
  checkOptions(options);
  const horizon = options.predictionLength;
  const season = options.seasonLength;
  const intervalScale = options.intervalScale ?? 1;
  const observedPoints = target.filter(Number.isFinite).length;
  if (observedPoints === 0) return coldStart(horizon);

  // Work on the series divided by its largest magnitude: differences stay within [−2, 2], so no
  // step can overflow, and scaling the input scales the output (up to rounding).
  const magnitude = target.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
  const unit = magnitude > 0 ? magnitude : 1;
  const y = target.map((v) => (Number.isFinite(v) ? v / unit : Number.NaN));
  const sources = forecastSources(y, season, horizon);
  const errors = errorModel(y, season, options.minSeasonalErrors ?? DEFAULT_MIN_SEASONAL_ERRORS);
  const widening = sources.map((s) => errors.widening(s.lag));
  const level0 = sources.map((s) => y[s.index] as number);

  return {
    mean: level0.map((v) => toDemand(v * unit)),
    basis: errors.basis,
    observedPoints,
    quantile(level: number): number[] {
      const offset = errors.quantile(level) * intervalScale;
      return level0.map((v, h) => toDemand((v + offset * (widening[h] as number)) * unit));
    },
  };
}

function checkOptions(options: SeasonalNaiveOptions): void {
  const problems: { field: string; message: string }[] = [];
  const intIn = (field: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push({ field, message: `is ${value}; expected an integer in [${min}, ${max}]` });
    }
  };
  intIn("predictionLength", options.predictionLength, 1, MAX_PREDICTION_LENGTH);
  intIn("seasonLength", options.seasonLength, 1, Number.MAX_SAFE_INTEGER);
  intIn("numSamples", options.numSamples, 0, MAX_SAMPLES);
  intIn("minSeasonalErrors", options.minSeasonalErrors, 1, Number.MAX_SAFE_INTEGER);
  options.quantiles.forEach((level, i) => {
    if (!(level > 0 && level < 1)) {
      problems.push({
        field: `quantiles.${i}`,
        message: `is ${level}; expected a level in (0, 1)`,
      });
    }
  });
  const scale = options.intervalScale;
  if (scale !== undefined && !(Number.isFinite(scale) && scale >= 0)) {
    problems.push({ field: "intervalScale", message: `is ${scale}; expected a finite number ≥ 0` });
  }
  if (problems.length > 0) {
    throw new ValidationError(
      `Invalid seasonal-naive options: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}.`,
      problems,
    );
  }
}

function coldStart(horizon: number): SeasonalNaivePredictive {
  const zeros = () => new Array<number>(horizon).fill(0);
  return { mean: zeros(), basis: "cold-start", observedPoints: 0, quantile: zeros };
}

/** Clamps a forecast value to a finite, non-negative demand. */
function toDemand(value: number): number {
  if (value > Number.MAX_VALUE) return Number.MAX_VALUE;
  return Math.max(value, 0);
}

/** Where each step's point forecast comes from: an index of the history and its lag. */
interface Source {
  readonly index: number;
  /** Steps between the source and the forecast step. */
  readonly lag: number;
}

function forecastSources(y: readonly number[], season: number, horizon: number): Source[] {
  const n = y.length;
  const lastObserved = latestObservedInClass(y, 1)[n - 1] as number;
  // With less than one season of history every step uses the last observed value.
  const sameSlot = n >= season ? latestObservedInClass(y, season) : undefined;
  const sources: Source[] = [];
  for (let h = 1; h <= horizon; h++) {
    const step = n - 1 + h;
    const slot = step - season * Math.ceil(h / season);
    const seasonal = sameSlot && slot >= 0 ? (sameSlot[slot] as number) : -1;
    const index = seasonal >= 0 ? seasonal : lastObserved;
    sources.push({ index, lag: step - index });
  }
  return sources;
}

/**
 * For each index i, the latest index j ≤ i with j ≡ i (mod period) whose value is observed, or −1.
 * O(n) for any period.
 */
function latestObservedInClass(y: readonly number[], period: number): Int32Array {
  const out = new Int32Array(y.length).fill(-1);
  for (let i = 0; i < y.length; i++) {
    if (Number.isFinite(y[i])) out[i] = i;
    else if (i >= period) out[i] = out[i - period] as number;
  }
  return out;
}

interface ErrorModel {
  readonly basis: ForecastBasis;
  /** Quantile of the one-unit forecast error (on the normalised scale). */
  quantile(level: number): number;
  /** Factor the error grows by for a forecast `lag` steps from its source. */
  widening(lag: number): number;
}

function errorModel(y: readonly number[], season: number, minSeasonalErrors: number): ErrorModel {
  const seasonal = y.length > season ? differences(y, season).sort((a, b) => a - b) : [];
  if (seasonal.length >= minSeasonalErrors) {
    return {
      basis: "seasonal-errors",
      quantile: (level) => empiricalQuantile(seasonal, level),
      widening: (lag) => Math.sqrt(Math.max(1, Math.ceil(lag / season))),
    };
  }
  const widening = (lag: number) => Math.sqrt(Math.max(1, Math.min(lag, season)));
  // Symmetrised: the naive model assumes no drift, and a drift read off a handful of
  // differences is noise; without this, two rising steps would put the whole interval above the
  // point forecast.
  const oneStep = differences(y, 1)
    .flatMap((e) => [e, -e])
    .sort((a, b) => a - b);
  if (oneStep.length > 0) {
    return {
      basis: "one-step-errors",
      quantile: (level) => empiricalQuantile(oneStep, level),
      widening,
    };
  }
  const only = Math.abs(y.find(Number.isFinite) as number);
  return { basis: "single-point", quantile: (level) => (2 * level - 1) * only, widening };
}

/**
 * Differences between each observed value and the previous observed value of its class modulo
 * `period`, divided by √(periods between them), so a gap left by missing data is bridged but
 * counted as the random-walk error of that many periods.
 */
function differences(y: readonly number[], period: number): number[] {
  const out: number[] = [];
  const previous = latestObservedInClass(y, period);
  for (let i = period; i < y.length; i++) {
    const before = previous[i - period] as number;
    if (!Number.isFinite(y[i]) || before < 0) continue;
    out.push(((y[i] as number) - (y[before] as number)) / Math.sqrt((i - before) / period));
  }
  return out;
}

/**
 * Deterministic sample paths: path i takes the (i + ½)/n quantile at every step, so the samples
 * are spread evenly over the predictive distribution and their quantiles match it.
 */
function stratifiedSamples(predictive: SeasonalNaivePredictive, count: number): number[][] {
  const paths: number[][] = [];
  for (let i = 0; i < count; i++) paths.push(predictive.quantile((i + 0.5) / count));
  return paths;
}
