import type { FittedMethod, SeriesForecaster } from "./methods/method.js";
import { shaperMethod } from "./methods/selection.js";
import { forecastSeasonalNaive } from "./seasonal-naive.js";

/**
 * The forecasting model the product serves, as one function the model server, the in-function
 * fallback, the local runtime and the retrain flow all call: given each series' recent history,
 * forecast `predictionLength` steps with the requested quantiles.
 *
 * Two kinds, named by the artefact the retrain flow writes (model-artifact.ts):
 * - "shaper": the per-series selection with conformal intervals (methods/selection.ts), fitted on
 *   the history of the call — all series of a call together, so the default option is chosen on
 *   the whole batch;
 * - "seasonal-naive": the floor, with a trained interval scale (seasonal-naive.ts).
 * A series the shaper method cannot fit (it throws) is answered by seasonal naive, so a batch
 * always gets an answer; the result says which series fell back.
 */

/** What a model of each kind is configured with (the artefact's fields). */
export type ModelSettings = SeasonalNaiveSettings | ShaperSettings;

export interface SeasonalNaiveSettings {
  readonly kind: "seasonal-naive";
  /** Steps per season. */
  readonly seasonLength: number;
  /** Multiplies every interval offset (1 = intervals as estimated in sample). */
  readonly intervalScale: number;
  /** Seasonal differences needed before their distribution is used. */
  readonly minSeasonalErrors?: number;
}

export interface ShaperSettings {
  readonly kind: "shaper";
  /** Steps per day (the daily season). */
  readonly seasonLength: number;
  /** Steps per week; weekly candidates are offered to series holding two weeks. Absent: none. */
  readonly weeklySeasonLength?: number;
  /** How much a series' own best option must beat the batch default (selection.ts). */
  readonly switchMargin?: number;
}

/** One series to forecast: history oldest first, NaN where missing. */
export interface SeriesHistory {
  readonly values: ArrayLike<number>;
}

export interface SeriesModelRequest {
  /** Steps to forecast. */
  readonly predictionLength: number;
  /** Quantile levels wanted, in (0, 1), any order. */
  readonly quantiles: readonly number[];
  /** Seed for anything random in fitting. @default 1 */
  readonly seed?: number;
}

export interface SeriesModelForecast {
  readonly mean: number[];
  /** One row per requested level, in the request's order; monotone in the level at every step. */
  readonly quantiles: number[][];
  /** Set when the series was answered by seasonal naive because the shaper method failed. */
  readonly fallbackReason?: string;
}

/**
 * Forecasts every series with the model `settings` describes.
 *
 * @param series the histories (each oldest first, NaN = missing; may be empty)
 * @param settings the model
 * @param request prediction length (steps) and quantile levels
 * @returns one forecast per series, in order; never NaN, never negative
 * @example
 * const [f] = await forecastWithModel([{ values: history }], { kind: "shaper", seasonLength: 288 }, { predictionLength: 12, quantiles: [0.1, 0.5, 0.9] });
 */
export async function forecastWithModel(
  series: readonly SeriesHistory[],
  settings: ModelSettings,
  request: SeriesModelRequest,
): Promise<SeriesModelForecast[]> {
  if (settings.kind === "seasonal-naive" || series.length === 0) {
    return series.map((s) => seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request));
  }
  const levels = sortedLevels(request.quantiles);
  const rowOf = request.quantiles.map((q) => levels.indexOf(q));
  let fitted: FittedMethod;
  try {
    fitted = await fitShaper(
      series.map((s) => s.values),
      undefined,
      settings,
      request.predictionLength,
      levels,
      request.seed ?? 1,
    );
  } catch (error) {
    const reason = `the shaper method could not be fitted (${(error as Error).message})`;
    return series.map((s) => ({
      ...seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request),
      fallbackReason: reason,
    }));
  }
  return series.map((s, i) => {
    try {
      const forecaster = fitted.forSeries(i);
      forecaster.advanceTo(s.values.length);
      return rowsOf(forecaster, request.predictionLength, rowOf);
    } catch (error) {
      return {
        ...seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request),
        fallbackReason: `the shaper method failed on this series (${(error as Error).message})`,
      };
    }
  });
}

/** One forecast of a rolling-origin run: where it starts and what it said. */
export interface OriginForecast {
  /** Index in the series of the first forecast step. */
  readonly origin: number;
  readonly forecast: SeriesModelForecast;
}

export interface RollingOriginRequest extends SeriesModelRequest {
  /** Most steps of history the model sees before the first origin (the forecast stage's window). */
  readonly historyLength: number;
}

/**
 * Forecasts each series from several origins, as the forecast stage meets them run after run:
 * "shaper" is fitted once on the `historyLength` steps before a series' first origin and then
 * moves forward through the origins incrementally (what resuming from stored state does);
 * "seasonal-naive" forecasts each origin from the `historyLength` steps before it.
 *
 * @param series the series, oldest first, NaN = missing
 * @param origins per series, the origins (indices, ascending) to forecast from
 * @param settings the model
 * @param request prediction length, quantile levels, history window, in steps
 * @returns per series, one forecast per origin, in order
 */
export async function forecastRollingOrigins(
  series: readonly ArrayLike<number>[],
  origins: readonly (readonly number[])[],
  settings: ModelSettings,
  request: RollingOriginRequest,
): Promise<OriginForecast[][]> {
  if (settings.kind === "seasonal-naive") {
    return series.map((values, i) =>
      (origins[i] ?? []).map((origin) => ({
        origin,
        forecast: seasonalNaiveForecast(
          Array.prototype.slice.call(values, Math.max(0, origin - request.historyLength), origin),
          settings,
          request,
        ),
      })),
    );
  }
  const levels = sortedLevels(request.quantiles);
  const rowOf = request.quantiles.map((q) => levels.indexOf(q));
  const offsets = series.map((_, i) => Math.max(0, (origins[i]?.[0] ?? 0) - request.historyLength));
  const views = series.map((values, i) => Float64Array.from(values).subarray(offsets[i]));
  const fitted = await fitShaper(
    views,
    origins.map((o, i) => (o[0] ?? 0) - (offsets[i] as number)),
    settings,
    request.predictionLength,
    levels,
    request.seed ?? 1,
  );
  return series.map((_, i) => {
    const forecaster = fitted.forSeries(i);
    return (origins[i] ?? []).map((origin) => {
      forecaster.advanceTo(origin - (offsets[i] as number));
      return { origin, forecast: rowsOf(forecaster, request.predictionLength, rowOf) };
    });
  });
}

function sortedLevels(quantiles: readonly number[]): number[] {
  return [...new Set(quantiles)].sort((a, b) => a - b);
}

async function fitShaper(
  values: readonly ArrayLike<number>[],
  trainEnd: readonly number[] | undefined,
  settings: ShaperSettings,
  horizon: number,
  levels: readonly number[],
  seed: number,
): Promise<FittedMethod> {
  return await shaperMethod(
    settings.switchMargin === undefined ? {} : { switchMargin: settings.switchMargin },
  ).fit(
    values.map((v, i) => ({
      id: String(i),
      values: v instanceof Float64Array ? v : Float64Array.from(v),
      startSeconds: 0,
      stepSeconds: 1,
    })),
    {
      seasonLength: settings.seasonLength,
      ...(settings.weeklySeasonLength === undefined
        ? {}
        : { weeklySeasonLength: settings.weeklySeasonLength }),
      horizon,
      quantiles: levels,
      ...(trainEnd === undefined ? {} : { trainEnd }),
      seed,
    },
  );
}

function rowsOf(
  forecaster: SeriesForecaster,
  predictionLength: number,
  rowOf: readonly number[],
): SeriesModelForecast {
  const out = forecaster.forecast(predictionLength);
  const mean = Array.from(out.mean, clean);
  return { mean, quantiles: rowOf.map((row) => Array.from(out.quantiles[row] ?? [], clean)) };
}

/** Non-negative; a NaN (which the method's tests rule out) becomes 0 rather than reach a plan. */
function clean(v: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this must give 0.
  return v > 0 ? v : 0;
}

function seasonalNaiveOf(settings: ModelSettings): SeasonalNaiveSettings {
  return settings.kind === "seasonal-naive"
    ? settings
    : { kind: "seasonal-naive", seasonLength: settings.seasonLength, intervalScale: 1 };
}

function seasonalNaiveForecast(
  values: ArrayLike<number>,
  settings: SeasonalNaiveSettings,
  request: SeriesModelRequest,
): SeriesModelForecast {
  const forecast = forecastSeasonalNaive(Array.from(values), {
    predictionLength: request.predictionLength,
    seasonLength: settings.seasonLength,
    quantiles: request.quantiles,
    intervalScale: settings.intervalScale,
    ...(settings.minSeasonalErrors === undefined
      ? {}
      : { minSeasonalErrors: settings.minSeasonalErrors }),
  });
  return {
    mean: [...forecast.mean],
    quantiles: request.quantiles.map((q) => [...(forecast.quantiles[String(q)] ?? [])]),
  };
}
