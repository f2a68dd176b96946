/**
 * The memory of out-of-sample forecast errors behind conformal intervals: per step ahead, the
 * most recent `capacity` errors (a ring, oldest evicted first), and their empirical quantiles.
 *
 * Errors are stored as 32-bit floats: they arrive already divided by the series' unit and a
 * local scale (see conformal.ts), so they are O(1) numbers where 7 significant digits are ample,
 * and halving the memory matters when tens of thousands of series are calibrated at once.
 */

import type {
  ErrorCalibratorSnapshot,
  ParsedErrorCalibratorSnapshot,
} from "./forecaster-snapshot.js";
import { encodeFloat32 } from "./state-codec.js";

const FLOAT32_MAX = 3.4e38;

export class ErrorCalibrator {
  private readonly ring: Float32Array;
  private readonly counts: Int32Array;
  private readonly heads: Int32Array;
  /**
   * Each step's errors kept sorted, once a step has been asked for: from then on `add` keeps the
   * step in order (a binary search and one shift) instead of every query sorting it again. A
   * calibrator that is only filled (a fit's rolling origins) never pays for it.
   */
  private sorted: Float32Array | undefined;
  private readonly sortedReady: Uint8Array;

  /**
   * @param horizon steps ahead tracked
   * @param capacity errors kept per step (the most recent)
   */
  constructor(
    readonly horizon: number,
    readonly capacity: number,
  ) {
    this.ring = new Float32Array(horizon * capacity);
    this.counts = new Int32Array(horizon);
    this.heads = new Int32Array(horizon);
    this.sortedReady = new Uint8Array(horizon);
  }

  /**
   * Records the error of a forecast `step` steps ahead (0 = one step). Errors that are not finite,
   * or beyond the 32-bit range (an error 1e38 times the series' unit), are dropped.
   */
  add(step: number, error: number): void {
    if (!(Math.abs(error) <= FLOAT32_MAX) || step < 0 || step >= this.horizon) return;
    const head = this.heads[step] as number;
    const base = step * this.capacity;
    const count = this.counts[step] as number;
    // -0 and +0 are one error: keep +0 (`+ 0` does that), so the sorted run's order is total.
    const value = Math.fround(error) + 0;
    if (this.sortedReady[step] === 1) {
      if (count === this.capacity) {
        // An error equal to the one it evicts (a flat series' zeros) leaves the sorted run as is.
        const old = this.ring[base + head] as number;
        if (old !== value) this.replaceSorted(base, count, old, value);
      } else {
        this.insertSorted(base, count, value);
      }
    }
    this.ring[base + head] = value;
    this.heads[step] = head + 1 === this.capacity ? 0 : head + 1;
    if (count < this.capacity) this.counts[step] = count + 1;
  }

  /** Errors held for `step`. */
  count(step: number): number {
    return this.counts[step] ?? 0;
  }

  /** Errors held over all steps. */
  total(): number {
    let sum = 0;
    for (let h = 0; h < this.horizon; h++) sum += this.counts[h] as number;
    return sum;
  }

  /**
   * Copies the errors used for `step` into `out` (sorted ascending) and returns how many: the
   * step's own when it has at least `minErrors`, else those of the nearest steps pooled in
   * (step ± 1, ± 2, …) until `minErrors` are reached or every step is in — errors of nearby
   * horizons are the best stand-in for a step that has few of its own.
   *
   * @param out buffer of at least horizon × capacity values when pooling may happen
   * @returns the number of values written (0 when no step holds any error)
   */
  sortedErrorsInto(step: number, minErrors: number, out: Float32Array): number {
    if ((this.counts[step] as number) >= minErrors) {
      const sorted = this.sortedStep(step);
      out.set(sorted);
      return sorted.length;
    }
    let n = this.copyStep(step, out, 0);
    for (let k = 1; n < minErrors && (step - k >= 0 || step + k < this.horizon); k++) {
      if (step - k >= 0) n = this.copyStep(step - k, out, n);
      if (step + k < this.horizon) n = this.copyStep(step + k, out, n);
    }
    out.subarray(0, n).sort();
    return n;
  }

  /** An independent copy. */
  clone(): ErrorCalibrator {
    const copy = new ErrorCalibrator(this.horizon, this.capacity);
    copy.ring.set(this.ring);
    copy.counts.set(this.counts);
    copy.heads.set(this.heads);
    return copy;
  }

  /**
   * Its state: per step the count, and every step's errors oldest first (32-bit floats, exact).
   * A restored calibrator sorts, pools and evicts exactly as this one.
   */
  snapshot(): ErrorCalibratorSnapshot {
    const counts: number[] = [];
    const errors = new Float32Array(this.total());
    let at = 0;
    for (let h = 0; h < this.horizon; h++) {
      const count = this.counts[h] as number;
      const start = count < this.capacity ? 0 : (this.heads[h] as number);
      // Oldest first: the ring from its head to the end, then from its start to the head.
      const base = h * this.capacity;
      const firstPart = Math.min(count, this.capacity - start);
      errors.set(this.ring.subarray(base + start, base + start + firstPart), at);
      errors.set(this.ring.subarray(base, base + count - firstPart), at + firstPart);
      at += count;
      counts.push(count);
    }
    return { capacity: this.capacity, counts, errors: encodeFloat32(errors) };
  }

  /** A calibrator rebuilt from a parsed `snapshot()` (counts and lengths checked by its schema). */
  static restore(snapshot: ParsedErrorCalibratorSnapshot): ErrorCalibrator {
    const calibrator = new ErrorCalibrator(snapshot.counts.length, snapshot.capacity);
    let at = 0;
    snapshot.counts.forEach((count, h) => {
      for (let i = 0; i < count; i++) calibrator.add(h, snapshot.errors[at++] as number);
    });
    return calibrator;
  }

  /** Step `step`'s errors in ascending order (a view), sorting them the first time. */
  private sortedStep(step: number): Float32Array {
    this.sorted ??= new Float32Array(this.ring.length);
    const base = step * this.capacity;
    const count = this.counts[step] as number;
    const view = this.sorted.subarray(base, base + count);
    if (this.sortedReady[step] !== 1) {
      view.set(this.ring.subarray(base, base + count));
      view.sort();
      this.sortedReady[step] = 1;
    }
    return view;
  }

  /** Inserts `value` into the sorted run [base, base + count) (there is room for it). */
  private insertSorted(base: number, count: number, value: number): void {
    const sorted = this.sorted as Float32Array;
    const at = upperBound(sorted, base, base + count, value);
    sorted.copyWithin(at + 1, at, base + count);
    sorted[at] = value;
  }

  /** Replaces one occurrence of `old` in the full sorted run [base, base + count) by `value`. */
  private replaceSorted(base: number, count: number, old: number, value: number): void {
    const sorted = this.sorted as Float32Array;
    const end = base + count;
    const from = lowerBound(sorted, base, end, old);
    if (value >= old) {
      // Shift left the values between the old slot and the new one's place.
      const to = upperBound(sorted, from + 1, end, value);
      sorted.copyWithin(from, from + 1, to);
      sorted[to - 1] = value;
    } else {
      const to = upperBound(sorted, base, from, value);
      sorted.copyWithin(to + 1, to, from);
      sorted[to] = value;
    }
  }

  private copyStep(step: number, out: Float32Array, at: number): number {
    const count = this.counts[step] as number;
    const base = step * this.capacity;
    out.set(this.ring.subarray(base, base + count), at);
    return at + count;
  }
}

/** First index in the ascending [from, to) whose value is not below `value`. */
function lowerBound(sorted: Float32Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in the ascending [from, to) whose value is above `value`. */
function upperBound(sorted: Float32Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The `level` quantile of the first `n` values of an ascending array, interpolating between
 * order statistics (Hyndman & Fan type 7, as quantiles.ts's `empiricalQuantile`).
 *
 * @param n values to use, at least 1
 */
export function sortedQuantile(sorted: ArrayLike<number>, n: number, level: number): number {
  const position = (n - 1) * Math.min(1, Math.max(0, level));
  const lower = Math.floor(position);
  const fraction = position - lower;
  const low = sorted[lower] as number;
  if (fraction === 0 || lower + 1 >= n) return low;
  return low * (1 - fraction) + (sorted[lower + 1] as number) * fraction;
}
