import { ValidationError } from "../../errors.js";
import { ErrorCalibrator, sortedQuantile } from "./error-calibrator.js";
import {
  type ConformalSnapshot,
  type ForecasterState,
  forecasterState,
  headerAt,
  type InnerSnapshot,
  type ParsedConformalSnapshot,
  type SeriesHistory,
  type SnapshotForecaster,
  type StateHeader,
  snapshotOf,
} from "./forecaster-snapshot.js";
import { LocalScale, type LocalScaleMode } from "./local-scale.js";
import type {
  FitContext,
  FittedMethod,
  ForecastMethod,
  QuantileForecast,
  SeriesForecaster,
  SeriesInput,
} from "./method.js";
import { checkFitInputs, checkHorizon, checkOrigin } from "./method-inputs.js";
import { fromSeries } from "./output-value.js";
import { type PointForecaster, pointForecastInto } from "./point-forecaster.js";
import { profileSeries } from "./series-profile.js";
import { encodeFloat64, storeNumber } from "./state-codec.js";

/**
 * Prediction intervals for any point method by conformal calibration on rolling out-of-sample
 * errors (split/online conformal prediction: Vovk, Gammerman & Shafer 2005; for multi-step
 * forecasts, per-horizon error quantiles as in Stankeviciute et al. 2021 and statsforecast's
 * ConformalIntervals, with far more calibration origins than its n_windows = 3).
 *
 * Fit: the inner method is fitted on each series' training part minus its last
 * `calibrationPoints` values; its forecaster then rolls through those values, forecasting the
 * full horizon from every `stride`-th origin, and each forecast's error at step h (actual − point,
 * divided by the series' unit and the local scale at its origin — see local-scale.ts) is kept for
 * step h (the most recent `capacity` per step). The inner model is not refitted on the full
 * training part unless `refit` asks for it: it simply rolls on, as it will in production.
 *
 * Forecast: quantile τ at step h = point_h + scale · (M_h + w · (Q_τ − M_h)), Q_τ the empirical
 * τ-quantile (type 7) of the step-h errors, M_h their median, w the adaptive spread factor
 * (below). A step with fewer than `minErrors` errors pools the nearest steps' errors; a series
 * with no errors at all (too short to calibrate) falls back to the inner method's own quantiles.
 * Where the training data is non-negative, every value is clamped at 0. Quantiles are monotone by
 * construction and pass through the monotone rearrangement of quantiles.ts.
 *
 * Online: `advanceTo` keeps forecasting from every `stride`-th origin it passes (and from any
 * origin a forecast was asked at), and adds each forecast's errors as their actuals arrive, so the
 * intervals follow the series without refitting. Each new error also nudges w (adaptive
 * conformal inference, Gibbs & Candès 2021): outside the current 80 % band it widens, inside it
 * narrows, balancing at 20 % misses — the error memory alone lags when a series turns noisier,
 * and on the traces it left the 80 % interval covering 74 % (Bitbrains) instead of 80 %. Cost per
 * new point: one inner update and, every `stride` points, one point forecast —
 * O(new points · horizon / stride).
 *
 * Errors are measured in the series' unit (its largest training |value|), optionally times a local
 * scale (local-scale.ts; off by default: on the traces it did not lower the wQL). A constant series
 * has zero errors, so zero-width intervals at the constant; scaling the input by k scales points,
 * scales and so quantiles by k.
 */

export interface ConformalOptions {
  /** Name in reports. @default the inner method's name */
  readonly name?: string;
  /**
   * Training values held out for calibration, per series.
   * @default min(horizon + max(seasonLength, 200), ⌊trainEnd / 3⌋)
   */
  readonly calibrationPoints?: number;
  /** Steps between calibration origins (and online ones). @default max(1, round(horizon / 24)) */
  readonly stride?: number;
  /** Most recent errors kept per step ahead. @default 250 */
  readonly capacity?: number;
  /** Errors a step needs before it stops pooling its neighbours'. @default 20 */
  readonly minErrors?: number;
  /** Local scale errors are measured in. @default "none" */
  readonly scale?: LocalScaleMode;
  /** Values the local scale averages over. @default seasonLength clamped to [12, 1,440] */
  readonly scaleWindow?: number;
  /** Fit the inner method a second time on the full training part for forecasting. @default false */
  readonly refit?: boolean;
  /**
   * Rate at which the interval spread adapts, per new observation, to keep the 80 % interval's
   * coverage at 80 % (adaptive conformal inference, Gibbs & Candès 2021); 0 turns it off.
   * @default 0.01
   */
  readonly coverageAdaptation?: number;
}

/** Settings resolved against a fit context. */
export interface ConformalSettings {
  readonly horizon: number;
  readonly quantiles: readonly number[];
  readonly stride: number;
  readonly capacity: number;
  readonly minErrors: number;
  readonly scale: LocalScaleMode;
  readonly scaleWindow: number;
  readonly coverageAdaptation: number;
  readonly calibrationPoints?: number;
}

/** Resolves the options' defaults for a fit context. */
export function conformalSettings(
  options: ConformalOptions,
  context: FitContext,
): ConformalSettings {
  const horizon = context.horizon;
  return {
    horizon,
    quantiles: context.quantiles,
    stride: Math.max(1, Math.floor(options.stride ?? Math.round(horizon / 24))),
    capacity: Math.max(1, Math.floor(options.capacity ?? 250)),
    minErrors: Math.max(1, Math.floor(options.minErrors ?? 20)),
    scale: options.scale ?? "none",
    scaleWindow: Math.max(
      1,
      options.scaleWindow ?? Math.min(1440, Math.max(12, context.seasonLength)),
    ),
    coverageAdaptation: Math.max(0, options.coverageAdaptation ?? 0.01),
    ...(options.calibrationPoints === undefined
      ? {}
      : { calibrationPoints: options.calibrationPoints }),
  };
}

/**
 * Training values held out for calibration in a series whose training part ends at `trainEnd`.
 *
 * @returns a count in [0, ⌊trainEnd / 3⌋]
 */
export function calibrationSpan(
  trainEnd: number,
  settings: ConformalSettings,
  seasonLength: number,
): number {
  const wanted = settings.calibrationPoints ?? settings.horizon + Math.max(seasonLength, 200);
  return Math.max(0, Math.min(wanted, Math.floor(trainEnd / 3)));
}

/** Per-series facts the calibration needs, from the training part. */
export interface SeriesScale {
  /** Working unit: errors are stored divided by it (the largest |value|, or 1). */
  readonly unit: number;
  /** Clamp forecasts at 0. */
  readonly nonNegative: boolean;
  /** Smallest local scale, in working units. */
  readonly floor: number;
}

/** The unit, sign and local-scale floor of a series' training part. */
export function seriesScale(values: ArrayLike<number>, trainEnd: number): SeriesScale {
  const profile = profileSeries(values, trainEnd);
  const unit = profile.magnitude > 0 ? profile.magnitude : 1;
  const meanAbs = profile.meanAbs / unit;
  // 5 % of the typical level: below that, a quiet stretch would blow errors up.
  return { unit, nonNegative: profile.nonNegative, floor: meanAbs > 0 ? 0.05 * meanAbs : 1 };
}

/** A local-scale tracker fed with the values before `origin`. */
export function localScaleAt(
  values: ArrayLike<number>,
  origin: number,
  scale: SeriesScale,
  settings: ConformalSettings,
): LocalScale {
  const tracker = new LocalScale(settings.scale, settings.scaleWindow, scale.floor);
  if (settings.scale !== "none") {
    const from = Math.max(0, origin - 4 * settings.scaleWindow);
    for (let t = from; t < origin; t++) tracker.update((values[t] as number) / scale.unit);
  }
  return tracker;
}

/**
 * Wraps a point method in conformal calibration.
 *
 * @param inner the method whose point forecasts get calibrated intervals
 * @param options calibration span, stride, error memory, local scale
 * @returns a method whose `fit` is asynchronous only when the inner one is
 * @example
 * const method = conformalMethod(etsMethod());
 * const fitted = await method.fit(series, { seasonLength: 288, horizon: 12, quantiles: [0.1, 0.5, 0.9], seed: 1 });
 * fitted.forSeries(0).forecast(12).quantiles; // three calibrated rows of 12 values
 */
export function conformalMethod(
  inner: ForecastMethod,
  options: ConformalOptions = {},
): ForecastMethod {
  const name = options.name ?? inner.name;
  return {
    name,
    fit(series: readonly SeriesInput[], context: FitContext) {
      const ends = checkFitInputs(name, series, context);
      const settings = conformalSettings(options, context);
      const spans = Array.from(ends, (end) => calibrationSpan(end, settings, context.seasonLength));
      const calibrationContext: FitContext = {
        ...context,
        trainEnd: Array.from(ends, (end, i) => end - (spans[i] as number)),
      };
      const finish = (calibrationFit: FittedMethod, forecastFit: FittedMethod): FittedMethod => {
        const scales = series.map((s, i) => seriesScale(s.values, ends[i] as number));
        const calibrators = series.map((s, i) => {
          const end = ends[i] as number;
          const from = end - (spans[i] as number);
          const forecaster = calibrationFit.forSeries(i);
          return calibrate(s.values, forecaster, from, end, scales[i] as SeriesScale, settings);
        });
        return {
          name,
          forSeries(index: number): ConformalForecaster {
            const s = series[index];
            const calibrator = calibrators[index];
            const scale = scales[index];
            if (s === undefined || calibrator === undefined || scale === undefined) {
              throw new RangeError(`Series index ${index} is outside [0, ${series.length - 1}].`);
            }
            const end = ends[index] as number;
            const forecaster = options.refit
              ? forecastFit.forSeries(index)
              : calibrationFit.forSeries(index);
            forecaster.advanceTo(end);
            return new ConformalForecaster(name, s, forecaster, {
              origin: end,
              calibrator: calibrator.clone(),
              scale,
              tracker: localScaleAt(s.values, end, scale, settings),
              settings,
            });
          },
        };
      };
      const calibrationFit = inner.fit(series, calibrationContext);
      const forecastFit = options.refit ? inner.fit(series, context) : calibrationFit;
      if (calibrationFit instanceof Promise || forecastFit instanceof Promise) {
        return Promise.all([calibrationFit, forecastFit]).then(([a, b]) => finish(a, b));
      }
      return finish(calibrationFit, forecastFit);
    },
  };
}

/**
 * Rolls `forecaster` from `from` to `end`, forecasting the horizon at every `stride`-th origin,
 * and collects the errors whose actuals lie before `end`.
 *
 * @param forecaster positioned at `from`; left at `end`
 * @returns the errors, per step ahead, in units of unit × local scale
 */
export function calibrate(
  values: ArrayLike<number>,
  forecaster: SeriesForecaster,
  from: number,
  end: number,
  scale: SeriesScale,
  settings: ConformalSettings,
): ErrorCalibrator {
  const calibrator = new ErrorCalibrator(settings.horizon, settings.capacity);
  const tracker = localScaleAt(values, from, scale, settings);
  const point = new Float64Array(settings.horizon);
  for (let origin = from; origin < end; origin++) {
    if ((origin - from) % settings.stride === 0) {
      forecaster.advanceTo(origin);
      pointForecastInto(forecaster, point, settings.horizon);
      const divisor = scale.unit * tracker.scale();
      const steps = Math.min(settings.horizon, end - origin);
      for (let h = 0; h < steps; h++) {
        const actual = values[origin + h] as number;
        if (Number.isFinite(actual)) calibrator.add(h, (actual - (point[h] as number)) / divisor);
      }
    }
    tracker.update((values[origin] as number) / scale.unit);
  }
  forecaster.advanceTo(end);
  return calibrator;
}

export interface ConformalStart {
  /** Where the inner forecaster is positioned. */
  readonly origin: number;
  readonly calibrator: ErrorCalibrator;
  readonly scale: SeriesScale;
  /** Local scale fed up to `origin`. */
  readonly tracker: LocalScale;
  readonly settings: ConformalSettings;
  /** Initial spread factor (a resumed forecaster's). @default 1 */
  readonly spreadFactor?: number;
  /** The rest of a resumed forecaster's state; absent for a fresh one. */
  readonly resume?: ConformalResume;
}

/** What a resumed conformal forecaster carries over besides its calibrator and scales. */
export interface ConformalResume {
  /** The ring of pending forecasts: origins (−∞ = free), error divisors, points (slot-major). */
  readonly pendingOrigins: Float64Array;
  readonly pendingScales: Float64Array;
  readonly pendingPoints: Float64Array;
  readonly pendingHead: number;
  /** Next calibration origin. */
  readonly nextDue: number;
  /** Origin a forecast was last asked at (−1: none that matters). */
  readonly askedAt: number;
  /** The 80 % band per step, as last computed (3 values per step). */
  readonly band: Float64Array;
}

/**
 * Errors are kept as 32-bit floats (relative precision 6e-8), so point + error can miss the value
 * it reproduced by a rounding error: on a step-shaped series whose next value equals the last one
 * exactly, a biased point plus its (constant) error would put the actual just outside a
 * zero-width interval. Lower quantiles move down and upper ones up by this fraction of their error
 * quantile: far below any error that matters, far above float32 rounding; 0 for a zero error, and
 * monotone in the error, so ordering and scale-equivariance are kept.
 */
const ROUNDING_SLACK = 1e-6;

/** The interval whose coverage the spread adapts to: [q0.1, q0.9], 80 %. */
const COVERAGE_LOW = 0.1;
const COVERAGE_HIGH = 0.9;
const TARGET_MISS_RATE = 0.2;
/** The adapted spread stays within these multiples of the calibrated one. */
const MIN_SPREAD_FACTOR = 0.5;
const MAX_SPREAD_FACTOR = 4;

/** Shared scratch for sorted errors (forecasting is synchronous, so one buffer serves all). */
let sortScratch = new Float32Array(0);

/** A point forecaster with conformal intervals, learning from its own errors as it advances. */
export class ConformalForecaster implements PointForecaster, SnapshotForecaster {
  private origin: number;
  private readonly calibrator: ErrorCalibrator;
  private readonly scale: SeriesScale;
  private readonly tracker: LocalScale;
  private readonly settings: ConformalSettings;
  /** Ring of forecasts waiting for their actuals. */
  private readonly pendingOrigins: Float64Array;
  private readonly pendingScales: Float64Array;
  private readonly pendingPoints: Float64Array;
  private pendingHead = 0;
  private nextDue: number;
  private askedAt = -1;
  /** Multiplies the error quantiles' distance from their median (adapted to keep coverage). */
  private spreadFactor = 1;
  /** Per step: the error median and the 0.1 and 0.9 quantiles' distances from it (NaN: unknown). */
  private readonly band: Float64Array;
  private readonly values: ArrayLike<number>;

  /**
   * @param name the method's name (errors, state)
   * @param series the series it reads, from `start.origin` on
   * @param inner the point forecaster, positioned at `start.origin`
   * @param start calibrator, scales and settings at `start.origin`
   */
  constructor(
    private readonly name: string,
    private readonly series: SeriesHistory,
    private readonly inner: SeriesForecaster,
    start: ConformalStart,
  ) {
    this.values = series.values;
    this.origin = start.origin;
    this.calibrator = start.calibrator;
    this.scale = start.scale;
    this.tracker = start.tracker;
    this.settings = start.settings;
    const slots = Math.ceil(this.settings.horizon / this.settings.stride) + 2;
    this.pendingOrigins = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);
    this.pendingScales = new Float64Array(slots);
    this.pendingPoints = new Float64Array(slots * this.settings.horizon);
    this.nextDue = start.origin;
    this.spreadFactor = start.spreadFactor ?? 1;
    this.band = new Float64Array(3 * this.settings.horizon).fill(Number.NaN);
    const resume = start.resume;
    if (resume !== undefined) {
      this.pendingOrigins.set(resume.pendingOrigins);
      this.pendingScales.set(resume.pendingScales);
      this.pendingPoints.set(resume.pendingPoints);
      this.pendingHead = resume.pendingHead;
      this.nextDue = resume.nextDue;
      this.askedAt = resume.askedAt;
      this.band.set(resume.band);
    } else if (this.settings.coverageAdaptation > 0) {
      this.refreshBands(this.settings.horizon);
    }
  }

  advanceTo(origin: number): void {
    checkOrigin(this.name, origin, this.origin, this.values.length);
    const horizon = this.settings.horizon;
    const slots = this.pendingOrigins.length;
    for (let t = this.origin; t < origin; t++) {
      if (t >= this.nextDue || t === this.askedAt) {
        this.inner.advanceTo(t);
        const slot = this.pendingHead;
        this.pendingHead = slot + 1 === slots ? 0 : slot + 1;
        this.pendingOrigins[slot] = t;
        this.pendingScales[slot] = this.scale.unit * this.tracker.scale();
        pointForecastInto(
          this.inner,
          this.pendingPoints.subarray(slot * horizon, (slot + 1) * horizon),
          horizon,
        );
        if (t >= this.nextDue) this.nextDue = t + this.settings.stride;
      }
      const actual = this.values[t] as number;
      if (Number.isFinite(actual)) {
        for (let slot = 0; slot < slots; slot++) {
          const step = t - (this.pendingOrigins[slot] as number);
          if (step >= 0 && step < horizon) {
            const point = this.pendingPoints[slot * horizon + step] as number;
            const error = (actual - point) / (this.pendingScales[slot] as number);
            this.adaptSpread(step, error);
            this.calibrator.add(step, error);
          }
        }
      }
      this.tracker.update(actual / this.scale.unit);
    }
    this.inner.advanceTo(origin);
    this.origin = origin;
  }

  pointForecastInto(out: Float64Array, horizon: number): void {
    pointForecastInto(this.inner, out, horizon);
    for (let h = 0; h < horizon; h++) out[h] = this.finite(out[h] as number);
  }

  forecast(horizon: number): QuantileForecast {
    checkHorizon(this.name, horizon, this.settings.horizon);
    this.askedAt = this.origin;
    const mean = new Float64Array(horizon);
    this.pointForecastInto(mean, horizon);
    const levels = this.settings.quantiles;
    const rows = levels.map(() => new Float64Array(horizon));
    const needed = this.settings.capacity * this.settings.horizon;
    if (sortScratch.length < needed) sortScratch = new Float32Array(needed);
    const spread = this.scale.unit * this.tracker.scale();
    let fallback: QuantileForecast | undefined;
    for (let h = 0; h < horizon; h++) {
      const n = this.calibrator.sortedErrorsInto(h, this.settings.minErrors, sortScratch);
      if (n === 0) {
        fallback ??= this.inner.forecast(horizon);
        levels.forEach((_, k) => {
          (rows[k] as Float64Array)[h] = fallback?.quantiles[k]?.[h] ?? (mean[h] as number);
        });
        continue;
      }
      const median = sortedQuantile(sortScratch, n, 0.5);
      this.setBand(h, median, n);
      const widen = this.spreadFactor;
      levels.forEach((level, k) => {
        const q = median + widen * (sortedQuantile(sortScratch, n, level) - median);
        const slack = level < 0.5 ? -ROUNDING_SLACK : level > 0.5 ? ROUNDING_SLACK : 0;
        (rows[k] as Float64Array)[h] = (mean[h] as number) + spread * (q + slack * Math.abs(q));
      });
    }
    for (const row of rows) {
      for (let h = 0; h < horizon; h++) row[h] = this.finite(row[h] as number);
    }
    return { mean, quantiles: monotone(levels, rows) };
  }

  /**
   * Its state: settings, calibrator, local scale, spread, band, the pending forecasts whose
   * actuals are still to come, and the inner forecaster's.
   *
   * @throws ValidationError when the inner forecaster cannot save its state (a global model)
   */
  snapshot(): ConformalSnapshot {
    const inner = snapshotOf(this.inner, "inner forecaster");
    if (inner.kind === "conformal") {
      throw new ValidationError(
        "Cannot save the conformal forecaster's state: it wraps another conformal forecaster. Refit this series instead of resuming it.",
        [{ field: "inner", message: "is a conformal forecaster" }],
      );
    }
    const horizon = this.settings.horizon;
    const slots = Array.from(this.pendingOrigins, (o, slot) => {
      const age = this.origin - o;
      // A forecast whose every step lies before the origin will never be read again.
      if (!(age >= 1 && age < horizon)) return null;
      const points = this.pendingPoints.subarray(slot * horizon + age, (slot + 1) * horizon);
      return {
        age,
        scale: storeNumber(this.pendingScales[slot] as number),
        points: encodeFloat64(points),
      };
    });
    return {
      kind: "conformal",
      name: this.name,
      unit: this.scale.unit,
      nonNegative: this.scale.nonNegative,
      stride: this.settings.stride,
      minErrors: this.settings.minErrors,
      coverageAdaptation: this.settings.coverageAdaptation,
      spreadFactor: this.spreadFactor,
      band: encodeFloat64(this.band),
      calibrator: this.calibrator.snapshot(),
      scale: this.tracker.snapshot(),
      pending: { head: this.pendingHead, slots },
      nextDueIn: this.nextDue - this.origin,
      askedHere: this.askedAt === this.origin,
      inner: inner satisfies InnerSnapshot,
    };
  }

  stateHeader(): StateHeader {
    return headerAt(this.series, this.origin, this.settings);
  }

  state(): ForecasterState {
    return forecasterState(this.name, this);
  }

  /**
   * A forecaster resumed from a parsed snapshot, positioned at `origin` of `series`.
   *
   * @param snapshot the parsed "conformal" component (lengths checked against the horizon)
   * @param series the series it reads from `origin` on
   * @param inner the restored inner forecaster, positioned at `origin`
   * @param origin index in `series` of the first value not yet absorbed
   * @param context horizon and quantile levels
   */
  static restore(
    snapshot: ParsedConformalSnapshot,
    series: SeriesHistory,
    inner: SeriesForecaster,
    origin: number,
    context: Pick<FitContext, "horizon" | "quantiles">,
  ): ConformalForecaster {
    const horizon = context.horizon;
    const tracker = LocalScale.restore(snapshot.scale);
    const slots = snapshot.pending.slots.length;
    const pendingOrigins = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);
    const pendingScales = new Float64Array(slots);
    const pendingPoints = new Float64Array(slots * horizon);
    snapshot.pending.slots.forEach((slot, i) => {
      if (slot === null) return;
      pendingOrigins[i] = origin - slot.age;
      pendingScales[i] = slot.scale;
      // Steps before the age are never read again: left at 0.
      pendingPoints.set(slot.points, i * horizon + slot.age);
    });
    return new ConformalForecaster(snapshot.name, series, inner, {
      origin,
      calibrator: ErrorCalibrator.restore(snapshot.calibrator),
      scale: { unit: snapshot.unit, nonNegative: snapshot.nonNegative, floor: tracker.floor },
      tracker,
      settings: {
        horizon,
        quantiles: context.quantiles,
        stride: snapshot.stride,
        capacity: snapshot.calibrator.capacity,
        minErrors: snapshot.minErrors,
        scale: tracker.mode,
        scaleWindow: tracker.window,
        coverageAdaptation: snapshot.coverageAdaptation,
      },
      spreadFactor: snapshot.spreadFactor,
      resume: {
        pendingOrigins,
        pendingScales,
        pendingPoints,
        pendingHead: snapshot.pending.head,
        nextDue: origin + snapshot.nextDueIn,
        askedAt: snapshot.askedHere ? origin : -1,
        band: snapshot.band,
      },
    });
  }

  /** Recomputes the 80 % band of steps [0, horizon) from the calibrator. */
  private refreshBands(horizon: number): void {
    const needed = this.settings.capacity * this.settings.horizon;
    if (sortScratch.length < needed) sortScratch = new Float32Array(needed);
    for (let h = 0; h < horizon; h++) {
      const n = this.calibrator.sortedErrorsInto(h, this.settings.minErrors, sortScratch);
      if (n > 0) this.setBand(h, sortedQuantile(sortScratch, n, 0.5), n);
    }
  }

  /** Records step h's band from the sorted errors now in the shared scratch. */
  private setBand(h: number, median: number, n: number): void {
    this.band[3 * h] = median;
    this.band[3 * h + 1] = sortedQuantile(sortScratch, n, COVERAGE_LOW) - median;
    this.band[3 * h + 2] = sortedQuantile(sortScratch, n, COVERAGE_HIGH) - median;
  }

  /**
   * Adaptive conformal inference on the spread: a new error outside the current 80 % band widens
   * it, one inside narrows it, in proportions that balance at 20 % misses (Gibbs & Candès 2021,
   * applied to a spread factor rather than to the level, so one number serves every quantile).
   */
  private adaptSpread(step: number, error: number): void {
    const rate = this.settings.coverageAdaptation;
    const median = this.band[3 * step] as number;
    if (rate === 0 || Number.isNaN(median)) return;
    const low = median + this.spreadFactor * (this.band[3 * step + 1] as number);
    const high = median + this.spreadFactor * (this.band[3 * step + 2] as number);
    const miss = error < low || error > high ? 1 : 0;
    const perError = (rate * this.settings.stride) / this.settings.horizon;
    const next = this.spreadFactor * Math.exp(perError * (miss - TARGET_MISS_RATE));
    this.spreadFactor = Math.min(MAX_SPREAD_FACTOR, Math.max(MIN_SPREAD_FACTOR, next));
  }

  private finite(value: number): number {
    return fromSeries(value, this.scale.unit, this.scale.nonNegative);
  }
}

/**
 * The rows sorted across levels at every step, in place: quantiles.ts's rearrangement
 * (`rearrangeQuantiles`, which a test compares this with) on the typed rows, without the keyed
 * copies it makes — this runs for every series at every forecast.
 */
export function monotone(levels: readonly number[], rows: Float64Array[]): Float64Array[] {
  const order = levels
    .map((_, k) => k)
    .sort((a, b) => (levels[a] as number) - (levels[b] as number));
  const byLevel = order.map((k) => rows[k] as Float64Array);
  const length = byLevel.length === 0 ? 0 : Math.min(...byLevel.map((row) => row.length));
  let column: number[] | undefined;
  for (let h = 0; h < length; h++) {
    let ordered = true;
    for (let i = 1; ordered && i < byLevel.length; i++) {
      if (
        ((byLevel[i] as Float64Array)[h] as number) <
        ((byLevel[i - 1] as Float64Array)[h] as number)
      )
        ordered = false;
    }
    if (ordered) continue;
    column ??= [];
    column.length = 0;
    for (const row of byLevel) column.push(row[h] as number);
    column.sort((a, b) => a - b);
    byLevel.forEach((row, i) => {
      row[h] = column?.[i] as number;
    });
  }
  return rows;
}
