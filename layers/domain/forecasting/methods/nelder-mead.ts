/**
 * A compact Nelder–Mead simplex minimiser over the unit box [0, 1]^d (Nelder & Mead 1965, with
 * the standard coefficients: reflection 1, expansion 2, contraction ½, shrink ½; Lagarias et al.
 * 1998 for the order of tests). Callers map their bounded parameters onto the unit box, so every
 * trial point is simply clamped to it: the box is the parameter bounds.
 *
 * Derivative-free suits the exponential-smoothing likelihoods it serves (few parameters, cheap
 * but non-smooth objective at the bounds). Lean by design: one allocation per call, a budget of
 * evaluations, a relative tolerance on the spread of the simplex values for early stopping, and
 * optional restarts from the best point (a collapsed simplex is the method's known failure mode).
 */

export interface NelderMeadOptions {
  /** Objective evaluations allowed in total (restarts included). @default 200 */
  readonly maxEvaluations?: number;
  /** Stop when (worst − best) ≤ tolerance · (|best| + 1e-12). @default 1e-7 */
  readonly tolerance?: number;
  /** Edge length of the starting simplex, in unit-box coordinates. @default 0.1 */
  readonly initialStep?: number;
  /** Fresh simplices started from the best point after convergence. @default 1 */
  readonly restarts?: number;
}

export interface Minimum {
  /** The best point found, in [0, 1]^d. */
  readonly x: Float64Array;
  readonly value: number;
  readonly evaluations: number;
}

/**
 * Minimises `objective` over [0, 1]^d starting from `start`. Non-finite objective values count as
 * +∞ (the point is rejected), so an objective may return Infinity for an inadmissible point.
 *
 * @param objective called with a point of the unit box; must not keep the array it is given
 * @param start the starting point (clamped to the box); its length is d ≥ 1
 * @param options budget, tolerance, simplex size, restarts
 * @returns the best point seen and its value
 */
export function minimizeNelderMead(
  objective: (x: Float64Array) => number,
  start: ArrayLike<number>,
  options: NelderMeadOptions = {},
): Minimum {
  const d = start.length;
  const maxEvaluations = options.maxEvaluations ?? 200;
  const tolerance = options.tolerance ?? 1e-7;
  const step = options.initialStep ?? 0.1;
  const restarts = options.restarts ?? 1;

  const n = d + 1;
  const simplex = new Float64Array(n * d);
  const values = new Float64Array(n);
  // centroid, reflected, expanded, contracted, best-so-far: one block.
  const work = new Float64Array(5 * d);
  const centroid = work.subarray(0, d);
  const reflected = work.subarray(d, 2 * d);
  const expanded = work.subarray(2 * d, 3 * d);
  const contracted = work.subarray(3 * d, 4 * d);
  const best = work.subarray(4 * d, 5 * d);
  let bestValue = Number.POSITIVE_INFINITY;
  let evaluations = 0;

  const evaluate = (x: Float64Array): number => {
    evaluations++;
    const v = objective(x);
    const value = Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
    if (value < bestValue) {
      bestValue = value;
      best.set(x);
    }
    return value;
  };
  const vertex = (i: number) => simplex.subarray(i * d, (i + 1) * d);

  for (let j = 0; j < d; j++) best[j] = clamp01(start[j] as number);
  for (let round = 0; round <= restarts && evaluations < maxEvaluations; round++) {
    // Starting simplex around the best point: one step along each axis, inward at a bound.
    for (let i = 0; i < n; i++) {
      const v = vertex(i);
      v.set(best);
      if (i > 0) {
        const j = i - 1;
        const x = v[j] as number;
        v[j] = x + step <= 1 ? x + step : x - step;
      }
    }
    for (let i = 0; i < n; i++) values[i] = evaluate(vertex(i));

    while (evaluations < maxEvaluations) {
      // Order: find best, worst and second worst (no sort needed for the standard step).
      let lo = 0;
      let hi = 0;
      for (let i = 1; i < n; i++) {
        if ((values[i] as number) < (values[lo] as number)) lo = i;
        if ((values[i] as number) > (values[hi] as number)) hi = i;
      }
      let nh = lo;
      for (let i = 0; i < n; i++) {
        if (i !== hi && (values[i] as number) > (values[nh] as number)) nh = i;
      }
      const fLo = values[lo] as number;
      const fHi = values[hi] as number;
      if (fHi - fLo <= tolerance * (Math.abs(fLo) + 1e-12)) break;

      centroid.fill(0);
      for (let i = 0; i < n; i++) {
        if (i === hi) continue;
        const v = vertex(i);
        for (let j = 0; j < d; j++) centroid[j] = (centroid[j] as number) + (v[j] as number) / d;
      }
      const worst = vertex(hi);
      for (let j = 0; j < d; j++) {
        const c = centroid[j] as number;
        reflected[j] = clamp01(c + (c - (worst[j] as number)));
      }
      const fR = evaluate(reflected);
      if (fR < fLo) {
        for (let j = 0; j < d; j++) {
          const c = centroid[j] as number;
          expanded[j] = clamp01(c + 2 * ((reflected[j] as number) - c));
        }
        const fE = evaluate(expanded);
        if (fE < fR) {
          worst.set(expanded);
          values[hi] = fE;
        } else {
          worst.set(reflected);
          values[hi] = fR;
        }
        continue;
      }
      if (fR < (values[nh] as number)) {
        worst.set(reflected);
        values[hi] = fR;
        continue;
      }
      // Contract: outside when the reflection improved on the worst, inside otherwise.
      const outside = fR < fHi;
      for (let j = 0; j < d; j++) {
        const c = centroid[j] as number;
        const toward = outside ? (reflected[j] as number) : (worst[j] as number);
        contracted[j] = c + 0.5 * (toward - c);
      }
      const fC = evaluate(contracted);
      if (fC < (outside ? fR : fHi)) {
        worst.set(contracted);
        values[hi] = fC;
        continue;
      }
      // Shrink towards the best vertex.
      const keep = vertex(lo);
      for (let i = 0; i < n; i++) {
        if (i === lo) continue;
        const v = vertex(i);
        for (let j = 0; j < d; j++) {
          const k = keep[j] as number;
          v[j] = k + 0.5 * ((v[j] as number) - k);
        }
        values[i] = evaluate(v);
      }
    }
  }
  return { x: Float64Array.from(best), value: bestValue, evaluations };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0.5 : x;
}
