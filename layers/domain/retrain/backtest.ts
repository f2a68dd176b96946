/**
 * Rolling-origin windows over one series, as the forecast stage would have met them: at each
 * origin the model sees at most `historyLength` steps before it (the stage's history window, its
 * leading missing steps dropped) and forecasts the next `horizon` steps.
 */

/** One forecast the backtest makes. */
export interface BacktestWindow {
  /** Index of the first forecast step in the series. */
  readonly origin: number;
  /** What the model sees, oldest first (NaN = missing), at most `historyLength` long. */
  readonly history: readonly number[];
  /** What happened, one per forecast step (NaN = missing), at most `horizon` long. */
  readonly actuals: readonly number[];
}

export interface RollingOriginOptions {
  /** Steps forecast at each origin. */
  readonly horizon: number;
  /** Most steps of history the model sees (config.historyIntervals). */
  readonly historyLength: number;
  /** First origin, as an index of the series. */
  readonly firstOrigin: number;
  /** Origins are `firstOrigin + k·horizon` below this index (exclusive end of the scored range). */
  readonly end: number;
}

/**
 * The windows of a rolling-origin backtest: origins every `horizon` steps from `firstOrigin`
 * until `end`, the last window cut at `end`. Windows whose actuals are all missing, or whose
 * history holds no observed value, are left out (nothing to score, or a cold start that no
 * parameter changes).
 *
 * @param target the series, oldest first, NaN = missing
 * @param options horizon, history length and the scored range, in steps
 * @returns the windows, oldest origin first
 */
export function rollingOriginWindows(
  target: readonly number[],
  options: RollingOriginOptions,
): BacktestWindow[] {
  const windows: BacktestWindow[] = [];
  const end = Math.min(options.end, target.length);
  for (let origin = Math.max(1, options.firstOrigin); origin < end; origin += options.horizon) {
    const actuals = target.slice(origin, Math.min(origin + options.horizon, end));
    if (!actuals.some(Number.isFinite)) continue;
    const raw = target.slice(Math.max(0, origin - options.historyLength), origin);
    const first = raw.findIndex(Number.isFinite);
    if (first < 0) continue;
    windows.push({ origin, history: raw.slice(first), actuals });
  }
  return windows;
}
