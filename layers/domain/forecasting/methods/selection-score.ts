import { WQL_LEVELS } from "../forecast-error.js";
import { type Combination, combineInto } from "./ensemble-forecaster.js";
import { sortedQuantile } from "./error-calibrator.js";

/**
 * How the per-series selection scores a point method on its calibration span: the weighted
 * quantile loss its conformal intervals would get there. Point forecasts are laid out as a matrix
 * of origins × horizon; candidates' matrices sit side by side in one buffer, `block` values each.
 */

/** Where a span's forecasts were made and how errors there are scaled. */
export interface SpanLayout {
  /** Index of the first origin (the calibration span's start). */
  readonly from: number;
  /** Exclusive end of the span (the training end): no actual at or after it is read. */
  readonly end: number;
  /** Origins in the span. */
  readonly origins: number;
  /** Steps between origins. */
  readonly stride: number;
  readonly horizon: number;
  /** Per origin, the divisor errors are measured in (unit × local scale). */
  readonly scales: Float64Array;
  /** Steps ahead (0-based) that are scored; all of them when absent. */
  readonly steps?: Int32Array;
}

/**
 * The summed pinball loss over levels 0.1…0.9 of point + scale · Q_τ, where Q_τ is the τ-quantile
 * of the matrix's own scaled step-h errors over the span — what the method's conformal intervals
 * would score there (in-sample for the quantiles, out-of-sample for the points, equally so for
 * every candidate). Lower is better; a matrix with nothing to score gets +Infinity.
 *
 * @param matrix origins × horizon point forecasts
 * @param errors scratch of at least `origins` values
 */
export function conformalScore(
  values: ArrayLike<number>,
  matrix: Float64Array,
  span: SpanLayout,
  errors: Float64Array,
): number {
  const { from, end, origins, stride, horizon, scales } = span;
  let uniform = true;
  for (let o = 1; o < origins && uniform; o++) uniform = scales[o] === scales[0];
  let loss = 0;
  let scored = 0;
  const count = span.steps?.length ?? horizon;
  for (let i = 0; i < count; i++) {
    const h = span.steps ? (span.steps[i] as number) : i;
    let n = 0;
    for (let o = 0; o < origins; o++) {
      const t = from + o * stride + h;
      if (t >= end) break;
      const actual = values[t] as number;
      if (!Number.isFinite(actual)) continue;
      errors[n++] = (actual - (matrix[o * horizon + h] as number)) / (scales[o] as number);
    }
    if (n === 0) continue;
    scored += n;
    const sorted = errors.subarray(0, n).sort();
    if (uniform) {
      loss += (scales[0] as number) * sortedPinballSum(sorted, n);
      continue;
    }
    for (const level of WQL_LEVELS) {
      const q = sortedQuantile(sorted, n, level);
      for (let o = 0; o < origins; o++) {
        const t = from + o * stride + h;
        if (t >= end) break;
        const actual = values[t] as number;
        if (!Number.isFinite(actual)) continue;
        const scale = scales[o] as number;
        const e = (actual - (matrix[o * horizon + h] as number)) / scale - q;
        loss += (e >= 0 ? level * e : (level - 1) * e) * scale;
      }
    }
  }
  return scored > 0 ? 2 * loss : Number.POSITIVE_INFINITY;
}

/**
 * Σ over levels 0.1…0.9 of Σ_i pinball_τ(e_i − Q_τ(e)) for an ascending sample, in O(n + levels):
 * with k values below q and prefix sum S_k, the sum is τ·(S_n − S_k − (n − k)·q) + (1 − τ)·(k·q − S_k).
 */
function sortedPinballSum(sorted: Float64Array, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i] as number;
  let loss = 0;
  let k = 0;
  let below = 0;
  for (const level of WQL_LEVELS) {
    const q = sortedQuantile(sorted, n, level);
    // Levels ascend, so q does: advance the split point instead of searching from scratch.
    while (k < n && (sorted[k] as number) < q) below += sorted[k++] as number;
    loss += level * (total - below - (n - k) * q) + (1 - level) * (k * q - below);
  }
  return loss;
}

/**
 * Combines the matrices of `members` (candidate indices into `points`, `block` values each) into
 * `out`, origin by origin.
 *
 * @param rows scratch of at least members × horizon values
 * @param column scratch of at least members values
 */
export function combineMatrices(
  points: Float64Array,
  block: number,
  members: readonly number[],
  combination: Combination,
  span: Pick<SpanLayout, "origins" | "horizon">,
  out: Float64Array,
  rows: Float64Array,
  column: Float64Array,
): void {
  const { origins, horizon } = span;
  const k = members.length;
  for (let o = 0; o < origins; o++) {
    for (let i = 0; i < k; i++) {
      const at = (members[i] as number) * block + o * horizon;
      rows.set(points.subarray(at, at + horizon), i * horizon);
    }
    combineInto(
      rows,
      k,
      horizon,
      combination,
      out.subarray(o * horizon, (o + 1) * horizon),
      column,
    );
  }
}

/**
 * The loss `conformalScore` sums, split by blocks of consecutive origins (`blockOrigins` each):
 * `out[b]` gets the pinball losses of the forecasts made from the origins of block b, against the
 * same span-wide error quantiles. Blocks let two options be compared pairwise over time (how
 * consistently one beats the other), which a single total cannot tell.
 *
 * @param matrix origins × horizon point forecasts
 * @param blockOrigins origins per block, ≥ 1
 * @param errors scratch of at least `origins` values
 * @param out at least ⌈origins / blockOrigins⌉ values; overwritten
 * @returns the number of blocks written
 */
export function conformalBlockLosses(
  values: ArrayLike<number>,
  matrix: Float64Array,
  span: SpanLayout,
  blockOrigins: number,
  errors: Float64Array,
  out: Float64Array,
): number {
  const { from, end, origins, stride, horizon, scales } = span;
  const blocks = Math.ceil(origins / blockOrigins);
  out.fill(0, 0, blocks);
  const quantiles = new Float64Array(WQL_LEVELS.length);
  const count = span.steps?.length ?? horizon;
  for (let i = 0; i < count; i++) {
    const h = span.steps ? (span.steps[i] as number) : i;
    let n = 0;
    for (let o = 0; o < origins; o++) {
      const t = from + o * stride + h;
      if (t >= end) break;
      const actual = values[t] as number;
      if (!Number.isFinite(actual)) continue;
      errors[n++] = (actual - (matrix[o * horizon + h] as number)) / (scales[o] as number);
    }
    if (n === 0) continue;
    const sorted = errors.subarray(0, n).sort();
    WQL_LEVELS.forEach((level, k) => {
      quantiles[k] = sortedQuantile(sorted, n, level);
    });
    for (let o = 0; o < origins; o++) {
      const t = from + o * stride + h;
      if (t >= end) break;
      const actual = values[t] as number;
      if (!Number.isFinite(actual)) continue;
      const scale = scales[o] as number;
      const e = (actual - (matrix[o * horizon + h] as number)) / scale;
      let loss = 0;
      WQL_LEVELS.forEach((level, k) => {
        const d = e - (quantiles[k] as number);
        loss += d >= 0 ? level * d : (level - 1) * d;
      });
      const b = Math.floor(o / blockOrigins);
      out[b] = (out[b] as number) + 2 * loss * scale;
    }
  }
  return blocks;
}

/**
 * The paired t statistic of a[i] − b[i] over the first `n` pairs: their mean divided by its
 * standard error. −∞ when every difference is the same negative number, +∞ for the same positive
 * one, 0 when all are 0 or n < 2.
 */
export function pairedTStatistic(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (a[i] as number) - (b[i] as number);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number) - mean;
    squares += d * d;
  }
  const standardError = Math.sqrt(squares / (n - 1) / n);
  if (standardError === 0) return mean === 0 ? 0 : mean < 0 ? -Infinity : Infinity;
  return mean / standardError;
}

/**
 * Student's t quantile with `df` degrees of freedom at the level where the standard normal has
 * quantile `z`, by the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5, four terms): within
 * 1 % of the exact value from 4 degrees of freedom on, and larger than the normal quantile at any
 * df, so a test on few blocks asks for more.
 *
 * @param z standard normal quantile, e.g. 1.96
 * @param df degrees of freedom, ≥ 1
 */
export function studentQuantile(z: number, df: number): number {
  const z2 = z * z;
  const g1 = (z2 + 1) * z * (1 / 4);
  const g2 = ((5 * z2 + 16) * z2 + 3) * z * (1 / 96);
  const g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z * (1 / 384);
  const g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z * (1 / 92160);
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}
