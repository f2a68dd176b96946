import type {
  FitContext,
  SeriesInput,
} from "../../../../../layers/domain/forecasting/methods/method.js";

/** Synthetic series for the forecasting-method tests (no trace data: every value is computed). */

export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** A deterministic pseudo-random stream in [0, 1) (mulberry32), so the tests never flake. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a seeded stream (Box–Muller). */
export function gaussian(seed: number): () => number {
  const next = random(seed);
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** A series input over `values`, five-minute steps from epoch 0. */
export function seriesOf(values: ArrayLike<number>, id = "s"): SeriesInput {
  return { id, values: Float64Array.from(values), startSeconds: 0, stepSeconds: 300 };
}

/** A fit context with the deciles, seed 1, and the given season and horizon. */
export function contextOf(
  seasonLength: number,
  horizon: number,
  extra: Partial<FitContext> = {},
): FitContext {
  return { seasonLength, horizon, quantiles: DECILES, seed: 1, ...extra };
}

/** `n` values of a daily-shaped pattern (period `m`) around `level`, plus N(0, noise²) noise. */
export function seasonalSeries(n: number, m: number, level: number, noise: number, seed = 1) {
  const draw = gaussian(seed);
  return Array.from(
    { length: n },
    (_, t) => level + 0.3 * level * Math.sin((2 * Math.PI * t) / m) + noise * draw(),
  );
}
