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
  }

  /**
   * Records the error of a forecast `step` steps ahead (0 = one step). Errors that are not finite,
   * or beyond the 32-bit range (an error 1e38 times the series' unit), are dropped.
   */
  add(step: number, error: number): void {
    if (!(Math.abs(error) <= FLOAT32_MAX) || step < 0 || step >= this.horizon) return;
    const head = this.heads[step] as number;
    this.ring[step * this.capacity + head] = error;
    this.heads[step] = head + 1 === this.capacity ? 0 : head + 1;
    if ((this.counts[step] as number) < this.capacity) {
      this.counts[step] = (this.counts[step] as number) + 1;
    }
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
      for (let i = 0; i < count; i++) {
        errors[at++] = this.ring[h * this.capacity + ((start + i) % this.capacity)] as number;
      }
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

  private copyStep(step: number, out: Float32Array, at: number): number {
    const count = this.counts[step] as number;
    const base = step * this.capacity;
    out.set(this.ring.subarray(base, base + count), at);
    return at + count;
  }
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
