import type { FitContext, FittedMethod, ForecastMethod, SeriesInput } from "./method.js";

/**
 * A per-series (local) method: it fits each series on its own, synchronously, so callers that
 * know they hold one (tests, the selection) need not await it. Still a `ForecastMethod`.
 */
export interface LocalForecastMethod extends ForecastMethod {
  fit(series: readonly SeriesInput[], context: FitContext): FittedMethod;
}
