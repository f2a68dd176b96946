import { ValidationError } from "../errors.js";
import {
  parseForecasterState,
  type RestoredForecaster,
  restoreParsedForecaster,
} from "./methods/forecaster-state.js";
import type { FittedMethod, QuantileForecast, SeriesForecaster } from "./methods/method.js";
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
 *
 * Incremental use: given the series' time grid, each shaper forecast comes with a `state` (the
 * forecaster's versioned JSON state, methods/forecaster-state.ts, tagged with the model version).
 * Given back with the next call, it resumes the forecaster over the new observations instead of
 * refitting; a state of another model version, quantile set or horizon, or one that cannot be
 * read, is set aside and the series refitted (the result says why).
 *
 * Warm use (`WarmForecasters`): a caller that keeps the state objects it is given and hands the
 * very same object back next time (the in-process model of a replay) can let the model keep each
 * resumed forecaster alive between calls and continue it instead of decoding and restoring the
 * state — with the same forecasts and states, bit for bit. The states of kept forecasters are
 * written only when read (`lazyState`): one given back after its forecaster was continued, never
 * having been read, cannot be restored and its series is refitted.
 */

/**
 * The live forecasters behind the states a model handed out, like the memory of a warm endpoint
 * container. An entry is keyed by the identity of the state object it was saved as: only that
 * exact object (never a copy, an older state or another process's) finds it, and it is consumed
 * on use, so a forecaster taken from here always stands at its state's origin. A state that finds
 * nothing — a JSON round trip, a retried call, a state saved elsewhere — is decoded and restored
 * as usual. Entries go with their state objects (a WeakMap): keeping one costs nothing once the
 * caller drops the state.
 */
export class WarmForecasters {
  private readonly live = new WeakMap<object, RestoredForecaster>();
  private taken = 0;

  /** States answered by a live forecaster so far (for tests and diagnostics). */
  get hits(): number {
    return this.taken;
  }

  /** Whether `keep` would keep this forecaster. */
  keeps(forecaster: RestoredForecaster): boolean {
    // A forecaster's series grows by a step per call: past this, the next call restores afresh
    // (from a compact state) rather than keep an ever longer series.
    return forecaster.seriesLength <= MAX_WARM_SERIES_LENGTH;
  }

  /** Remembers `forecaster` as the live form of `state` (the object handed out). */
  keep(state: object, forecaster: RestoredForecaster): void {
    if (this.keeps(forecaster)) this.live.set(state, forecaster);
  }

  /**
   * The live forecaster saved as exactly this state object, removed from the cache. A caller that
   * continues it must `seal` the state first.
   */
  take(state: unknown): RestoredForecaster | undefined {
    if (typeof state !== "object" || state === null) return undefined;
    const found = this.live.get(state);
    if (found) {
      this.live.delete(state);
      this.taken++;
    }
    return found;
  }

  /** Marks a state whose live forecaster is moving on: if lazy and unwritten, it never will be. */
  seal(state: object): void {
    sealLazy.get(state)?.();
  }
}

/** For each lazy state handed out, what seals it (see `lazyState`). */
const sealLazy = new WeakMap<object, () => void>();

/**
 * The state of a forecaster a `WarmForecasters` keeps, with its document written only when read:
 * the next call usually continues the live forecaster and never reads it, and writing it (every
 * error window, base64-encoded) was the largest cost of a warm call. Read before the live
 * forecaster moves on — by JSON.stringify, a store that copies it, a restore — `forecaster` is
 * exactly what `forecaster.state()` gives. Once the live forecaster has been taken to continue,
 * an unwritten document can no longer be written: reading it throws, and a call given this state
 * refits the series (as for any state it cannot read).
 */
function lazyState(tag: string, live: RestoredForecaster): ModelState {
  let document: unknown;
  let sealed = false;
  const state = {
    model: tag,
    originSeconds: live.originSeconds,
    get forecaster(): unknown {
      if (document === undefined) {
        if (sealed) {
          throw new ValidationError(
            "This state's forecaster was continued by a later call before its document was written; it cannot be restored. Refit the series.",
            [{ field: "forecaster", message: "was never written" }],
          );
        }
        document = live.state();
      }
      return document;
    },
  };
  sealLazy.set(state, () => {
    sealed = true;
  });
  return state;
}

/** Longest internal series (steps) a warm forecaster may hold: about 57 days of 5-minute steps. */
const MAX_WARM_SERIES_LENGTH = 16_384;

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
  /**
   * Epoch seconds of values[0] and the step: with them the shaper method returns a state and can
   * resume from one; without, it refits every call and returns none.
   */
  readonly time?: { readonly startSeconds: number; readonly stepSeconds: number };
  /** What this model returned as the series' `state` last time (opaque to callers). */
  readonly state?: unknown;
}

export interface SeriesModelRequest {
  /** Steps to forecast. */
  readonly predictionLength: number;
  /** Quantile levels wanted, in (0, 1), any order. */
  readonly quantiles: readonly number[];
  /** Seed for anything random in fitting. @default 1 */
  readonly seed?: number;
  /**
   * The model's version, written into every state and required of states given back: a state of
   * another version (a retrain promoted a new model) is set aside and the series refitted.
   */
  readonly stateTag?: string;
}

export interface SeriesModelForecast {
  readonly mean: number[];
  /** One row per requested level, in the request's order; monotone in the level at every step. */
  readonly quantiles: number[][];
  /** Set when the series was answered by seasonal naive because the shaper method failed. */
  readonly fallbackReason?: string;
  /** The state to give back with this series next time (shaper with `time` only). */
  readonly state?: ModelState;
  /** "resumed" from the given state, or "fitted" (why the state was not used, if one was given). */
  readonly origin?: { readonly how: "resumed" } | { readonly how: "fitted"; readonly why?: string };
}

/** The state a series carries between calls: the model version and the forecaster's state. */
export interface ModelState {
  readonly model: string;
  /** Where the forecaster stands (its `originSeconds`), readable without reading `forecaster`. */
  readonly originSeconds?: number;
  readonly forecaster: unknown;
}

/**
 * Forecasts every series with the model `settings` describes.
 *
 * @param series the histories (each oldest first, NaN = missing; may be empty)
 * @param settings the model
 * @param request prediction length (steps) and quantile levels
 * @param warm where resumed forecasters are kept alive between calls @default none (every state is
 *   decoded and restored)
 * @returns one forecast per series, in order; never NaN, never negative
 * @example
 * const [f] = await forecastWithModel([{ values: history }], { kind: "shaper", seasonLength: 288 }, { predictionLength: 12, quantiles: [0.1, 0.5, 0.9] });
 */
export async function forecastWithModel(
  series: readonly SeriesHistory[],
  settings: ModelSettings,
  request: SeriesModelRequest,
  warm?: WarmForecasters,
): Promise<SeriesModelForecast[]> {
  if (settings.kind === "seasonal-naive" || series.length === 0) {
    return series.map((s) => seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request));
  }
  const levels = sortedLevels(request.quantiles);
  const rowOf = request.quantiles.map((q) => levels.indexOf(q));
  const tag = request.stateTag ?? "untagged";
  const results: (SeriesModelForecast | undefined)[] = series.map((s) =>
    resumed(s, tag, levels, rowOf, request.predictionLength, warm),
  );
  const toFit = series.flatMap((_, i) => (results[i]?.origin?.how === "resumed" ? [] : [i]));
  if (toFit.length === 0) return results as SeriesModelForecast[];
  let fitted: FittedMethod;
  try {
    fitted = await fitShaper(
      toFit.map((i) => series[i] as SeriesHistory),
      undefined,
      settings,
      request.predictionLength,
      levels,
      request.seed ?? 1,
    );
  } catch (error) {
    const reason = `the shaper method could not be fitted (${(error as Error).message})`;
    for (const i of toFit) {
      const s = series[i] as SeriesHistory;
      results[i] = {
        ...seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request),
        fallbackReason: reason,
      };
    }
    return results as SeriesModelForecast[];
  }
  toFit.forEach((i, k) => {
    const s = series[i] as SeriesHistory;
    const why = results[i]?.origin?.how === "fitted" ? results[i]?.origin : { how: "fitted" };
    try {
      const forecaster = fitted.forSeries(k);
      forecaster.advanceTo(s.values.length);
      const out = rowsOf(forecaster.forecast(request.predictionLength), rowOf);
      const state = s.time ? saveState(forecaster, tag) : undefined;
      results[i] = { ...out, ...(state ? { state } : {}), origin: why as { how: "fitted" } };
    } catch (error) {
      results[i] = {
        ...seasonalNaiveForecast(s.values, seasonalNaiveOf(settings), request),
        fallbackReason: `the shaper method failed on this series (${(error as Error).message})`,
      };
    }
  });
  return results as SeriesModelForecast[];
}

/**
 * The forecast of a series resumed from its state, when it has a usable one; else undefined, or
 * a marker saying why the state was set aside (the series is then refitted).
 */
function resumed(
  s: SeriesHistory,
  tag: string,
  levels: readonly number[],
  rowOf: readonly number[],
  predictionLength: number,
  warm: WarmForecasters | undefined,
): SeriesModelForecast | undefined {
  if (s.state === undefined || !s.time) return undefined;
  const setAside = (why: string): SeriesModelForecast => ({
    mean: [],
    quantiles: [],
    origin: { how: "fitted", why },
  });
  const envelope = s.state as Partial<ModelState> | null;
  if (typeof envelope !== "object" || envelope === null || envelope.model !== tag) {
    return setAside(`the state is of another model (${String(envelope?.model)}, serving ${tag})`);
  }
  const history = { values: s.values, ...s.time };
  const live = warm?.take(envelope);
  if (live) {
    try {
      if (live.horizon >= predictionLength && live.quantiles.join() === levels.join()) {
        // The live forecaster moves on: its state, if still unwritten, can no longer be written.
        warm?.seal(envelope);
        if (live.continueOn(history)) return resumedWith(live, tag, rowOf, predictionLength, warm);
      }
    } catch {
      // Whatever went wrong with the live forecaster, the state itself decides: restore it below.
    }
  }
  try {
    const header = parseForecasterState(envelope.forecaster);
    if (header.horizon < predictionLength) {
      return setAside(`the state forecasts ${header.horizon} steps; ${predictionLength} asked`);
    }
    if (header.quantiles.join() !== levels.join()) {
      return setAside("the state's quantile levels differ from those asked");
    }
    const forecaster = restoreParsedForecaster(header, history);
    return resumedWith(forecaster, tag, rowOf, predictionLength, warm);
  } catch (error) {
    return setAside(`the state could not be resumed (${(error as Error).message})`);
  }
}

/**
 * Feeds a restored (or live) forecaster its history's new values and forecasts from the end, as
 * `forecastFromState` does; with `warm`, keeps it as the live form of the state returned.
 */
function resumedWith(
  forecaster: RestoredForecaster,
  tag: string,
  rowOf: readonly number[],
  predictionLength: number,
  warm: WarmForecasters | undefined,
): SeriesModelForecast {
  forecaster.advanceToEnd();
  const forecast = forecaster.forecast(predictionLength);
  let state: ModelState;
  if (warm?.keeps(forecaster)) {
    state = lazyState(tag, forecaster);
    warm.keep(state, forecaster);
  } else {
    state = { model: tag, originSeconds: forecaster.originSeconds, forecaster: forecaster.state() };
  }
  return { ...rowsOf(forecast, rowOf), state, origin: { how: "resumed" } };
}

/** The forecaster's state, or undefined when it cannot save one (a member without state). */
function saveState(forecaster: SeriesForecaster, tag: string): ModelState | undefined {
  try {
    const state = forecaster.state?.();
    if (state === undefined) return undefined;
    const originSeconds = documentOrigin(state);
    return {
      model: tag,
      ...(originSeconds === undefined ? {} : { originSeconds }),
      forecaster: state,
    };
  } catch {
    return undefined;
  }
}

/**
 * Where a state this model returned stands: the epoch second of the first observation it has not
 * absorbed (its forecasts started there). Resuming reads nothing before it, so a caller may send
 * only the values from there on (and must send the whole history when the answer is not
 * `resumed`). Reads the envelope only; says nothing about whether the state will resume.
 *
 * @param state what the model returned as a series' `state`
 * @returns the origin, or undefined when `state` is not a state of the shaper model
 */
export function modelStateOrigin(state: unknown): number | undefined {
  if (typeof state !== "object" || state === null) return undefined;
  const own = (state as Partial<ModelState>).originSeconds;
  if (typeof own === "number" && Number.isFinite(own)) return own;
  return documentOrigin((state as Partial<ModelState>).forecaster);
}

/** The `originSeconds` of a forecaster's state document, if it has a finite one. */
function documentOrigin(document: unknown): number | undefined {
  if (typeof document !== "object" || document === null) return undefined;
  const origin = (document as { readonly originSeconds?: unknown }).originSeconds;
  return typeof origin === "number" && Number.isFinite(origin) ? origin : undefined;
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
      return { origin, forecast: rowsOf(forecaster.forecast(request.predictionLength), rowOf) };
    });
  });
}

function sortedLevels(quantiles: readonly number[]): number[] {
  return [...new Set(quantiles)].sort((a, b) => a - b);
}

async function fitShaper(
  values: readonly (ArrayLike<number> | SeriesHistory)[],
  trainEnd: readonly number[] | undefined,
  settings: ShaperSettings,
  horizon: number,
  levels: readonly number[],
  seed: number,
): Promise<FittedMethod> {
  return await shaperMethod(
    settings.switchMargin === undefined ? {} : { switchMargin: settings.switchMargin },
  ).fit(
    values.map((v, i) => {
      // Typed arrays have a `values` method: tell them from a SeriesHistory by being array-like.
      const history: SeriesHistory =
        ArrayBuffer.isView(v) || Array.isArray(v)
          ? { values: v as ArrayLike<number> }
          : (v as SeriesHistory);
      return {
        id: String(i),
        values:
          history.values instanceof Float64Array
            ? history.values
            : Float64Array.from(history.values),
        startSeconds: history.time?.startSeconds ?? 0,
        stepSeconds: history.time?.stepSeconds ?? 1,
      };
    }),
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

function rowsOf(out: QuantileForecast, rowOf: readonly number[]): SeriesModelForecast {
  return { mean: cleaned(out.mean), quantiles: rowOf.map((row) => cleaned(out.quantiles[row])) };
}

/** A plain array of the values, each `clean`ed (a loop: `Array.from(typed, fn)` is far slower). */
function cleaned(values: ArrayLike<number> | undefined): number[] {
  const n = values?.length ?? 0;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = clean((values as ArrayLike<number>)[i] as number);
  return out;
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
