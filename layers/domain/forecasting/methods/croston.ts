import {
  type CrostonSnapshot,
  type ForecasterState,
  forecasterState,
  headerAt,
  type ParsedCrostonSnapshot,
  type SeriesHistory,
  type SnapshotForecaster,
  type StateHeader,
} from "./forecaster-snapshot.js";
import type { LocalForecastMethod } from "./local-method.js";
import type { FitContext, FittedMethod, QuantileForecast, SeriesInput } from "./method.js";
import { checkFitInputs, checkHorizon, checkOrigin } from "./method-inputs.js";
import { normalQuantile } from "./normal-quantile.js";
import { fromWorking } from "./output-value.js";
import type { PointForecaster } from "./point-forecaster.js";
import { profileSeries } from "./series-profile.js";
import { storeNumber } from "./state-codec.js";

/**
 * Intermittent-demand methods, for series that are mostly zeros (many users ask rarely):
 *
 * - "croston" (Croston 1972): smooths the non-zero demand sizes z and the intervals p between
 *   them separately, each updated only when a demand occurs; forecast z / p per step.
 * - "sba" (Syntetos & Boylan 2005): Croston's forecast × (1 − α_p / 2), removing its upward bias.
 * - "tsb" (Teunter, Syntetos & Babai 2011): smooths the demand probability π every period (so
 *   the forecast decays while no demand comes, which Croston's never does) and the size z on
 *   demand; forecast π · z.
 *
 * Smoothing constants are chosen per series from a small grid by in-sample one-step mean
 * squared error (α_z, α_p ∈ {0.05, 0.1, 0.2, 0.3} for Croston/SBA — statsforecast's
 * CrostonOptimized searches [0.1, 0.3]; α ∈ {0.05, 0.1, 0.2, 0.3}, β ∈ {0.02, 0.05, 0.1, 0.2,
 * 0.3} for TSB). With `variant: "auto"` the variant with the lowest in-sample error is used.
 *
 * A demand is any non-zero observed value. A missing value (NaN) is skipped: it neither counts
 * towards the interval since the last demand nor moves π (whether a demand happened is unknown).
 * Forecasts are flat over the horizon, clamped at 0 for non-negative data; quantiles are
 * Gaussian around the forecast with the in-sample one-step error's spread (wrap in
 * `conformalMethod` for calibrated ones). The per-series selection ("shaper") offers all three
 * variants as candidates on intermittent series (see series-profile.ts for "mostly zeros").
 */

export type CrostonVariant = "croston" | "sba" | "tsb";

export interface CrostonOptions {
  /** Name in reports. @default "croston" for "auto", else the variant */
  readonly name?: string;
  /** Which method; "auto" picks per series by in-sample error. @default "auto" */
  readonly variant?: CrostonVariant | "auto";
}

export interface CrostonParameters {
  readonly variant: CrostonVariant;
  /** Smoothing of the demand size. */
  readonly alphaSize: number;
  /** Smoothing of the interval (Croston, SBA) or of the demand probability (TSB). */
  readonly alphaRate: number;
}

/** The recursions' state, in working units. */
interface CrostonState {
  /** Smoothed demand size. */
  size: number;
  /** Smoothed interval between demands (Croston, SBA). */
  interval: number;
  /** Observed periods since the last demand. */
  sinceDemand: number;
  /** Smoothed demand probability (TSB). */
  probability: number;
  /** Whether a demand has been seen (before that, the forecast is 0). */
  started: boolean;
}

const SIZE_GRID = [0.05, 0.1, 0.2, 0.3] as const;
const INTERVAL_GRID = [0.05, 0.1, 0.2, 0.3] as const;
const PROBABILITY_GRID = [0.02, 0.05, 0.1, 0.2, 0.3] as const;

interface SeriesModel {
  readonly parameters: CrostonParameters;
  readonly state: CrostonState;
  readonly sigma2: number;
  readonly unit: number;
  readonly nonNegative: boolean;
  readonly origin: number;
}

/**
 * Creates a Croston-family method.
 *
 * @param options variant ("croston", "sba", "tsb" or "auto") and name
 * @example
 * const fitted = crostonMethod({ variant: "tsb" }).fit(series, { seasonLength: 288, horizon: 12, quantiles: [0.5], seed: 0 });
 * fitted.forSeries(0).forecast(12).mean; // flat: π·z at every step
 */
export function crostonMethod(options: CrostonOptions = {}): LocalForecastMethod {
  const variant = options.variant ?? "auto";
  const name = options.name ?? (variant === "auto" ? "croston" : variant);
  return {
    name,
    fit(series: readonly SeriesInput[], context: FitContext): FittedMethod {
      const ends = checkFitInputs(name, series, context);
      const models = series.map((s, i) => fitCroston(s.values, ends[i] as number, variant));
      return {
        name,
        forSeries(index: number): CrostonForecaster {
          const model = models[index];
          const s = series[index];
          if (model === undefined || s === undefined) {
            throw new RangeError(`Series index ${index} is outside [0, ${series.length - 1}].`);
          }
          return new CrostonForecaster(name, s, model, context);
        },
      };
    },
  };
}

function fitCroston(
  values: ArrayLike<number>,
  trainEnd: number,
  variant: CrostonVariant | "auto",
): SeriesModel {
  const profile = profileSeries(values, trainEnd);
  const unit = profile.magnitude > 0 ? profile.magnitude : 1;
  const y = new Float64Array(trainEnd);
  for (let t = 0; t < trainEnd; t++) {
    const v = values[t] as number;
    y[t] = Number.isFinite(v) ? v / unit : Number.NaN;
  }
  const demandShare = profile.observed > 0 ? 1 - profile.zeros / profile.observed : 0;
  const variants: CrostonVariant[] = variant === "auto" ? ["croston", "sba", "tsb"] : [variant];
  let best: { parameters: CrostonParameters; mse: number } | undefined;
  for (const v of variants) {
    const rateGrid = v === "tsb" ? PROBABILITY_GRID : INTERVAL_GRID;
    for (const alphaSize of SIZE_GRID) {
      for (const alphaRate of rateGrid) {
        const parameters = { variant: v, alphaSize, alphaRate };
        const mse = inSampleError(y, parameters, demandShare);
        if (best === undefined || mse < best.mse) best = { parameters, mse };
      }
    }
  }
  const parameters = best?.parameters ?? { variant: "tsb", alphaSize: 0.1, alphaRate: 0.1 };
  const state = initialState(demandShare);
  for (let t = 0; t < trainEnd; t++) update(parameters, state, y[t] as number);
  const mse = best?.mse ?? 0;
  return {
    parameters,
    state,
    sigma2: Number.isFinite(mse) ? mse : 0,
    unit,
    nonNegative: profile.nonNegative,
    origin: trainEnd,
  };
}

function initialState(demandShare: number): CrostonState {
  return { size: 0, interval: 1, sinceDemand: 0, probability: demandShare, started: false };
}

/** Mean squared one-step error over observed values, from the first demand on. */
function inSampleError(
  y: Float64Array,
  parameters: CrostonParameters,
  demandShare: number,
): number {
  const state = initialState(demandShare);
  let sum = 0;
  let count = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t] as number;
    if (Number.isNaN(v)) continue;
    if (state.started) {
      const e = v - pointOf(parameters, state);
      sum += e * e;
      count++;
    }
    update(parameters, state, v);
  }
  return count > 0 ? sum / count : Number.POSITIVE_INFINITY;
}

/** Feeds one value (NaN = missing: skipped). */
function update(parameters: CrostonParameters, state: CrostonState, value: number): void {
  if (!Number.isFinite(value)) return;
  const demand = value !== 0;
  if (parameters.variant === "tsb") {
    if (demand) {
      state.size = state.started ? state.size + parameters.alphaSize * (value - state.size) : value;
      state.started = true;
    }
    state.probability += parameters.alphaRate * ((demand ? 1 : 0) - state.probability);
    return;
  }
  state.sinceDemand++;
  if (!demand) return;
  if (state.started) {
    state.size += parameters.alphaSize * (value - state.size);
    state.interval += parameters.alphaRate * (state.sinceDemand - state.interval);
  } else {
    state.size = value;
    state.interval = state.sinceDemand;
    state.started = true;
  }
  state.sinceDemand = 0;
}

/** The per-step forecast (flat over the horizon), in working units. */
function pointOf(parameters: CrostonParameters, state: CrostonState): number {
  if (!state.started) return 0;
  switch (parameters.variant) {
    case "tsb":
      return state.probability * state.size;
    case "croston":
      return state.size / state.interval;
    case "sba":
      return (1 - parameters.alphaRate / 2) * (state.size / state.interval);
  }
}

/** A fitted Croston-family model positioned at an origin of its series. */
export class CrostonForecaster implements PointForecaster, SnapshotForecaster {
  private readonly parameters: CrostonParameters;
  private readonly current: CrostonState;
  private readonly sigma2: number;
  private readonly unit: number;
  private readonly nonNegative: boolean;
  private origin: number;
  private readonly values: ArrayLike<number>;

  /**
   * @param name the method's name (errors, state)
   * @param series the series it reads, from `model.origin` on
   * @param model parameters and state at `model.origin`
   * @param context horizon and quantile levels
   */
  constructor(
    private readonly name: string,
    private readonly series: SeriesHistory,
    model: SeriesModel,
    private readonly context: Pick<FitContext, "horizon" | "quantiles">,
  ) {
    this.values = series.values;
    this.parameters = model.parameters;
    this.current = { ...model.state };
    this.sigma2 = model.sigma2;
    this.unit = model.unit;
    this.nonNegative = model.nonNegative;
    this.origin = model.origin;
  }

  /** The variant and constants chosen for this series. */
  get chosen(): CrostonParameters {
    return this.parameters;
  }

  advanceTo(origin: number): void {
    checkOrigin(this.name, origin, this.origin, this.values.length);
    for (let t = this.origin; t < origin; t++) {
      update(this.parameters, this.current, (this.values[t] as number) / this.unit);
    }
    this.origin = origin;
  }

  pointForecastInto(out: Float64Array, horizon: number): void {
    out.fill(this.toValue(pointOf(this.parameters, this.current)), 0, horizon);
  }

  forecast(horizon: number): QuantileForecast {
    checkHorizon(this.name, horizon, this.context.horizon);
    const point = pointOf(this.parameters, this.current);
    const sd = Math.sqrt(this.sigma2);
    const mean = new Float64Array(horizon).fill(this.toValue(point));
    const quantiles = this.context.quantiles.map((level) =>
      new Float64Array(horizon).fill(this.toValue(point + normalQuantile(level) * sd)),
    );
    return { mean, quantiles };
  }

  snapshot(): CrostonSnapshot {
    const c = this.current;
    return {
      kind: "croston",
      name: this.name,
      parameters: { ...this.parameters },
      unit: this.unit,
      nonNegative: this.nonNegative,
      sigma2: this.sigma2,
      size: storeNumber(c.size),
      interval: storeNumber(c.interval),
      sinceDemand: c.sinceDemand,
      probability: storeNumber(c.probability),
      started: c.started,
    };
  }

  stateHeader(): StateHeader {
    return headerAt(this.series, this.origin, this.context);
  }

  state(): ForecasterState {
    return forecasterState(this.name, this);
  }

  /**
   * A forecaster resumed from a parsed snapshot, positioned at `origin` of `series`.
   *
   * @param snapshot the parsed "croston" component
   * @param series the series it reads from `origin` on
   * @param origin index in `series` of the first value not yet absorbed
   * @param context horizon and quantile levels
   */
  static restore(
    snapshot: ParsedCrostonSnapshot,
    series: SeriesHistory,
    origin: number,
    context: Pick<FitContext, "horizon" | "quantiles">,
  ): CrostonForecaster {
    return new CrostonForecaster(
      snapshot.name,
      series,
      {
        parameters: snapshot.parameters,
        state: {
          size: snapshot.size,
          interval: snapshot.interval,
          sinceDemand: snapshot.sinceDemand,
          probability: snapshot.probability,
          started: snapshot.started,
        },
        sigma2: snapshot.sigma2,
        unit: snapshot.unit,
        nonNegative: snapshot.nonNegative,
        origin,
      },
      context,
    );
  }

  private toValue(working: number): number {
    return fromWorking(working, this.unit, this.nonNegative);
  }
}
