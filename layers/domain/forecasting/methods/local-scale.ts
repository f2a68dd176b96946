import type { LocalScaleSnapshot, ParsedLocalScaleSnapshot } from "./forecaster-snapshot.js";
import { encodeFloat64, storeNumber } from "./state-codec.js";

/**
 * A running measure of how large a series is "right now", used to make conformal errors
 * scale-aware: errors are stored divided by the local scale at their forecast origin and
 * multiplied back by the local scale at the new origin, so a series whose noise grows with its
 * level (request counts, network bytes) gets intervals that widen and narrow with it.
 *
 * Modes:
 * - "none": always 1 (plain conformal).
 * - "level": mean |y| over the last `window` observed values.
 * - "noise": mean |y_t − y_{t−1}| over the last `window` consecutive observed pairs.
 * The scale never falls below `floor` (a fraction of the training part's mean |y|), so a quiet
 * stretch cannot make the next error look infinitely large; every mode is scale-equivariant.
 *
 * Values are fed in working units (already divided by the series' unit); O(1) per value.
 */

export type LocalScaleMode = "none" | "level" | "noise";

export class LocalScale {
  private readonly terms: Float64Array;
  private count = 0;
  private head = 0;
  private sum = 0;
  private previous = Number.NaN;
  private sinceResum = 0;

  /**
   * @param mode what the scale measures
   * @param window terms averaged (the most recent)
   * @param floor smallest scale returned, > 0
   */
  constructor(
    readonly mode: LocalScaleMode,
    readonly window: number,
    readonly floor: number,
  ) {
    this.terms = new Float64Array(mode === "none" ? 1 : Math.max(1, window));
  }

  /** Feeds the next value (NaN = missing: skipped, and it breaks the pair for "noise"). */
  update(value: number): void {
    if (this.mode === "none") return;
    if (!Number.isFinite(value)) {
      this.previous = Number.NaN;
      return;
    }
    let term: number;
    if (this.mode === "level") {
      term = Math.abs(value);
    } else {
      const prior = this.previous;
      this.previous = value;
      if (!Number.isFinite(prior)) return;
      term = Math.abs(value - prior);
    }
    this.push(term);
  }

  /** The current scale (≥ floor; 1 in mode "none"). */
  scale(): number {
    if (this.mode === "none") return 1;
    const mean = this.count > 0 ? this.sum / this.count : 0;
    return Math.max(mean, this.floor);
  }

  /** Its state, exactly (the ring as laid out and the running sum, so a restored scale matches bit for bit). */
  snapshot(): LocalScaleSnapshot {
    return {
      mode: this.mode,
      window: this.window,
      floor: this.floor,
      terms: encodeFloat64(this.terms),
      count: this.count,
      head: this.head,
      sum: storeNumber(this.sum),
      previous: storeNumber(this.previous),
      sinceResum: this.sinceResum,
    };
  }

  /** A local scale rebuilt from a parsed `snapshot()` (lengths checked by its schema). */
  static restore(snapshot: ParsedLocalScaleSnapshot): LocalScale {
    const scale = new LocalScale(snapshot.mode, snapshot.window, snapshot.floor);
    scale.terms.set(snapshot.terms);
    scale.count = snapshot.count;
    scale.head = snapshot.head;
    scale.sum = snapshot.sum;
    scale.previous = snapshot.previous;
    scale.sinceResum = snapshot.sinceResum;
    return scale;
  }

  private push(term: number): void {
    const size = this.terms.length;
    if (this.count === size) this.sum -= this.terms[this.head] as number;
    else this.count++;
    this.terms[this.head] = term;
    this.sum += term;
    this.head = this.head + 1 === size ? 0 : this.head + 1;
    // Re-add from scratch now and then so the running sum cannot drift.
    if (++this.sinceResum >= 4 * size) {
      this.sinceResum = 0;
      let s = 0;
      for (let i = 0; i < this.count; i++) s += this.terms[i] as number;
      this.sum = s;
    }
  }
}
