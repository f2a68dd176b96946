/**
 * A one-pass summary of a series' training part that the methods use to pick their working
 * scale, decide whether forecasts are clamped at zero, and tell intermittent series apart.
 */

/** Share of zeros among observed values above which a series counts as intermittent. */
export const INTERMITTENT_ZERO_SHARE = 0.5;

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
  for (let t = 0; t < end; t++) {
    const v = values[t] as number;
    if (!Number.isFinite(v)) continue;
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
