/**
 * The inputs of the global model: how one forecast origin of one series becomes a vector of
 * numbers, a scale and the anchors of the quantile head.
 *
 * Every value is divided by a per-series scale taken from the window itself — the mean |y| of
 * the observed values of the last `scaleWindow` steps (Salinas et al., DeepAR, 2020, scale the
 * same way) — and the forecast is multiplied back, so the model is scale-free: one network
 * serves a tenant asking for 2 vCPU and one asking for 2,000. A series with too little history
 * to have a scale of its own borrows its cohort's (series with the same static features at
 * training time).
 *
 * Value inputs are entered relative to the last observed value (scaled y − scaled last, as
 * NLinear does, Zeng et al. 2023), so the network sees deviations rather than levels near 1;
 * the last value itself is one of the extras. The vector, in order:
 * 1. recent lags y[t−1…t−L] and their observed/missing mask (missing values enter as 0);
 * 2. seasonal lags one day back, aligned with the forecast steps (forecast step h is index
 *    t + h − 1; its lag is y[t+h−1−m] for h = 1−P…H, whole days further back for h > m), with
 *    their observed share — averaged over runs of `seasonalStride` steps for long horizons;
 * 3. the same one week back, when the week is used;
 * 4. the mean and observed share of the last day in blocks (a low-resolution daily profile);
 * 5. calendar: sine and cosine of the time of day and of the day of the week at the origin;
 * 6. static features one-hot (unknown values share an "other" slot per key);
 * 7. the last value, share of recent lags observed, history length, log of short/long scale,
 *    cohort-scale flag, and volatility: log mean |Δy| over the recent lags and over the last
 *    day, and the share of recent steps with no change (so a flat series can be forecast flat).
 * Scaled values are soft-clipped so one spike cannot dominate the input.
 */

/** A categorical static feature and its vocabulary (anything else maps to the "other" slot). */
export interface StaticFeature {
  readonly key: string;
  readonly values: readonly string[];
}

/** Everything that fixes the size and meaning of the input vector. */
export interface FeatureLayout {
  /** Steps per day (the daily season). */
  readonly seasonLength: number;
  /** Steps per week, or 0 when the weekly lags are not used. */
  readonly weeklySeasonLength: number;
  /** Steps forecast. */
  readonly horizon: number;
  /** Recent lags L. */
  readonly recentLags: number;
  /** Steps before the horizon also taken from one season back (P). */
  readonly seasonalPre: number;
  /**
   * Seasonal lags enter as means over runs of this many steps (1 = every lag), so a 288-step
   * horizon does not need 1,200 inputs; the anchors keep every step.
   */
  readonly seasonalStride: number;
  /** Steps between the knots the head gives raw values at (see quantile-head.ts). */
  readonly outputStride: number;
  readonly blockCount: number;
  readonly blockSize: number;
  /** Steps the scale is averaged over. */
  readonly scaleWindow: number;
  /** Steps of the longer look-back (history length, fallback scale, last value search). */
  readonly longWindow: number;
  readonly staticFeatures: readonly StaticFeature[];
}

/** Anchors per step: last value, one day back, one week back, recent mean. */
export const ANCHOR_COUNT = 4;

/** Beyond this many scales from zero, scaled inputs grow only logarithmically. */
const SOFT_CLIP = 5;

/** Extra scalar inputs (part 7 of the vector). */
const EXTRA_INPUTS = 8;

/** Length of the input vector of a layout. */
export function inputSize(layout: FeatureLayout): number {
  const seasonal = 2 * seasonalBlocks(layout);
  let size = 2 * layout.recentLags + seasonal + 2 * layout.blockCount + 4 + EXTRA_INPUTS;
  if (layout.weeklySeasonLength > 0) size += seasonal;
  for (const feature of layout.staticFeatures) size += feature.values.length + 1;
  return size;
}

/** Seasonal input blocks per season (daily or weekly). */
function seasonalBlocks(layout: FeatureLayout): number {
  return Math.ceil((layout.horizon + layout.seasonalPre) / layout.seasonalStride);
}

/** Steps of history a forecaster must keep to build the vector. */
export function contextLength(layout: FeatureLayout): number {
  const m = layout.seasonLength;
  return Math.max(
    layout.longWindow,
    layout.scaleWindow,
    layout.recentLags,
    layout.blockCount * layout.blockSize,
    2 * m + layout.seasonalPre,
    layout.weeklySeasonLength + layout.seasonalPre,
  );
}

/** Index of each static feature's value in its vocabulary ("other" = vocabulary length). */
export function staticIndices(
  layout: FeatureLayout,
  features: Readonly<Record<string, string>> | undefined,
): Int32Array {
  const out = new Int32Array(layout.staticFeatures.length);
  layout.staticFeatures.forEach((feature, k) => {
    const value = features?.[feature.key];
    const at = value === undefined ? -1 : feature.values.indexOf(value);
    out[k] = at >= 0 ? at : feature.values.length;
  });
  return out;
}

/**
 * Prefix sums over a series, so any window's statistics cost O(1): entry i covers indices
 * [0, i). "Changes" are |y[i] − y[i−1]| between observed neighbours, counted at index i.
 */
export interface SeriesPrefix {
  readonly sum: Float64Array;
  readonly abs: Float64Array;
  /** Counts fit 32 bits (a series of over 2³¹ steps is not forecast here). */
  readonly count: Int32Array;
  readonly change: Float64Array;
  readonly pairs: Int32Array;
  readonly unchanged: Int32Array;
}

/** Relative difference under which two consecutive values count as unchanged. */
const UNCHANGED_TOLERANCE = 1e-12;

/** Prefix sums of a series (non-finite values are missing). */
export function seriesPrefix(values: ArrayLike<number>): SeriesPrefix {
  const n = values.length;
  const prefix: SeriesPrefix = {
    sum: new Float64Array(n + 1),
    abs: new Float64Array(n + 1),
    count: new Int32Array(n + 1),
    change: new Float64Array(n + 1),
    pairs: new Int32Array(n + 1),
    unchanged: new Int32Array(n + 1),
  };
  const { sum, abs, count, change, pairs, unchanged } = prefix;
  let previous = Number.NaN;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const seen = Number.isFinite(v);
    const paired = seen && Number.isFinite(previous);
    const delta = paired ? Math.abs(v - previous) : 0;
    sum[i + 1] = (sum[i] as number) + (seen ? v : 0);
    abs[i + 1] = (abs[i] as number) + (seen ? Math.abs(v) : 0);
    count[i + 1] = (count[i] as number) + (seen ? 1 : 0);
    change[i + 1] = (change[i] as number) + delta;
    pairs[i + 1] = (pairs[i] as number) + (paired ? 1 : 0);
    // "Unchanged" within rounding (a relative 1e-12), so the share does not depend on the units:
    // two values an ulp apart can become equal, or stop being equal, when the series is scaled.
    const same = paired && delta <= UNCHANGED_TOLERANCE * Math.max(Math.abs(v), Math.abs(previous));
    unchanged[i + 1] = (unchanged[i] as number) + (same ? 1 : 0);
    previous = v;
  }
  return prefix;
}

/** Σ of a prefix array over indices [from, to). */
function range(prefix: Float64Array | Int32Array, from: number, to: number): number {
  return (prefix[to] as number) - (prefix[from] as number);
}

/** One forecast origin of one series, as the encoder reads it. */
export interface WindowSource {
  /** The series (any scale); non-finite values are missing. */
  readonly values: ArrayLike<number>;
  readonly prefix: SeriesPrefix;
  /** First index that may be read (earlier values are treated as never seen). */
  readonly first: number;
  /** The origin: the first step forecast; only indices < origin are read. */
  readonly origin: number;
  /** Epoch seconds of the origin step. */
  readonly originSeconds: number;
  readonly stepSeconds: number;
  readonly staticIndex: Int32Array;
  /** Scale to use when the series has none of its own (same units as `values`). */
  readonly cohortScale: number;
}

/** Where the encoder writes. */
export interface WindowTarget {
  readonly input: Float64Array;
  readonly inputAt: number;
  /** `horizon × ANCHOR_COUNT` anchor values (scaled). */
  readonly anchors: Float64Array;
  readonly anchorsAt: number;
}

/** Outcome of encoding one window. */
export interface WindowScale {
  /** The scale the window was divided by; 0 when the series is known to be idle (forecast 0). */
  readonly scale: number;
  /** Whether the scale is the cohort's rather than the series' own. */
  readonly fromCohort: boolean;
}

function softClip(x: number): number {
  if (x > SOFT_CLIP) return SOFT_CLIP + Math.log1p(x - SOFT_CLIP);
  if (x < -SOFT_CLIP) return -SOFT_CLIP - Math.log1p(-SOFT_CLIP - x);
  return x;
}

/** log10 of a scaled mean |change|, floored at 10⁻⁴, divided by 4: about −1 (flat) to 0.5. */
function volatilityFeature(changeSum: number, pairs: number, scale: number): number {
  if (pairs <= 0) return 0;
  return Math.log10(Math.min(changeSum / pairs / scale, 100) + 1e-4) / 4;
}

/** The value at index i scaled by s, or NaN when missing or outside [lowest, origin). */
function scaledAt(
  values: ArrayLike<number>,
  lowest: number,
  origin: number,
  s: number,
  i: number,
): number {
  if (i < lowest || i >= origin) return Number.NaN;
  const v = values[i] as number;
  return Number.isFinite(v) ? v / s : Number.NaN;
}

/** Writes a scaled value and its observed flag at `k`; returns the next position. */
function putValue(input: Float64Array, k: number, v: number): number {
  const seen = !Number.isNaN(v);
  input[k] = seen ? softClip(v) : 0;
  input[k + 1] = seen ? 1 : 0;
  return k + 2;
}

/**
 * Index whole seasons (`period`) back from forecast step h, which is index origin + h − 1
 * (h = 1 is the origin itself): one season back for h ≤ period, more beyond; steps h ≤ 0 (before
 * the origin) go one season back.
 */
function seasonalIndex(origin: number, h: number, period: number): number {
  return origin + h - 1 - period * Math.max(1, Math.ceil(h / period));
}

/**
 * Writes one season's lags for steps 1 − P … H: per run of `seasonalStride` steps, the mean of
 * the observed scaled values (0 if none) and the share observed.
 */
function putSeasonal(
  layout: FeatureLayout,
  values: ArrayLike<number>,
  lowest: number,
  t: number,
  s: number,
  period: number,
  input: Float64Array,
  start: number,
  /** Subtracted from every mean (the scaled last value). */
  centre: number,
): number {
  let k = start;
  const stride = layout.seasonalStride;
  for (let h0 = 1 - layout.seasonalPre; h0 <= layout.horizon; h0 += stride) {
    let sum = 0;
    let seen = 0;
    const h1 = Math.min(layout.horizon, h0 + stride - 1);
    for (let h = h0; h <= h1; h++) {
      const v = scaledAt(values, lowest, t, s, seasonalIndex(t, h, period));
      if (!Number.isNaN(v)) {
        sum += v;
        seen++;
      }
    }
    input[k++] = seen > 0 ? softClip(sum / seen - centre) : 0;
    input[k++] = seen / stride;
  }
  return k;
}

/**
 * The scale of a window: own short-window mean |y|; else own long-window mean |y|; else 0 when
 * the series has been observed idle for at least a day (it forecasts 0); else the cohort's.
 */
export function windowScale(layout: FeatureLayout, source: WindowSource): WindowScale {
  const t = source.origin;
  const { abs, count } = source.prefix;
  const shortFrom = Math.max(source.first, t - layout.scaleWindow, 0);
  const longFrom = Math.max(source.first, t - layout.longWindow, 0);
  const shortCount = range(count, shortFrom, t);
  if (shortCount > 0) {
    const short = range(abs, shortFrom, t) / shortCount;
    if (short > 0) return { scale: short, fromCohort: false };
  }
  const longCount = range(count, longFrom, t);
  if (longCount > 0) {
    const long = range(abs, longFrom, t) / longCount;
    if (long > 0) return { scale: long, fromCohort: false };
    if (longCount >= layout.seasonLength) return { scale: 0, fromCohort: false };
  }
  const cohort = source.cohortScale;
  return { scale: Number.isFinite(cohort) && cohort > 0 ? cohort : 0, fromCohort: true };
}

/**
 * Encodes one window: writes the input vector and the anchors, scaled.
 *
 * @param layout the feature layout
 * @param source the series and origin
 * @param target where to write
 * @returns the scale used; with scale 0 nothing is written and the forecast is 0
 */
export function encodeWindow(
  layout: FeatureLayout,
  source: WindowSource,
  target: WindowTarget,
): WindowScale {
  const result = windowScale(layout, source);
  const s = result.scale;
  if (!(s > 0)) return result;
  const { values, origin: t, prefix } = source;
  const { input, anchors } = target;
  const m = layout.seasonLength;
  const week = layout.weeklySeasonLength;
  const horizon = layout.horizon;
  const lowest = Math.max(source.first, 0);
  let k = target.inputAt;

  // The last observed value: every value input is entered relative to it (as NLinear does,
  // Zeng et al. 2023), so the network sees deviations, not a level near 1.
  let last = Number.NaN;
  const stop = Math.max(lowest, t - layout.longWindow);
  for (let i = t - 1; Number.isNaN(last) && i >= stop; i--)
    last = scaledAt(values, lowest, t, s, i);
  const lastOrZero = Number.isNaN(last) ? 0 : last;

  // 1. Recent lags, and the recent mean (an anchor).
  let recentSum = 0;
  let recentCount = 0;
  for (let lag = 1; lag <= layout.recentLags; lag++) {
    const v = scaledAt(values, lowest, t, s, t - lag);
    k = putValue(input, k, v - lastOrZero);
    if (!Number.isNaN(v)) {
      recentSum += v;
      recentCount++;
    }
  }
  const recentMean = recentCount > 0 ? recentSum / recentCount : lastOrZero;

  // 2–3. Seasonal lags (daily, weekly), aligned with the forecast steps; anchors for h ≥ 1.
  for (let h = 1; h <= horizon; h++) {
    let daily = scaledAt(values, lowest, t, s, seasonalIndex(t, h, m));
    if (Number.isNaN(daily)) daily = scaledAt(values, lowest, t, s, seasonalIndex(t, h, m) - m);
    const a = target.anchorsAt + (h - 1) * ANCHOR_COUNT;
    anchors[a] = lastOrZero;
    anchors[a + 1] = Number.isNaN(daily) ? lastOrZero : daily;
    anchors[a + 3] = recentMean;
    const weekly =
      week > 0 ? scaledAt(values, lowest, t, s, seasonalIndex(t, h, week)) : Number.NaN;
    anchors[a + 2] = Number.isNaN(weekly) ? (anchors[a + 1] as number) : weekly;
  }
  k = putSeasonal(layout, values, lowest, t, s, m, input, k, lastOrZero);
  if (week > 0) k = putSeasonal(layout, values, lowest, t, s, week, input, k, lastOrZero);

  // 4. The last day in blocks.
  for (let b = 0; b < layout.blockCount; b++) {
    const from = Math.max(lowest, t - (b + 1) * layout.blockSize, 0);
    const to = Math.max(from, t - b * layout.blockSize);
    const seen = range(prefix.count, from, to);
    input[k++] = seen > 0 ? softClip(range(prefix.sum, from, to) / seen / s - lastOrZero) : 0;
    input[k++] = seen / layout.blockSize;
  }

  // 5. Calendar at the origin.
  const dayPeriod = m * source.stepSeconds;
  const weekPeriod = (week > 0 ? week : 7 * m) * source.stepSeconds;
  const dayPhase = (((source.originSeconds % dayPeriod) + dayPeriod) % dayPeriod) / dayPeriod;
  const weekPhase = (((source.originSeconds % weekPeriod) + weekPeriod) % weekPeriod) / weekPeriod;
  input[k++] = Math.sin(2 * Math.PI * dayPhase);
  input[k++] = Math.cos(2 * Math.PI * dayPhase);
  input[k++] = Math.sin(2 * Math.PI * weekPhase);
  input[k++] = Math.cos(2 * Math.PI * weekPhase);

  // 6. Static features, one-hot.
  for (let f = 0; f < layout.staticFeatures.length; f++) {
    const width = (layout.staticFeatures[f] as StaticFeature).values.length + 1;
    input.fill(0, k, k + width);
    input[k + (source.staticIndex[f] as number)] = 1;
    k += width;
  }

  // 7. Extras. A change at index i pairs i − 1 and i, so pairs start one after the window.
  const longFrom = Math.max(lowest, t - layout.longWindow, 0);
  const shortFrom = Math.max(lowest, t - layout.scaleWindow, 0);
  const recentFrom = Math.max(lowest, t - layout.recentLags, 0);
  const longCount = range(prefix.count, longFrom, t);
  const shortCount = range(prefix.count, shortFrom, t);
  const longMean = longCount > 0 ? range(prefix.abs, longFrom, t) / longCount : 0;
  const shortMean = shortCount > 0 ? range(prefix.abs, shortFrom, t) / shortCount : 0;
  const recentPairFrom = Math.min(t, recentFrom + 1);
  const dailyPairFrom = Math.min(t, shortFrom + 1);
  const recentPairs = range(prefix.pairs, recentPairFrom, t);
  input[k++] = softClip(lastOrZero);
  input[k++] = recentCount / layout.recentLags;
  input[k++] = Math.log1p(longCount) / Math.log1p(layout.longWindow);
  input[k++] =
    longMean > 0 && shortMean > 0 ? Math.max(-3, Math.min(3, Math.log(shortMean / longMean))) : 0;
  input[k++] = result.fromCohort ? 1 : 0;
  input[k++] = volatilityFeature(range(prefix.change, recentPairFrom, t), recentPairs, s);
  input[k++] = volatilityFeature(
    range(prefix.change, dailyPairFrom, t),
    range(prefix.pairs, dailyPairFrom, t),
    s,
  );
  input[k++] = recentPairs > 0 ? range(prefix.unchanged, recentPairFrom, t) / recentPairs : 0;
  return result;
}
