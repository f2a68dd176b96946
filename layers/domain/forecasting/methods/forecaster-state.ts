import { toFieldIssues } from "../../config.js";
import { ValidationError } from "../../errors.js";
import { ConformalForecaster } from "./conformal.js";
import { CrostonForecaster } from "./croston.js";
import { EnsembleForecaster } from "./ensemble-forecaster.js";
import { EtsForecaster } from "./ets.js";
import {
  FORECASTER_STATE_VERSION,
  type ForecasterSnapshot,
  type ForecasterState,
  ForecasterStateSchema,
  forecasterState,
  type ParsedForecasterState,
  type ParsedSnapshot,
  type SeriesHistory,
  type SnapshotForecaster,
  type StateHeader,
} from "./forecaster-snapshot.js";
import type { FitContext, QuantileForecast } from "./method.js";
import { checkOrigin } from "./method-inputs.js";
import { SeasonalNaiveForecaster } from "./seasonal-naive-method.js";

/**
 * Resuming a fitted per-series forecaster from its saved state, without refitting — how the
 * product forecasts a user whose model was fitted earlier (issue 3, "Incremental use").
 *
 * Life cycle:
 * 1. Fit (retrain flow): `shaperMethod().fit(series, context)`, then per series
 *    `fitted.forSeries(i).state()` — a versioned JSON document (forecaster-snapshot.ts) whose
 *    `originSeconds` says up to when observations were absorbed (the training end).
 * 2. Each forecast run: `forecastFromState(saved, history)` with the user's latest history (values
 *    on its time grid): it restores the forecaster, feeds it the values from `originSeconds` to
 *    the history's end (values before are ignored — already absorbed; a gap, including one before
 *    the history's first value, is missing data), forecasts from the end, and returns the new
 *    state to store in place of the old. The ETS, Croston and conformal recursions continue as if
 *    the forecaster had never stopped: the forecasts equal those of the original forecaster
 *    advanced to the same origin (tested to 1e-9; they are in fact bit-identical).
 * 3. A state this code cannot read — another `stateVersion`, a malformed or foreign document —
 *    throws ValidationError naming the field: the caller then refits the series from scratch.
 *
 * Only the seasonal-naive model reads history before its origin (its window of
 * `historyPoints` steps); its state keeps the latest value of each seasonal slot, which is all
 * its point forecast needs. See seasonal-naive-method.ts for what that means for its own
 * (uncalibrated) quantiles.
 */

/** A forecast from the end of a history, and the state to keep for the next one. */
export interface ResumedForecast {
  readonly forecast: QuantileForecast;
  /** The forecaster's state after absorbing the history (and having been asked for a forecast). */
  readonly state: ForecasterState;
  /** Epoch seconds of the forecast's first step (the state's new `originSeconds`). */
  readonly originSeconds: number;
}

/**
 * Restores a forecaster from its saved state, feeds it the history's new observations, and
 * forecasts from the history's end.
 *
 * @param state what a forecaster's `state()` returned (parsed JSON), e.g. read from S3
 * @param history the series' latest values on its time grid (`stepSeconds` as the state's)
 * @param horizon steps to forecast @default the state's horizon
 * @returns the forecast, its first step's epoch seconds, and the new state to store
 * @throws ValidationError when the state is malformed or of another version (refit instead),
 *   or the history is not on the state's time grid
 * @example
 * const saved = fitted.forSeries(0).state(); // at fit time; stored with the model
 * const { forecast, state } = forecastFromState(saved, { values, startSeconds, stepSeconds: 300 });
 * forecast.quantiles[8]; // the 0.9 quantile over the horizon; store `state` for the next run
 */
export function forecastFromState(
  state: unknown,
  history: SeriesHistory,
  horizon?: number,
): ResumedForecast {
  const forecaster = restoreForecaster(state, history);
  forecaster.advanceToEnd();
  const forecast = forecaster.forecast(horizon ?? forecaster.horizon);
  return { forecast, state: forecaster.state(), originSeconds: forecaster.originSeconds };
}

/**
 * Rebuilds a forecaster from its saved state over `history`, positioned at the saved origin.
 * Its origins are indices into `history.values`, as a fitted forecaster's are into its series:
 * `advanceTo(i)` absorbs the values before index i (the saved origin's index may lie before the
 * history's start — a gap, fed as missing — or anywhere in it; only values from the saved origin
 * on are read). Without a history it can only forecast from the saved origin.
 *
 * @param state what a forecaster's `state()` returned (parsed JSON)
 * @param history the series' values on its time grid @default no values, starting at the origin
 * @throws ValidationError naming the bad field when the state is malformed, of another
 *   `stateVersion` (the caller should refit), or the history is not on the state's time grid
 * @example
 * const f = restoreForecaster(JSON.parse(text), { values, startSeconds, stepSeconds: 300 });
 * f.advanceToEnd();
 * f.forecast(12).mean; // 12 steps from the history's end
 */
export function restoreForecaster(state: unknown, history?: SeriesHistory): RestoredForecaster {
  return restoreParsedForecaster(parseForecasterState(state), history);
}

/**
 * `restoreForecaster` from a state already checked by `parseForecasterState` (so a caller that
 * read the header does not parse it twice).
 *
 * @param parsed what `parseForecasterState` returned; its arrays are read, never kept or changed
 * @param history as `restoreForecaster`'s
 * @throws ValidationError when the history is not on the state's time grid
 */
export function restoreParsedForecaster(
  parsed: ParsedForecasterState,
  history?: SeriesHistory,
): RestoredForecaster {
  const series = history ?? {
    values: [],
    startSeconds: parsed.originSeconds,
    stepSeconds: parsed.stepSeconds,
  };
  const originIndex = originIndexIn(parsed, series);
  // Seasonal naive members read up to `window` values before the origin: the restored series
  // starts that far back, holding the values their snapshots kept (NaN elsewhere). It is a plain
  // array so that `continueOn` can append later observations to it.
  const lead = windowOf(parsed.forecaster);
  const length = lead + Math.max(0, series.values.length - originIndex);
  const values: number[] = new Array<number>(length).fill(Number.NaN);
  placeSeasonalValues(parsed.forecaster, values, lead);
  for (let k = lead, i = originIndex; k < length; k++, i++) {
    if (i >= 0) values[k] = series.values[i] as number;
  }
  const timeline: SeriesHistory = {
    values,
    startSeconds: parsed.originSeconds - lead * parsed.stepSeconds,
    stepSeconds: parsed.stepSeconds,
  };
  const context = { horizon: parsed.horizon, quantiles: parsed.quantiles };
  const inner = build(parsed.forecaster, timeline, lead, context);
  return new RestoredForecaster(
    parsed.method,
    inner,
    series,
    originIndex,
    lead - originIndex,
    context,
    values,
  );
}

/**
 * Checks a saved state without restoring it.
 *
 * @returns the parsed state (arrays decoded)
 * @throws ValidationError as `restoreForecaster`
 */
export function parseForecasterState(state: unknown): ParsedForecasterState {
  const version =
    typeof state === "object" && state !== null
      ? (state as { stateVersion?: unknown }).stateVersion
      : undefined;
  if (version !== FORECASTER_STATE_VERSION) {
    const found = version === undefined ? "missing" : JSON.stringify(version);
    throw new ValidationError(
      `Cannot restore the forecaster: stateVersion is ${found}; this code reads version ${FORECASTER_STATE_VERSION} only. Refit the series from scratch (and store the new state).`,
      [{ field: "stateVersion", message: `is ${found}; expected ${FORECASTER_STATE_VERSION}` }],
    );
  }
  const result = ForecasterStateSchema.safeParse(state);
  if (!result.success) {
    const issues = toFieldIssues(result.error);
    throw new ValidationError(
      `Cannot restore the forecaster: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Expected the state() JSON of a version-${FORECASTER_STATE_VERSION} forecaster; refit the series from scratch.`,
      issues,
    );
  }
  return result.data;
}

/** A restored forecaster over a caller's history (see `restoreForecaster`). */
export class RestoredForecaster implements SnapshotForecaster {
  private position: number;
  private history: SeriesHistory;
  private offset: number;

  /**
   * @param method the saved method's name
   * @param inner the restored forecaster tree, over the internal timeline
   * @param history the caller's history
   * @param origin index in `history` of the saved origin
   * @param offset internal index − history index
   * @param timeline the internal series `inner` reads, when `continueOn` may extend it
   */
  constructor(
    readonly method: string,
    private readonly inner: SnapshotForecaster,
    history: SeriesHistory,
    origin: number,
    offset: number,
    private readonly context: Pick<FitContext, "horizon" | "quantiles">,
    private readonly timeline?: number[],
  ) {
    this.history = history;
    this.position = origin;
    this.offset = offset;
  }

  /**
   * Moves the forecaster onto a later history of its series, as if it had been saved and
   * restored over it: `restoreForecaster(f.state(), history)` and `f.continueOn(history)` then
   * forecast alike, without encoding, decoding or rebuilding anything. Only the values from the
   * current origin on are read (a gap before the history's start is missing data).
   *
   * @param history the series' values on its time grid
   * @returns false, leaving the forecaster as it was, when it cannot continue: it was not
   *   restored over an extensible series, or has not absorbed all of its current history
   * @throws ValidationError when the history is not on the forecaster's time grid (unchanged)
   */
  continueOn(history: SeriesHistory): boolean {
    const timeline = this.timeline;
    const internalOrigin = this.position + this.offset;
    if (timeline === undefined || internalOrigin !== timeline.length) return false;
    const originIndex = originIndexIn(
      { originSeconds: this.originSeconds, stepSeconds: this.stepSeconds },
      history,
    );
    for (let i = originIndex; i < history.values.length; i++) {
      timeline.push(i >= 0 ? (history.values[i] as number) : Number.NaN);
    }
    this.history = history;
    this.position = originIndex;
    this.offset = internalOrigin - originIndex;
    return true;
  }

  /** Steps in the internal series it reads (what `continueOn` extends). */
  get seriesLength(): number {
    return this.timeline?.length ?? this.history.values.length;
  }

  /** Index in the history of the first observation not yet absorbed (may be < 0: a gap). */
  get origin(): number {
    return this.position;
  }

  /** Epoch seconds of the first observation not yet absorbed: where a forecast starts. */
  get originSeconds(): number {
    return this.history.startSeconds + this.position * this.history.stepSeconds;
  }

  get stepSeconds(): number {
    return this.history.stepSeconds;
  }

  /** Longest horizon it forecasts, in steps (the fit context's). */
  get horizon(): number {
    return this.context.horizon;
  }

  /** Quantile levels of its forecasts. */
  get quantiles(): readonly number[] {
    return this.context.quantiles;
  }

  /**
   * Absorbs the history's values before index `origin`.
   *
   * @throws ValidationError when `origin` moves backwards or past the history's end
   */
  advanceTo(origin: number): void {
    checkOrigin(this.method, origin, this.position, this.history.values.length);
    this.inner.advanceTo(origin + this.offset);
    this.position = origin;
  }

  /** Absorbs every value of the history not yet absorbed (none when it ends before the origin). */
  advanceToEnd(): void {
    const end = this.history.values.length;
    if (end > this.position) this.advanceTo(end);
  }

  forecast(horizon: number): QuantileForecast {
    return this.inner.forecast(horizon);
  }

  snapshot(): ForecasterSnapshot {
    return this.inner.snapshot();
  }

  stateHeader(): StateHeader {
    return this.inner.stateHeader();
  }

  state(): ForecasterState {
    return forecasterState(this.method, this.inner);
  }
}

/** Index in `history` of the state's origin; throws when the history is on another grid. */
function originIndexIn(
  state: Pick<ParsedForecasterState, "originSeconds" | "stepSeconds">,
  history: SeriesHistory,
): number {
  const issues: { field: string; message: string }[] = [];
  if (history.stepSeconds !== state.stepSeconds) {
    issues.push({
      field: "history.stepSeconds",
      message: `is ${history.stepSeconds}; expected the state's ${state.stepSeconds}`,
    });
  }
  const steps = (state.originSeconds - history.startSeconds) / state.stepSeconds;
  const index = Math.round(steps);
  if (!Number.isFinite(history.startSeconds) || Math.abs(steps - index) > 1e-9) {
    issues.push({
      field: "history.startSeconds",
      message: `is ${history.startSeconds}, not on the state's grid (origin ${state.originSeconds}, step ${state.stepSeconds} s)`,
    });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `Cannot resume the forecaster on this history: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Pass the series at the step it was fitted with, aligned to its time grid, or refit.`,
      issues,
    );
  }
  return index;
}

/** Steps before the origin any seasonal-naive member reads (0 without one). */
function windowOf(snapshot: ParsedSnapshot): number {
  switch (snapshot.kind) {
    case "seasonal-naive":
      return snapshot.window;
    case "ensemble":
      return Math.max(0, ...snapshot.members.map(windowOf));
    case "conformal":
      return windowOf(snapshot.inner);
    default:
      return 0;
  }
}

/** Writes each seasonal-naive member's kept values at their positions before `origin`. */
function placeSeasonalValues(snapshot: ParsedSnapshot, values: number[], origin: number) {
  switch (snapshot.kind) {
    case "seasonal-naive":
      snapshot.ages.forEach((age, i) => {
        values[origin - age] = snapshot.values[i] as number;
      });
      return;
    case "ensemble":
      for (const member of snapshot.members) placeSeasonalValues(member, values, origin);
      return;
    case "conformal":
      placeSeasonalValues(snapshot.inner, values, origin);
      return;
    default:
      return;
  }
}

function build(
  snapshot: ParsedSnapshot,
  series: SeriesHistory,
  origin: number,
  context: Pick<FitContext, "horizon" | "quantiles">,
): SnapshotForecaster {
  switch (snapshot.kind) {
    case "ets":
      return EtsForecaster.restore(snapshot, series, origin, context);
    case "croston":
      return CrostonForecaster.restore(snapshot, series, origin, context);
    case "seasonal-naive":
      return SeasonalNaiveForecaster.restore(snapshot, series, origin, context);
    case "ensemble":
      return new EnsembleForecaster(
        snapshot.members.map((member) => build(member, series, origin, context)),
        snapshot.combination,
      );
    case "conformal":
      return ConformalForecaster.restore(
        snapshot,
        series,
        build(snapshot.inner, series, origin, context),
        origin,
        context,
      );
  }
}
