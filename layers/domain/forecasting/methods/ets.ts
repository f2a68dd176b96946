import {
  type EtsFit,
  type EtsParameters,
  type EtsSeason,
  type EtsSpec,
  type EtsState,
  type EtsTrend,
  etsForecastInto,
  etsModelName,
  etsUpdate,
  etsVarianceFactorsInto,
  fitEts,
  objectiveSteps,
} from "./ets-model.js";
import {
  type EtsSnapshot,
  type ForecasterState,
  forecasterState,
  headerAt,
  type ParsedEtsSnapshot,
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
import { encodeFloat64, storeNumber } from "./state-codec.js";

/**
 * The "ets" forecasting method: per series, the additive-error exponential smoothing model
 * (see ets-model.ts) with the lowest AICc among the allowed trend/season combinations, fitted on
 * the last `maxFitPoints` values of the training part.
 *
 * - Seasonality: the daily season of the fit context; with `seasonality: "weekly"` the weekly
 *   one where the fit window holds two weeks (else daily); with "auto" both compete by AICc
 *   (which charges a weekly model its m − 1 seasonal states, so it wins only on a strong weekly
 *   pattern); "none" fits non-seasonal models only.
 * - Short series: fewer observations than any model needs → the naive model (α = 1, the last
 *   observed value); no observation at all → the cold-start answer, 0 with zero-width intervals.
 * - Forecasts: the mean path of the model; where the training data is non-negative (demand),
 *   every forecast value is clamped at 0. Quantiles are the model's Gaussian ones,
 *   mean ± z_τ·σ·√v_h (Hyndman et al. 2008, ch. 6); wrap the method in `conformalMethod` for
 *   intervals calibrated on out-of-sample errors, as the product does.
 * - Fit: per model, α, β, γ, φ and the initial level by Nelder–Mead (ets-model.ts) on the last
 *   `maxFitPoints` training values, minimising one-step squared errors (the likelihood) or, with
 *   `criterion: "horizon"`, squared errors over the forecast horizon; the model with the lowest
 *   AICc wins.
 * - Incremental: `advanceTo` feeds the new observations through the fitted recursions, O(new
 *   points), no refit. `state()` is the versioned JSON of forecaster-snapshot.ts (kind "ets"):
 *   parameters, level, trend and the seasonal ring — about 3 KB with a 288-step season;
 *   `restoreForecaster` (forecaster-state.ts) resumes it.
 */

/** A model as a code: error A, then trend (N, A, Ad), then season (N, A). */
export type EtsModelCode = "ANN" | "AAN" | "AAdN" | "ANA" | "AAA" | "AAdA";

export const ETS_MODEL_CODES: readonly EtsModelCode[] = [
  "ANN",
  "AAN",
  "AAdN",
  "ANA",
  "AAA",
  "AAdA",
];

export type EtsSeasonality = "daily" | "weekly" | "auto" | "none";

export interface EtsOptions {
  /** Name in reports and the model registry. @default "ets" */
  readonly name?: string;
  /**
   * Models that compete by AICc; an empty list gives the naive model (α = 1: the last observed
   * value), which the selection offers as a candidate of its own. @default all six of ETS_MODEL_CODES
   */
  readonly models?: readonly EtsModelCode[];
  /** Which seasonal period the seasonal models use. @default "daily" */
  readonly seasonality?: EtsSeasonality;
  /**
   * Most recent training values a model is fitted on; older ones are ignored (the state is
   * initialised at the window's start). @default max(3,000, 6 × the longest period used)
   */
  readonly maxFitPoints?: number;
  /** Objective evaluations per model fit. @default 30 + 30 × free parameters */
  readonly maxEvaluations?: number;
  /**
   * What the parameters minimise: "likelihood" — one-step squared errors (Hyndman et al.'s
   * maximum likelihood); "horizon" — squared errors averaged over steps 1…horizon of the fit
   * context (at up to 6 steps spread over it), which smooths more where noise dominates.
   * Models are compared by AICc either way. @default "likelihood"
   */
  readonly criterion?: "likelihood" | "horizon";
}

/** What `fit` keeps per series: the chosen model and the state at the training end. */
interface SeriesModel {
  readonly spec: EtsSpec;
  readonly parameters: EtsParameters;
  readonly state: EtsState;
  readonly sigma2: number;
  readonly unit: number;
  readonly nonNegative: boolean;
  readonly origin: number;
}

const NAIVE: EtsParameters = { alpha: 1, beta: 0, gamma: 0, phi: 1 };

/**
 * Creates the ETS method.
 *
 * @param options allowed models, seasonality, fit window, optimiser budget
 * @returns a ForecastMethod whose forecasters implement `pointForecastInto`
 * @example
 * const fitted = etsMethod().fit(series, { seasonLength: 288, horizon: 12, quantiles: [0.1, 0.5, 0.9], seed: 1 });
 * const f = fitted.forSeries(0);
 * f.advanceTo(series[0].values.length);
 * f.forecast(12).mean; // 12 values
 */
export function etsMethod(options: EtsOptions = {}): LocalForecastMethod {
  const name = options.name ?? "ets";
  const codes = options.models ?? ETS_MODEL_CODES;
  const seasonality = options.seasonality ?? "daily";
  return {
    name,
    fit(series: readonly SeriesInput[], context: FitContext): FittedMethod {
      const ends = checkFitInputs(name, series, context);
      const models = series.map((s, i) =>
        fitSeriesModel(s.values, ends[i] as number, codes, periodsFor(seasonality, context), {
          ...(options.maxFitPoints === undefined ? {} : { maxFitPoints: options.maxFitPoints }),
          ...(options.maxEvaluations === undefined
            ? {}
            : { maxEvaluations: options.maxEvaluations }),
          ...(options.criterion === "horizon" ? { horizons: objectiveSteps(context.horizon) } : {}),
        }),
      );
      return {
        name,
        forSeries(index: number): EtsForecaster {
          const model = models[index];
          const s = series[index];
          if (model === undefined || s === undefined) {
            throw new RangeError(`Series index ${index} is outside [0, ${series.length - 1}].`);
          }
          return new EtsForecaster(name, s, model, context);
        },
      };
    },
  };
}

/** Seasonal periods to try: all compete ("auto"), or the first the window can hold is used. */
interface PeriodChoice {
  readonly periods: readonly number[];
  readonly firstOnly: boolean;
}

function periodsFor(seasonality: EtsSeasonality, context: FitContext): PeriodChoice {
  const daily = context.seasonLength;
  const weekly = context.weeklySeasonLength;
  switch (seasonality) {
    case "none":
      return { periods: [], firstOnly: true };
    case "daily":
      return { periods: [daily], firstOnly: true };
    case "weekly":
      return { periods: weekly !== undefined ? [weekly, daily] : [daily], firstOnly: true };
    case "auto":
      return { periods: weekly !== undefined ? [daily, weekly] : [daily], firstOnly: false };
  }
}

interface FitLimits {
  readonly maxFitPoints?: number;
  readonly maxEvaluations?: number;
  readonly horizons?: Int32Array;
}

/**
 * Fits every allowed model to one series' training part and keeps the lowest AICc.
 *
 * @param values the series (NaN = missing)
 * @param trainEnd exclusive end of the training part
 * @param codes models allowed
 * @param choice seasonal periods to try
 */
function fitSeriesModel(
  values: ArrayLike<number>,
  trainEnd: number,
  codes: readonly EtsModelCode[],
  choice: PeriodChoice,
  limits: FitLimits,
): SeriesModel {
  const profile = profileSeries(values, trainEnd);
  const unit = profile.magnitude > 0 ? profile.magnitude : 1;
  const usable = choice.periods.filter((m) => m >= 2);
  const longest = usable.reduce((a, b) => Math.max(a, b), 1);
  const window = Math.min(trainEnd, limits.maxFitPoints ?? Math.max(3000, 6 * longest));
  const from = trainEnd - window;
  const y = new Float64Array(window);
  for (let t = 0; t < window; t++) {
    const v = values[from + t] as number;
    y[t] = Number.isFinite(v) ? v / unit : Number.NaN;
  }
  let best: EtsFit | undefined;
  const consider = (spec: EtsSpec) => {
    const fit = fitEts(y, spec, {
      ...(limits.maxEvaluations === undefined ? {} : { maxEvaluations: limits.maxEvaluations }),
      ...(limits.horizons === undefined ? {} : { horizons: limits.horizons }),
    });
    if (fit && (best === undefined || fit.aicc < best.aicc)) best = fit;
  };
  const seasonalCodes = codes.filter((c) => c.endsWith("A"));
  for (const code of codes.filter((c) => !c.endsWith("A"))) consider(specOf(code, 1));
  for (const period of usable) {
    if (window < 2 * period) continue;
    for (const code of seasonalCodes) consider(specOf(code, period));
    if (choice.firstOnly) break;
  }
  if (best !== undefined) {
    return {
      spec: best.spec,
      parameters: best.parameters,
      state: best.state,
      sigma2: best.sigma2,
      unit,
      nonNegative: profile.nonNegative,
      origin: trainEnd,
    };
  }
  return naiveModel(values, trainEnd, unit, profile.nonNegative, profile.observed);
}

/** Too little data for any model: the naive model (α = 1) on the last observed value. */
function naiveModel(
  values: ArrayLike<number>,
  trainEnd: number,
  unit: number,
  nonNegative: boolean,
  observed: number,
): SeriesModel {
  let level = 0;
  let previous = Number.NaN;
  let sumSquares = 0;
  let differences = 0;
  for (let t = 0; t < trainEnd; t++) {
    const v = values[t] as number;
    if (!Number.isFinite(v)) continue;
    const w = v / unit;
    if (Number.isFinite(previous)) {
      sumSquares += (w - previous) * (w - previous);
      differences++;
    }
    previous = w;
    level = w;
  }
  // One observation: the next values are assumed within about ±100 % of it (σ = half of it).
  const sigma2 = differences > 0 ? sumSquares / differences : observed > 0 ? 0.25 * level ** 2 : 0;
  return {
    spec: { trend: "N", season: "N", period: 1 },
    parameters: NAIVE,
    state: { level, trend: 0, season: new Float64Array(1), seasonPos: 0 },
    sigma2,
    unit,
    nonNegative,
    origin: trainEnd,
  };
}

function specOf(code: EtsModelCode, period: number): EtsSpec {
  const trend: EtsTrend = code.includes("Ad") ? "Ad" : code[1] === "A" ? "A" : "N";
  const season: EtsSeason = code.endsWith("A") ? "A" : "N";
  return season === "A" ? { trend, season, period } : { trend, season, period: 1 };
}

/** A fitted ETS model positioned at an origin of its series. */
export class EtsForecaster implements PointForecaster, SnapshotForecaster {
  private readonly spec: EtsSpec;
  private readonly parameters: EtsParameters;
  private readonly current: EtsState;
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
    this.spec = model.spec;
    this.parameters = model.parameters;
    this.current = { ...model.state, season: Float64Array.from(model.state.season) };
    this.sigma2 = Number.isFinite(model.sigma2) ? model.sigma2 : 0;
    this.unit = model.unit;
    this.nonNegative = model.nonNegative;
    this.origin = model.origin;
  }

  /** "ETS(A,Ad,A)" and the like: the model chosen for this series. */
  get model(): string {
    return etsModelName(this.spec);
  }

  advanceTo(origin: number): void {
    checkOrigin(this.name, origin, this.origin, this.values.length);
    for (let t = this.origin; t < origin; t++) {
      etsUpdate(this.spec, this.parameters, this.current, (this.values[t] as number) / this.unit);
    }
    this.origin = origin;
  }

  pointForecastInto(out: Float64Array, horizon: number): void {
    etsForecastInto(this.spec, this.parameters, this.current, out, horizon);
    for (let h = 0; h < horizon; h++) out[h] = this.toValue(out[h] as number);
  }

  forecast(horizon: number): QuantileForecast {
    checkHorizon(this.name, horizon, this.context.horizon);
    const raw = new Float64Array(horizon);
    etsForecastInto(this.spec, this.parameters, this.current, raw, horizon);
    const variance = new Float64Array(horizon);
    etsVarianceFactorsInto(this.spec, this.parameters, variance, horizon);
    const mean = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) mean[h] = this.toValue(raw[h] as number);
    const quantiles = this.context.quantiles.map((level) => {
      const z = normalQuantile(level);
      const row = new Float64Array(horizon);
      for (let h = 0; h < horizon; h++) {
        const sd = Math.sqrt(this.sigma2 * (variance[h] as number));
        row[h] = this.toValue((raw[h] as number) + z * sd);
      }
      return row;
    });
    return { mean, quantiles };
  }

  snapshot(): EtsSnapshot {
    return {
      kind: "ets",
      name: this.name,
      spec: { ...this.spec },
      parameters: { ...this.parameters },
      unit: this.unit,
      nonNegative: this.nonNegative,
      sigma2: this.sigma2,
      level: storeNumber(this.current.level),
      trend: storeNumber(this.current.trend),
      season: encodeFloat64(this.current.season),
      seasonPos: this.current.seasonPos,
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
   * @param snapshot the parsed "ets" component
   * @param series the series it reads from `origin` on
   * @param origin index in `series` of the first value not yet absorbed
   * @param context horizon and quantile levels
   */
  static restore(
    snapshot: ParsedEtsSnapshot,
    series: SeriesHistory,
    origin: number,
    context: Pick<FitContext, "horizon" | "quantiles">,
  ): EtsForecaster {
    return new EtsForecaster(
      snapshot.name,
      series,
      {
        spec: snapshot.spec,
        parameters: snapshot.parameters,
        state: {
          level: snapshot.level,
          trend: snapshot.trend,
          season: snapshot.season,
          seasonPos: snapshot.seasonPos,
        },
        sigma2: snapshot.sigma2,
        unit: snapshot.unit,
        nonNegative: snapshot.nonNegative,
        origin,
      },
      context,
    );
  }

  /** Working units → series units: finite, and ≥ 0 for non-negative data. */
  private toValue(working: number): number {
    return fromWorking(working, this.unit, this.nonNegative);
  }
}
