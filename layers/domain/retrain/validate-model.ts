import { quantileKey } from "../config.js";
import type { ForecastErrorSummary } from "../forecast.js";
import {
  addErrorSummaries,
  coverage80,
  emptyErrorSummary,
  scoreForecast,
  WQL_LEVELS,
  weightedQuantileLoss,
} from "../forecasting/forecast-error.js";
import { forecastRollingOrigins } from "../forecasting/series-model.js";
import type { ModelMetrics } from "../model-registry.js";
import { rollingOriginWindows } from "./backtest.js";
import type { ModelParameters } from "./model-parameters.js";

/**
 * Validation: the candidate and the current model forecast the same held-out steps of the same
 * series — the most recent `holdout` steps, which training never saw — from rolling origins
 * every `horizon` steps, each seeing the history the forecast stage would send. Both are scored
 * with the forecast stage's own scoring code (`scoreForecast`: wQL over 0.1…0.9, coverage80).
 */

export interface HoldoutOptions {
  /** Steps forecast per origin (config.horizonIntervals). */
  readonly horizon: number;
  /** Steps of history the model sees (config.historyIntervals). */
  readonly historyLength: number;
  /** Most recent steps held out (config.retrain.holdoutIntervals). */
  readonly holdout: number;
}

/**
 * Scores a model's forecasts over the hold-out of each series.
 *
 * @param series each oldest first, NaN = missing, ending at the end of the hold-out
 * @param parameters the model (kind and settings)
 * @param options horizon, history window and hold-out length, in steps
 * @returns wQL (0 when every actual was zero: there is nothing to be wrong about), coverage80,
 *   series with a scored step and points scored
 */
export async function scoreOnHoldout(
  series: readonly (readonly number[])[],
  parameters: ModelParameters,
  options: HoldoutOptions,
): Promise<ModelMetrics> {
  return scoreRollingOrigins(series, parameters, {
    horizon: options.horizon,
    historyLength: options.historyLength,
    firstOrigin: (target) => target.length - options.holdout,
  });
}

export interface RollingScoreOptions {
  /** Steps forecast per origin. */
  readonly horizon: number;
  /** Steps of history the model sees (config.historyIntervals). */
  readonly historyLength: number;
  /** The first origin of a series, as an index (origins follow every `horizon` steps). */
  readonly firstOrigin: (target: readonly number[]) => number;
}

/**
 * Scores a model's forecasts from rolling origins (rollingOriginWindows) with the forecast
 * stage's scoring code; the shaper method is fitted once before the first origin and moves
 * forward incrementally, as it does run after run in production.
 *
 * @returns wQL (0 when every actual was zero), coverage80, series with a scored step, points
 */
export async function scoreRollingOrigins(
  series: readonly (readonly number[])[],
  parameters: ModelParameters,
  options: RollingScoreOptions,
): Promise<ModelMetrics> {
  const windows = series.map((target) =>
    rollingOriginWindows(target, {
      horizon: options.horizon,
      historyLength: options.historyLength,
      firstOrigin: options.firstOrigin(target),
      end: target.length,
    }),
  );
  const forecasts = await forecastRollingOrigins(
    series,
    windows.map((ws) => ws.map((w) => w.origin)),
    parameters,
    {
      predictionLength: options.horizon,
      quantiles: WQL_LEVELS,
      historyLength: options.historyLength,
    },
  );
  let total: ForecastErrorSummary = emptyErrorSummary();
  let scoredSeries = 0;
  windows.forEach((ws, i) => {
    let scored = false;
    ws.forEach((window, k) => {
      const forecast = forecasts[i]?.[k]?.forecast;
      if (!forecast) return;
      const summary = scoreForecast(
        {
          mean: forecast.mean,
          quantiles: Object.fromEntries(
            WQL_LEVELS.map((level, r) => [quantileKey(level), forecast.quantiles[r] ?? []]),
          ),
        },
        window.actuals,
      );
      if (summary.points > 0) scored = true;
      total = addErrorSummaries(total, summary);
    });
    if (scored) scoredSeries++;
  });
  return {
    wql: weightedQuantileLoss(total) ?? 0,
    coverage80: coverage80(total) ?? 0,
    series: scoredSeries,
    points: total.points,
  };
}

/** The validation verdict and why. */
export interface PromotionDecision {
  readonly promote: boolean;
  readonly reason: string;
}

/**
 * Promote only a candidate whose hold-out wQL is at least `minRelativeImprovement` better than
 * the current model's: candidate ≤ current × (1 − minRelativeImprovement).
 *
 * @param candidate the candidate's hold-out metrics
 * @param current the current model's hold-out metrics, on the same steps
 * @param minRelativeImprovement config.retrain.minRelativeImprovement (0.02 = 2 %)
 * @returns the decision and a reason naming both numbers
 * @example
 * decidePromotion({ wql: 0.2, ... }, { wql: 0.3, ... }, 0.02).promote; // true
 */
export function decidePromotion(
  candidate: ModelMetrics,
  current: ModelMetrics,
  minRelativeImprovement: number,
): PromotionDecision {
  const c = fmt(candidate.wql);
  const k = fmt(current.wql);
  const coverage = `coverage80 ${fmt(candidate.coverage80)} vs ${fmt(current.coverage80)}`;
  if (candidate.points === 0) {
    return {
      promote: false,
      reason: `no held-out points to validate on (${candidate.series} series); the candidate is not promoted without evidence`,
    };
  }
  const bar = current.wql * (1 - minRelativeImprovement);
  if (candidate.wql <= bar && !(current.wql === 0 && candidate.wql === 0)) {
    const gain = current.wql > 0 ? (1 - candidate.wql / current.wql) * 100 : 0;
    return {
      promote: true,
      reason: `candidate wQL ${c} ≤ ${fmt(bar)} (current ${k} less ${minRelativeImprovement * 100}%): ${fmt(gain)}% better on ${candidate.points} held-out points of ${candidate.series} series; ${coverage}`,
    };
  }
  return {
    promote: false,
    reason: `candidate wQL ${c} is not below ${fmt(bar)} (current ${k} less ${minRelativeImprovement * 100}%) on ${candidate.points} held-out points of ${candidate.series} series; ${coverage}`,
  };
}

function fmt(x: number): string {
  return Number(x.toFixed(4)).toString();
}
