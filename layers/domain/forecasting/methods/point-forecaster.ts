import type { SeriesForecaster } from "./method.js";

/**
 * An optional capability of a `SeriesForecaster`: writing its point (mean) forecast into a
 * caller's buffer. The conformal wrapper and the per-series selection ask for thousands of point
 * forecasts while they calibrate; this lets them do it without allocating quantile arrays each
 * time. Forecasters that lack it are asked for `forecast(h).mean` instead.
 */
export interface PointForecaster extends SeriesForecaster {
  /**
   * Writes the mean forecast of the next `horizon` steps from the current origin into
   * `out[0..horizon)`, exactly `forecast(horizon).mean`.
   */
  pointForecastInto(out: Float64Array, horizon: number): void;
}

function isPointForecaster(forecaster: SeriesForecaster): forecaster is PointForecaster {
  return typeof (forecaster as Partial<PointForecaster>).pointForecastInto === "function";
}

/**
 * The point forecast of any forecaster, written into `out[0..horizon)`.
 *
 * @param forecaster positioned at the origin to forecast from
 * @param out buffer of at least `horizon` values
 * @param horizon steps ahead
 */
export function pointForecastInto(
  forecaster: SeriesForecaster,
  out: Float64Array,
  horizon: number,
): void {
  if (isPointForecaster(forecaster)) {
    forecaster.pointForecastInto(out, horizon);
    return;
  }
  const mean = forecaster.forecast(horizon).mean;
  for (let h = 0; h < horizon; h++) out[h] = mean[h] as number;
}
