import type { QuantileForecast } from "../method.js";
import {
  ANCHOR_COUNT,
  contextLength,
  encodeWindow,
  type FeatureLayout,
  inputSize,
  seriesPrefix,
  staticIndices,
} from "./features.js";
import {
  type MlpShape,
  type MlpWorkspace,
  mlpForward,
  mlpParameterCount,
  mlpWorkspace,
} from "./network.js";
import {
  type HeadScratch,
  headForward,
  headInputSize,
  headScratch,
  type QuantileHeadShape,
} from "./quantile-head.js";

/**
 * The trained global model — one network for every series — and how it forecasts one series
 * from its recent history. Training is in training.ts; the JSON form in model-codec.ts.
 */

/** Typical scales of the training series, for series with none of their own (cold start). */
export interface CohortScales {
  /** Keyed by the cohort signature (see `cohortSignature`). */
  readonly bySignature: Readonly<Record<string, number>>;
  /** Keyed by `key=value` of one static feature. */
  readonly byFeature: Readonly<Record<string, number>>;
  /** Median over all training series. */
  readonly overall: number;
}

/** A trained global model. */
export interface GlobalModel {
  readonly layout: FeatureLayout;
  /** Quantile levels the head outputs, ascending. */
  readonly levels: readonly number[];
  readonly hiddenSizes: readonly number[];
  /**
   * Per ensemble member, its network then its anchor weights (`horizon × ANCHOR_COUNT`); every
   * value exactly representable as a 32-bit float so the serialised model forecasts exactly as
   * the trained one.
   */
  readonly params: Float64Array;
  /** Members whose quantiles are averaged. */
  readonly ensembleSize: number;
  readonly cohorts: CohortScales;
  /** Clamp forecasts at 0 (demand is never negative). */
  readonly nonNegative: boolean;
  /** Forecast a series whose whole context holds one repeated value as that value, exactly. */
  readonly flatWhenConstant: boolean;
  /** Quantiles within this many scales of the last observed value are set to it. */
  readonly snapTolerance: number;
}

/** The network part of a model. */
export function networkShape(
  layout: FeatureLayout,
  levels: readonly number[],
  hidden: readonly number[],
): MlpShape {
  return {
    inputSize: inputSize(layout),
    hiddenSizes: hidden,
    outputSize: headInputSize(headShape(layout, levels)),
  };
}

/** Parameters of one ensemble member. */
export function modelMemberSize(
  model: Pick<GlobalModel, "layout" | "levels" | "hiddenSizes">,
): number {
  return (
    mlpParameterCount(networkShape(model.layout, model.levels, model.hiddenSizes)) +
    model.layout.horizon * ANCHOR_COUNT
  );
}

/** The head part of a model. */
export function headShape(layout: FeatureLayout, levels: readonly number[]): QuantileHeadShape {
  return {
    horizon: layout.horizon,
    levels,
    anchorCount: ANCHOR_COUNT,
    outputStride: layout.outputStride,
  };
}

/** Cohort key of a series: its static features restricted to the model's keys, sorted. */
export function cohortSignature(
  layout: FeatureLayout,
  features: Readonly<Record<string, string>> | undefined,
): string {
  return layout.staticFeatures.map((f) => `${f.key}=${features?.[f.key] ?? ""}`).join("\u0001");
}

/**
 * The scale a series without history of its own borrows: its exact cohort's, else the median
 * over its individual static features' cohorts, else the overall median.
 */
export function cohortScale(
  model: Pick<GlobalModel, "layout" | "cohorts">,
  features: Readonly<Record<string, string>> | undefined,
): number {
  const exact = model.cohorts.bySignature[cohortSignature(model.layout, features)];
  if (exact !== undefined) return exact;
  const partial = model.layout.staticFeatures
    .map((f) => model.cohorts.byFeature[`${f.key}=${features?.[f.key] ?? ""}`])
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  if (partial.length > 0) return partial[Math.floor(partial.length / 2)] as number;
  return model.cohorts.overall;
}

/** Reusable buffers for forecasting with one model. */
export interface PredictionWorkspace {
  readonly input: Float64Array;
  readonly anchors: Float64Array;
  readonly quantiles: Float64Array;
  /** Quantiles averaged over the ensemble members. */
  readonly average: Float64Array;
  readonly head: HeadScratch;
  readonly network: MlpWorkspace;
}

/** Buffers for one forecast at a time. */
export function predictionWorkspace(model: GlobalModel): PredictionWorkspace {
  const shape = networkShape(model.layout, model.levels, model.hiddenSizes);
  return {
    input: new Float64Array(shape.inputSize),
    anchors: new Float64Array(model.layout.horizon * ANCHOR_COUNT),
    quantiles: new Float64Array(model.layout.horizon * model.levels.length),
    average: new Float64Array(model.layout.horizon * model.levels.length),
    head: headScratch(headShape(model.layout, model.levels)),
    network: mlpWorkspace(shape, 1),
  };
}

/** The history one forecast is made from. */
export interface ForecastInput {
  /** The recent history, oldest first, ending just before the origin; NaN = missing. */
  readonly values: ArrayLike<number>;
  /** Epoch seconds of the origin (the first step forecast). */
  readonly originSeconds: number;
  readonly stepSeconds: number;
  readonly features?: Readonly<Record<string, string>>;
}

/**
 * Forecasts the next `horizon` steps after `input.values`.
 *
 * Never throws for any data and never returns NaN: values are divided by their largest
 * magnitude first (the model is scale-free), so huge inputs cannot overflow; a series with no
 * history forecasts from its cohort's scale and features; one observed idle for a day forecasts 0.
 *
 * @param model the trained model
 * @param input history (only the last `contextLength(layout)` values are read), origin time, step
 *   and static features
 * @param horizon steps to forecast, 1…model horizon
 * @param levels the quantile levels wanted, ascending (interpolated between the model's levels)
 * @param workspace optional reusable buffers
 * @returns mean and quantiles per step, finite and monotone in the level
 */
export function forecastGlobal(
  model: GlobalModel,
  input: ForecastInput,
  horizon: number,
  levels: readonly number[],
  workspace: PredictionWorkspace = predictionWorkspace(model),
): QuantileForecast {
  const layout = model.layout;
  const count = model.levels.length;
  const raw = new Float64Array(horizon * count);
  // Only the last contextLength values matter, whatever the caller keeps.
  const from = Math.max(0, input.values.length - contextLength(layout));
  const n = input.values.length - from;
  let unit = 0;
  let firstSeen = Number.NaN;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const v = input.values[from + i] as number;
    if (!Number.isFinite(v)) continue;
    unit = Math.max(unit, Math.abs(v));
    if (Number.isNaN(firstSeen)) firstSeen = v;
    else if (v !== firstSeen) constant = false;
  }
  if (model.flatWhenConstant && constant && !Number.isNaN(firstSeen) && n >= 2) {
    raw.fill(model.nonNegative ? Math.max(firstSeen, 0) : firstSeen);
    return toForecast(raw, horizon, model.levels, levels);
  }
  if (!(unit > 0)) unit = 1;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = input.values[from + i] as number;
    scaled[i] = Number.isFinite(v) ? v / unit : Number.NaN;
  }
  const encoded = encodeWindow(
    layout,
    {
      values: scaled,
      prefix: seriesPrefix(scaled),
      first: 0,
      origin: n,
      originSeconds: input.originSeconds,
      stepSeconds: input.stepSeconds,
      staticIndex: staticIndices(layout, input.features),
      cohortScale: cohortScale(model, input.features) / unit,
    },
    { input: workspace.input, inputAt: 0, anchors: workspace.anchors, anchorsAt: 0 },
  );
  if (encoded.scale > 0) {
    const shape = networkShape(layout, model.levels, model.hiddenSizes);
    const head = headShape(layout, model.levels);
    const memberSize = modelMemberSize(model);
    const alphaOffset = memberSize - layout.horizon * ANCHOR_COUNT;
    const size = layout.horizon * count;
    const average = workspace.average;
    average.fill(0);
    for (let member = 0; member < model.ensembleSize; member++) {
      const at = member * memberSize;
      const out = mlpForward(shape, model.params, at, workspace.input, 1, workspace.network);
      headForward(
        head,
        model.params,
        at + alphaOffset,
        out,
        0,
        workspace.anchors,
        0,
        workspace.head,
        workspace.quantiles,
      );
      for (let i = 0; i < size; i++) {
        average[i] =
          (average[i] as number) + (workspace.quantiles[i] as number) / model.ensembleSize;
      }
    }
    const factor = encoded.scale * unit;
    // Demand is often piecewise constant: the last value is an atom of the predictive
    // distribution, which a network's continuous output only approaches. Quantiles within the
    // tolerance of it are snapped onto it (an order-preserving map, so monotonicity holds).
    const last = workspace.anchors[0] as number;
    const tolerance = model.snapTolerance;
    for (let i = 0; i < horizon * count; i++) {
      const q = average[i] as number;
      const v = (Math.abs(q - last) <= tolerance ? last : q) * factor;
      raw[i] = Number.isFinite(v) ? v : Math.sign(v) * Number.MAX_VALUE;
      if (model.nonNegative && (raw[i] as number) < 0) raw[i] = 0;
    }
  }
  return toForecast(raw, horizon, model.levels, levels);
}

/**
 * Cuts the model's step-major quantiles into the requested levels: linear interpolation between
 * the model's levels, flat beyond the outermost ones; the mean is the median.
 */
function toForecast(
  raw: Float64Array,
  horizon: number,
  modelLevels: readonly number[],
  levels: readonly number[],
): QuantileForecast {
  const count = modelLevels.length;
  const at = (h: number, level: number): number => {
    const row = h * count;
    if (level <= (modelLevels[0] as number)) return raw[row] as number;
    for (let j = 1; j < count; j++) {
      const hi = modelLevels[j] as number;
      if (level <= hi) {
        const lo = modelLevels[j - 1] as number;
        const w = (level - lo) / (hi - lo);
        // Weighted sum rather than a + w·(b − a): never subtracts two large values.
        return (raw[row + j - 1] as number) * (1 - w) + (raw[row + j] as number) * w;
      }
    }
    return raw[row + count - 1] as number;
  };
  const mean = new Float64Array(horizon);
  const quantiles = levels.map(() => new Float64Array(horizon));
  for (let h = 0; h < horizon; h++) {
    mean[h] = at(h, 0.5);
    levels.forEach((level, i) => {
      (quantiles[i] as Float64Array)[h] = at(h, level);
    });
  }
  return { mean, quantiles };
}
