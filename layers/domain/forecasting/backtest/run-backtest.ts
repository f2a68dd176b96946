import { ValidationError } from "../../errors.js";
import type { ForecastMethod, SeriesForecaster, SeriesInput } from "../methods/method.js";
import { BACKTEST_QUANTILES, BacktestScorer, type ModelReport } from "./backtest-scorer.js";
import type { BacktestSplit } from "./backtest-split.js";

/**
 * The rolling-origin backtest of one forecasting method (issue 3's protocol), run once per horizon
 * — the main one and each byHorizon one — so that every byHorizon entry is exactly what a run with
 * `--horizon h` reports:
 * 1. `fit` on every series' fitting part (values before `split.trainEnd[i]`) with
 *    `FitContext.horizon` = h;
 * 2. per series, one forecaster advances through the origins (every h steps from
 *    `split.testStart[i]`, each with a full window after it) and forecasts h steps at each;
 * 3. the scores of all horizons become one `ModelReport`.
 *
 * No future data can leak: the method is given copies of the series in which every value it may
 * not yet see is NaN. Values are revealed as time moves on — before the origins at time T are
 * forecast, every series shows its values stamped before T (and its whole fitting part), none at
 * or after T. A method that reads `series.values` lazily (as the contract asks) therefore sees
 * exactly what it may use, including cross-series information for a global model.
 */

export interface BacktestOptions {
  /** The main horizon, steps. */
  readonly horizon: number;
  /** Horizons also reported under byHorizon, steps (e.g. 3, 12, 288). */
  readonly byHorizon: readonly number[];
  /** Steps in one day. */
  readonly seasonLength: number;
  /** Steps in one week, offered to methods that can use weekly seasonality. */
  readonly weeklySeasonLength?: number;
  /** Seed passed to the method. */
  readonly seed: number;
  /** A monotonic clock in seconds (e.g. performance.now() / 1000), for the timings only. */
  readonly now: () => number;
  /** Called after each origin with the origins done and the total (over all horizons). */
  readonly onProgress?: (done: number, total: number) => void;
}

interface OriginEvent {
  readonly series: number;
  readonly origin: number;
  /** Epoch seconds of the origin. */
  readonly time: number;
}

/**
 * Backtests one method on the given series.
 *
 * @param method the method under test
 * @param series the series, full length (history and scored part)
 * @param split where each series' fitting part ends and its scored part starts
 * @param options horizons, season, seed, clock
 * @returns the method's report (metrics, byHorizon with each horizon's timings, perSeries,
 *   coldStart); its fitSeconds and predictSeconds add up every horizon's runs
 * @throws ValidationError when the method returns a forecast of the wrong shape or with NaN
 * @example
 * const series = (await readTrace("nab", dir)).series;
 * const report = await runBacktest(seasonalNaiveMethod(), series, holdoutSplit(series), {
 *   horizon: 12, byHorizon: [3, 12, 288], seasonLength: 288, seed: 1, now: () => performance.now() / 1000,
 * });
 */
export async function runBacktest(
  method: ForecastMethod,
  series: readonly SeriesInput[],
  split: BacktestSplit,
  options: BacktestOptions,
): Promise<ModelReport> {
  const scorer = new BacktestScorer(series, split, options);
  const plans = scorer.horizons
    .map((h) => ({ horizon: h, events: originEvents(series, scorer, h) }))
    .filter((plan) => plan.events.length > 0);
  const total = plans.reduce((n, plan) => n + plan.events.length, 0);
  const timing: Record<string, { fitSeconds: number; predictSeconds: number }> = {};
  let done = 0;
  for (const { horizon, events } of plans) {
    const guarded = series.map((s, i) => revealedCopy(s, split.trainEnd[i] as number));
    const shown = Int32Array.from(split.trainEnd);
    const fitStart = options.now();
    const fitted = await method.fit(guarded, {
      seasonLength: options.seasonLength,
      ...(options.weeklySeasonLength === undefined
        ? {}
        : { weeklySeasonLength: options.weeklySeasonLength }),
      horizon,
      quantiles: BACKTEST_QUANTILES,
      trainEnd: split.trainEnd,
      seed: options.seed,
    });
    const fitSeconds = options.now() - fitStart;

    const forecasters: (SeriesForecaster | undefined)[] = new Array(series.length);
    let predictSeconds = 0;
    let revealedTime = Number.NEGATIVE_INFINITY;
    for (const event of events) {
      if (event.time > revealedTime) {
        revealUpTo(event.time, series, guarded, shown);
        revealedTime = event.time;
      }
      const i = event.series;
      const started = options.now();
      let forecaster = forecasters[i];
      if (!forecaster) {
        forecaster = fitted.forSeries(i);
        forecasters[i] = forecaster;
      }
      forecaster.advanceTo(event.origin);
      const forecast = forecaster.forecast(horizon);
      predictSeconds += options.now() - started;
      if (forecast.quantiles.length !== BACKTEST_QUANTILES.length) {
        throw new ValidationError(
          `Method ${method.name} returned ${forecast.quantiles.length} quantile rows for series ${series[i]?.id}; expected ${BACKTEST_QUANTILES.length} (the levels it was fitted with).`,
        );
      }
      scorer.record(i, horizon, event.origin, forecast.quantiles);
      done++;
      options.onProgress?.(done, total);
    }
    timing[String(horizon)] = { fitSeconds, predictSeconds };
  }
  const runs = Object.values(timing);
  return scorer.report(
    method.name,
    {
      fitSeconds: runs.reduce((t, r) => t + r.fitSeconds, 0),
      predictSeconds: runs.reduce((t, r) => t + r.predictSeconds, 0),
    },
    { timingByHorizon: timing },
  );
}

/** Every (series, origin) of one horizon, in time order (then series order). */
function originEvents(
  series: readonly SeriesInput[],
  scorer: BacktestScorer,
  horizon: number,
): OriginEvent[] {
  const events: OriginEvent[] = [];
  series.forEach((s, i) => {
    for (const origin of scorer.origins(i, horizon)) {
      events.push({ series: i, origin, time: s.startSeconds + origin * s.stepSeconds });
    }
  });
  return events.sort((a, b) => a.time - b.time || a.series - b.series || a.origin - b.origin);
}

/** A copy of the series showing only values[0, shownUpTo); the rest NaN until revealed. */
function revealedCopy(s: SeriesInput, shownUpTo: number): SeriesInput {
  const values = new Float64Array(s.values.length).fill(Number.NaN);
  for (let t = 0; t < shownUpTo; t++) values[t] = s.values[t] as number;
  return { ...s, values };
}

/** Shows, in every series, the values stamped before `timeSeconds`. */
function revealUpTo(
  timeSeconds: number,
  series: readonly SeriesInput[],
  guarded: readonly SeriesInput[],
  shown: Int32Array,
): void {
  series.forEach((s, j) => {
    const upTo = Math.min(
      Math.max(Math.ceil((timeSeconds - s.startSeconds) / s.stepSeconds), 0),
      s.values.length,
    );
    const from = shown[j] as number;
    if (upTo <= from) return;
    const target = (guarded[j] as SeriesInput).values as Float64Array;
    for (let t = from; t < upTo; t++) target[t] = s.values[t] as number;
    shown[j] = upTo;
  });
}
