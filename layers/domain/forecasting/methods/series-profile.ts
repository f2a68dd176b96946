/**
 * A one-pass summary of a series' training part that the methods use to pick their working
 * scale, decide whether forecasts are clamped at zero, and tell intermittent series apart.
 */

/** Share of zeros among observed values above which a series counts as intermittent. */
export const INTERMITTENT_ZERO_SHARE = 0.5;

/** Share of consecutive observed pairs with equal values above which a series is step-shaped. */
export const STEP_REPEAT_SHARE = 0.9;

export interface SeriesProfile {
  /** Finite values in the part. */
  readonly observed: number;
  /** Observed values equal to 0. */
  readonly zeros: number;
  /** True when no observed value is negative (demand): forecasts are then clamped at 0. */
  readonly nonNegative: boolean;
  /** Largest |value| observed; 0 when nothing (or only zeros) was observed. */
  readonly magnitude: number;
  /** Mean |value| over observed values; 0 when nothing was observed. */
  readonly meanAbs: number;
  /** Index of the last observed value, or −1. */
  readonly lastObserved: number;
  /** Pairs of consecutive observed values (no gap between them). */
  readonly pairs: number;
  /** Those pairs whose two values are exactly equal. */
  readonly repeats: number;
  /** Pairs whose first value is not 0 (a level that may or may not be held). */
  readonly levelPairs: number;
  /** Those pairs whose two values are exactly equal (the level held). */
  readonly levelRepeats: number;
}

/**
 * Summarises `values[0..end)`; non-finite values are missing.
 *
 * @param values the series, oldest first
 * @param end exclusive end index
 */
export function profileSeries(values: ArrayLike<number>, end: number): SeriesProfile {
  let observed = 0;
  let zeros = 0;
  let negative = false;
  let magnitude = 0;
  let lastObserved = -1;
  let pairs = 0;
  let repeats = 0;
  let levelPairs = 0;
  let levelRepeats = 0;
  for (let t = 0; t < end; t++) {
    const v = values[t] as number;
    if (!Number.isFinite(v)) continue;
    if (t > 0 && lastObserved === t - 1) {
      const before = values[t - 1] as number;
      pairs++;
      if (before === v) repeats++;
      if (before !== 0) {
        levelPairs++;
        if (before === v) levelRepeats++;
      }
    }
    observed++;
    lastObserved = t;
    if (v === 0) zeros++;
    else if (v < 0) negative = true;
    const a = Math.abs(v);
    if (a > magnitude) magnitude = a;
  }
  // Mean |value| in a second pass over the scaled values, so huge inputs cannot overflow.
  let sumScaled = 0;
  if (magnitude > 0) {
    for (let t = 0; t < end; t++) {
      const v = values[t] as number;
      if (Number.isFinite(v)) sumScaled += Math.abs(v) / magnitude;
    }
  }
  return {
    observed,
    zeros,
    nonNegative: !negative,
    magnitude,
    meanAbs: observed > 0 ? (sumScaled / observed) * magnitude : 0,
    lastObserved,
    pairs,
    repeats,
    levelPairs,
    levelRepeats,
  };
}

/**
 * Whether a series is intermittent ("mostly zeros"): more than half of its observed values are
 * exactly 0, the regime where Croston-type methods beat smoothing of the raw series (Syntetos &
 * Boylan 2005 classify by average inter-demand interval > 1.32; a zero share above 50 % means an
 * average interval above 2, well inside that class).
 */
export function isIntermittent(profile: SeriesProfile): boolean {
  return profile.observed > 0 && profile.zeros > INTERMITTENT_ZERO_SHARE * profile.observed;
}

/**
 * Whether a series is step-shaped: more than 90 % of its consecutive observed pairs repeat the
 * value exactly, and a nonzero value, when there is one, is held more often than not — a
 * piecewise-constant series (allocations, requested capacity; a constant series in the limit)
 * that holds a level, zero or not, and jumps now and then. Its next value most likely equals its
 * last one exactly, which only the naive forecast predicts; smoothing is wrong on every flat step
 * after a jump. (A mostly-zero series with spikes also repeats, but its spikes fall back to zero
 * rather than hold: the second condition leaves it to the intermittent methods.)
 */
export function isStepShaped(profile: SeriesProfile): boolean {
  return (
    profile.pairs > 0 &&
    profile.repeats > STEP_REPEAT_SHARE * profile.pairs &&
    profile.levelRepeats >= 0.5 * profile.levelPairs
  );
}
