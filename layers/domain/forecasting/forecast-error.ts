import { quantileKey } from "../config.js";
import type { ForecastErrorSummary, ResourceForecast } from "../forecast.js";

/**
 * Forecast error for the feedback loop: pinball loss per quantile, accumulated into
 * `ForecastErrorSummary` values that add up across users, shards and runs, and read back as the
 * weighted quantile loss (wQL) and the 80 % interval coverage.
 *
 * wQL follows the project's definition (issue 3): Σ over q ∈ {0.1,…,0.9} of Σ 2·pinball_q,
 * divided by (9 · Σ|y|), pooled over every scored point.
 */

/** The quantile levels wQL is computed over. */
export const WQL_LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

/**
 * Pinball (quantile) loss of predicting `predicted` for the `level` quantile when `actual` happened.
 *
 * @returns level·(y − q) when y ≥ q, else (1 − level)·(q − y); always ≥ 0
 */
export function pinballLoss(actual: number, predicted: number, level: number): number {
  return actual >= predicted ? level * (actual - predicted) : (1 - level) * (predicted - actual);
}

/** A summary with nothing scored. */
export function emptyErrorSummary(): ForecastErrorSummary {
  return {
    pinballSum: 0,
    absActualSum: 0,
    quantileCount: WQL_LEVELS.length,
    points: 0,
    covered80: 0,
  };
}

/**
 * Scores one resource's forecast against what happened.
 *
 * @param forecast the forecast; its quantiles must include the wQL levels 0.1…0.9
 * @param actuals one value per forecast step, oldest first; NaN (not yet arrived or missing) is
 *   skipped; may be shorter than the forecast
 * @returns the error over the steps with an actual value
 * @throws RangeError when a wQL level is absent from the forecast
 */
export function scoreForecast(
  forecast: ResourceForecast,
  actuals: readonly number[],
): ForecastErrorSummary {
  const rows = WQL_LEVELS.map((level) => {
    const row = forecast.quantiles[quantileKey(level)];
    if (!row) {
      throw new RangeError(
        `Forecast has no quantile ${quantileKey(level)}; scoring needs ${WQL_LEVELS.join(", ")}.`,
      );
    }
    return { level, row };
  });
  const low = rows[0]?.row ?? [];
  const high = rows[rows.length - 1]?.row ?? [];
  let pinballSum = 0;
  let absActualSum = 0;
  let points = 0;
  let covered80 = 0;
  const steps = Math.min(actuals.length, ...rows.map((r) => r.row.length));
  for (let step = 0; step < steps; step++) {
    const actual = actuals[step] as number;
    if (!Number.isFinite(actual)) continue;
    points++;
    absActualSum += Math.abs(actual);
    for (const { level, row } of rows)
      pinballSum += 2 * pinballLoss(actual, row[step] as number, level);
    if (actual >= (low[step] as number) && actual <= (high[step] as number)) covered80++;
  }
  return { pinballSum, absActualSum, quantileCount: WQL_LEVELS.length, points, covered80 };
}

/**
 * Adds two summaries. Should their quantile counts differ, `b`'s pinball sum is rescaled to
 * `a`'s count, so the wQL of the sum stays Σ(pinball/count) / Σ|y| over both.
 */
export function addErrorSummaries(
  a: ForecastErrorSummary,
  b: ForecastErrorSummary,
): ForecastErrorSummary {
  if (b.points === 0 && b.pinballSum === 0) return a;
  if (a.points === 0 && a.pinballSum === 0) return b;
  const rescale = a.quantileCount === b.quantileCount ? 1 : a.quantileCount / b.quantileCount;
  return {
    pinballSum: a.pinballSum + b.pinballSum * rescale,
    absActualSum: a.absActualSum + b.absActualSum,
    quantileCount: a.quantileCount,
    points: a.points + b.points,
    covered80: a.covered80 + b.covered80,
  };
}

/** Adds `summary` into `totals[key]` (creating it), returning `totals`. */
export function accumulateError(
  totals: Record<string, ForecastErrorSummary>,
  key: string,
  summary: ForecastErrorSummary,
): Record<string, ForecastErrorSummary> {
  totals[key] = addErrorSummaries(totals[key] ?? emptyErrorSummary(), summary);
  return totals;
}

/** The sum of every summary in a per-group record. */
export function totalError(
  byGroup: Readonly<Record<string, ForecastErrorSummary>>,
): ForecastErrorSummary {
  return Object.values(byGroup).reduce(addErrorSummaries, emptyErrorSummary());
}

/**
 * Weighted quantile loss: pinballSum / (quantileCount · absActualSum).
 *
 * @returns the wQL (0 is perfect), or undefined when nothing was scored or every actual was 0,
 *   where the measure has no scale
 */
export function weightedQuantileLoss(summary: ForecastErrorSummary): number | undefined {
  if (summary.points === 0 || summary.absActualSum <= 0 || summary.quantileCount <= 0) {
    return undefined;
  }
  return summary.pinballSum / (summary.quantileCount * summary.absActualSum);
}

/** Share of scored actuals within [q0.1, q0.9]; undefined when nothing was scored. */
export function coverage80(summary: ForecastErrorSummary): number | undefined {
  return summary.points === 0 ? undefined : summary.covered80 / summary.points;
}

/**
 * Id of a forecast run: the window end as 12-digit zero-padded epoch seconds, so run ids sort by
 * time as strings (the same layout as the store's time keys).
 */
export function forecastRunId(windowEndSeconds: number): string {
  return Math.floor(windowEndSeconds).toString().padStart(12, "0");
}
