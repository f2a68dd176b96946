import type { GlobalModelOptions } from "../../../../../../layers/domain/forecasting/methods/global/training.js";
import type {
  FitContext,
  SeriesInput,
} from "../../../../../../layers/domain/forecasting/methods/method.js";
import { syntheticSeries } from "../../../../../fixtures/synthetic-series.js";

/**
 * Small synthetic multi-series data for the global model's tests (made up here, from the shared
 * synthetic-series fixture): hourly steps, a daily season of 24, two tiers whose series differ
 * in size by 10×, so cohort scales are distinguishable.
 */

export const DAY_STEPS = 24;
export const LEVELS = [0.1, 0.5, 0.9] as const;

export function trainingSeries(count = 6, days = 12): SeriesInput[] {
  return Array.from({ length: count }, (_, i) => {
    const premium = i % 2 === 0;
    const level = premium ? 1000 : 100;
    const values = syntheticSeries({
      length: days * DAY_STEPS,
      daySteps: DAY_STEPS,
      level,
      dailyAmplitude: 0.4 * level,
      noise: () => 0.05 * level,
      seed: 100 + i,
    });
    return {
      id: `s${i}`,
      values,
      startSeconds: 1_700_000_000,
      stepSeconds: 3600,
      features: { tier: premium ? "premium" : "free" },
    };
  });
}

export function fitContext(
  series: readonly SeriesInput[],
  overrides: Partial<FitContext> = {},
): FitContext {
  return {
    seasonLength: DAY_STEPS,
    horizon: 4,
    quantiles: [...LEVELS],
    trainEnd: series.map((s) => Math.floor(s.values.length * 0.75)),
    seed: 42,
    ...overrides,
  };
}

/** A small, quick network and budget: trains in well under a second. */
export const QUICK: GlobalModelOptions = {
  hiddenSizes: [16],
  recentLags: 12,
  batchSize: 32,
  maxSteps: 150,
  learningRate: 0.01,
};
