/**
 * The contract every forecasting method implements (seasonal naive, ETS, Croston/SBA/TSB, the
 * global model, the per-series selection "shaper"), and what the backtest harness, the model
 * server, the in-function fallback and the retrain flow call.
 *
 * Life cycle, mirroring the backtest protocol of issue 3:
 * 1. `fit` once on the training part of every series (values before `trainEnd[i]`); a global
 *    method learns its weights here, a local method fits per-series parameters.
 * 2. `forSeries(i)` gives a forecaster positioned at that series' training end.
 * 3. `advanceTo(origin)` feeds it the observations up to (not including) `origin` — only forward,
 *    incrementally (no refit); then `forecast(horizon)` answers from that origin.
 * A forecaster never reads values at or after the origin it was advanced to.
 */

/** One regular series: values oldest first, NaN where data is missing (never glued over). */
export interface SeriesInput {
  readonly id: string;
  readonly values: ArrayLike<number>;
  /** Epoch seconds of values[0]. */
  readonly startSeconds: number;
  readonly stepSeconds: number;
  /** Static features global methods may use (tier, cohort/app group, resource kind). */
  readonly features?: Readonly<Record<string, string>>;
}

export interface FitContext {
  /** Steps in one day (the daily season), e.g. 288 at 5-minute steps, 24 hourly, 1,440 per minute. */
  readonly seasonLength: number;
  /** Steps in one week, when weekly seasonality may be used (history permitting). */
  readonly weeklySeasonLength?: number;
  /** Longest horizon that will be asked for, in steps. */
  readonly horizon: number;
  /** Quantile levels `forecast` must return, ascending, in (0, 1). */
  readonly quantiles: readonly number[];
  /** Per series, the exclusive end index of its training part (defaults to its length). */
  readonly trainEnd?: readonly number[];
  /** Seed for anything random (initialisation, sampling): same seed, same forecasts. */
  readonly seed: number;
}

/** A forecast from one origin: one value per step ahead. */
export interface QuantileForecast {
  readonly mean: Float64Array;
  /** One array per level of `FitContext.quantiles`, same order; monotone in the level at every step. */
  readonly quantiles: readonly Float64Array[];
}

export interface SeriesForecaster {
  /** Feeds the observations up to (not including) `origin`; `origin` never decreases. */
  advanceTo(origin: number): void;
  /** Forecast of the next `horizon` steps from the current origin (horizon ≤ FitContext.horizon). */
  forecast(horizon: number): QuantileForecast;
  /**
   * Versioned, JSON-serialisable state, enough to resume without refitting. The per-series
   * forecasters write forecaster-snapshot.ts's `ForecasterState`, which `restoreForecaster` and
   * `forecastFromState` (forecaster-state.ts) resume; the global model writes its own.
   */
  state?(): unknown;
}

export interface FittedMethod {
  readonly name: string;
  forSeries(index: number): SeriesForecaster;
}

export interface ForecastMethod {
  /** Stable name used in reports and the model registry, e.g. "ets", "seasonal-naive", "shaper". */
  readonly name: string;
  fit(series: readonly SeriesInput[], context: FitContext): FittedMethod | Promise<FittedMethod>;
}
