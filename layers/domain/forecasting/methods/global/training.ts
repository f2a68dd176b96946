import { ValidationError } from "../../../errors.js";
import type { FitContext, SeriesInput } from "../method.js";
import {
  ANCHOR_COUNT,
  encodeWindow,
  type FeatureLayout,
  type SeriesPrefix,
  type StaticFeature,
  seriesPrefix,
  staticIndices,
} from "./features.js";
import {
  type CohortScales,
  cohortScale,
  cohortSignature,
  type GlobalModel,
  headShape,
  modelMemberSize,
  networkShape,
} from "./global-model.js";
import {
  adamState,
  adamStep,
  initMlp,
  markWeights,
  mlpBackward,
  mlpForward,
  mlpParameterCount,
  mlpWorkspace,
} from "./network.js";
import {
  ANCHOR_GAIN,
  headInputSize,
  headLoss,
  headScratch,
  inverseSoftplus,
  knotCount,
  middleLevelIndex,
} from "./quantile-head.js";
import { type Random, seededRandom } from "./random.js";

/**
 * Training of the global model: minibatch AdamW on the pinball loss summed over quantile levels
 * and forecast steps, over windows sampled uniformly from the training part of every series.
 *
 * Cold start is trained, not bolted on: a share of the windows hide all but the last k ≤ one day
 * of their history (k = 0 hides everything; otherwise k is log-uniform, so a handful of points
 * is practised often), so the network learns what to forecast from a few points, or from the
 * static features and the cohort's scale alone.
 *
 * The budget is counted in arithmetic, not seconds, so training stays deterministic: the number
 * of steps is `trainingFlops / (6 · parameters · batch)` (forward plus backward is about six
 * floating-point operations per parameter and sample), capped by `maxSteps` and by `maxEpochs`
 * passes over the available windows. At the ~3 GFLOP/s this hand-written code reaches on one
 * core, the default 1.5·10¹¹ is about 50 s of training.
 */

/** Options of the global model; every one has a default. */
export interface GlobalModelOptions {
  /** Widths of the hidden layers. @default [128, 128] */
  readonly hiddenSizes?: readonly number[];
  /** Recent lags fed to the network. @default 64 (capped at one day) */
  readonly recentLags?: number;
  /** Use weekly lags when FitContext gives a week and the median series holds a week and two days. @default true */
  readonly useWeekly?: boolean;
  /**
   * Networks trained with different seeds whose quantiles are averaged (Vincentization keeps
   * them monotone). The budget is shared: each member gets trainingFlops / ensembleSize.
   * @default 1
   */
  readonly ensembleSize?: number;
  /** Windows per minibatch. @default 256 */
  readonly batchSize?: number;
  /** Training arithmetic budget in floating-point operations. @default 1.5e11 */
  readonly trainingFlops?: number;
  /** Most optimiser steps. @default 4000 */
  readonly maxSteps?: number;
  /** Most passes over the available training windows. @default 20 */
  readonly maxEpochs?: number;
  /** Peak learning rate (after a short warm-up, cosine decay to a tenth). @default 0.002 */
  readonly learningRate?: number;
  /** AdamW decoupled weight decay. @default 0.0001 */
  readonly weightDecay?: number;
  /**
   * Series are sampled in proportion to (windows × mean |y|^exponent): 0 weighs every window
   * alike; 1 weighs windows by the series' size, as wQL (a loss pooled over series in their own
   * units) does. @default 0
   */
  readonly sizeExponent?: number;
  /** Share of training windows with their history hidden (cold-start practice). @default 0.1 */
  readonly coldStartShare?: number;
  /** Values of a static feature seen on fewer series than this map to "other". @default 2 */
  readonly minSeriesPerValue?: number;
  /** Most vocabulary entries per static feature. @default 32 */
  readonly maxValuesPerFeature?: number;
  /** Clamp forecasts at 0. @default true */
  readonly nonNegative?: boolean;
  /** A context holding one repeated value forecasts that value with zero width. @default true */
  readonly flatWhenConstant?: boolean;
  /**
   * Quantiles within this fraction of the series' scale of its last observed value are set to
   * it (piecewise-constant demand has an atom there). @default 0.001
   */
  readonly snapTolerance?: number;
  /** Called after every optimiser step with the minibatch's mean pinball loss (scaled units). */
  readonly onStep?: (step: number, steps: number, loss: number) => void;
}

const DEFAULTS = {
  hiddenSizes: [128, 128] as readonly number[],
  recentLags: 64,
  useWeekly: true,
  ensembleSize: 1,
  batchSize: 256,
  trainingFlops: 1.5e11,
  maxSteps: 4000,
  maxEpochs: 20,
  learningRate: 0.002,
  weightDecay: 0.0001,
  sizeExponent: 0,
  coldStartShare: 0.1,
  minSeriesPerValue: 2,
  maxValuesPerFeature: 32,
  nonNegative: true,
  flatWhenConstant: true,
  snapTolerance: 0.001,
  onStep: undefined as ((step: number, steps: number, loss: number) => void) | undefined,
};

/** Most seasonal input blocks per season; longer horizons average runs of lags. */
const MAX_SEASONAL_BLOCKS = 64;
/** Most knots of the head; longer horizons interpolate between knots. */
const MAX_OUTPUT_KNOTS = 72;
/** Steps of linear learning-rate warm-up. */
const WARMUP_STEPS = 100;
/** Gradients are rescaled when their global norm exceeds this. */
const MAX_GRAD_NORM = 10;
/** Initial gap between neighbouring quantiles, in scales. */
const INITIAL_INCREMENT = 0.05;

/** Options with every default filled in. */
export type ResolvedGlobalOptions = typeof DEFAULTS;

/**
 * Fills in defaults and checks ranges.
 *
 * @throws ValidationError naming every option out of range
 */
export function resolveGlobalOptions(options: GlobalModelOptions = {}): ResolvedGlobalOptions {
  const merged = { ...DEFAULTS, ...options } as ResolvedGlobalOptions;
  const problems: { field: string; message: string }[] = [];
  const intIn = (field: string, value: number, min: number, max: number) => {
    if (!(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push({ field, message: `is ${value}; expected an integer in [${min}, ${max}]` });
    }
  };
  const numIn = (field: string, value: number, min: number, max: number) => {
    if (!(Number.isFinite(value) && value >= min && value <= max)) {
      problems.push({ field, message: `is ${value}; expected a number in [${min}, ${max}]` });
    }
  };
  merged.hiddenSizes.forEach((w, i) => {
    intIn(`hiddenSizes.${i}`, w, 1, 4096);
  });
  if (merged.hiddenSizes.length > 8) {
    problems.push({ field: "hiddenSizes", message: "has more than 8 layers; expected at most 8" });
  }
  intIn("recentLags", merged.recentLags, 1, 10_000);
  intIn("ensembleSize", merged.ensembleSize, 1, 64);
  intIn("batchSize", merged.batchSize, 1, 65_536);
  numIn("trainingFlops", merged.trainingFlops, 0, 1e15);
  intIn("maxSteps", merged.maxSteps, 0, 10_000_000);
  numIn("maxEpochs", merged.maxEpochs, 0, 1e6);
  numIn("learningRate", merged.learningRate, 0, 1);
  numIn("weightDecay", merged.weightDecay, 0, 1);
  numIn("snapTolerance", merged.snapTolerance, 0, 1);
  numIn("sizeExponent", merged.sizeExponent, 0, 2);
  numIn("coldStartShare", merged.coldStartShare, 0, 1);
  intIn("minSeriesPerValue", merged.minSeriesPerValue, 1, 1_000_000);
  intIn("maxValuesPerFeature", merged.maxValuesPerFeature, 0, 10_000);
  if (problems.length > 0) {
    throw new ValidationError(
      `Invalid global model options: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}.`,
      problems,
    );
  }
  return merged;
}

/** One training series, prepared once. */
interface Prepared {
  /**
   * Training values divided by their largest magnitude (NaN = missing), in 32 bits: ample for
   * a network's input and half the memory for 10,000 series of thousands of points.
   */
  readonly values: Float32Array;
  readonly prefix: SeriesPrefix;
  readonly unit: number;
  readonly startSeconds: number;
  readonly stepSeconds: number;
  readonly staticIndex: Int32Array;
  /** Cohort scale in this series' units. */
  readonly cohortScale: number;
  /** Origins that can be sampled: 1…windows. */
  readonly windows: number;
  /** Sampling weight of the series (windows × size^exponent). */
  readonly weight: number;
}

/** Statistics of a training run, for reports. */
export interface TrainingReport {
  readonly steps: number;
  readonly batchSize: number;
  readonly parameters: number;
  /** Mean pinball loss per scored value over the first and last tenth of the steps (scaled units). */
  readonly initialLoss: number;
  readonly finalLoss: number;
}

/**
 * Trains a global model on the training part of every series.
 *
 * @param series the series (values after `context.trainEnd[i]` are never read)
 * @param context season, horizon, quantile levels, training ends, seed
 * @param options architecture and budget (see `GlobalModelOptions`)
 * @returns the model and a report of the run
 * @throws ValidationError when the context or options are out of range
 */
export function trainGlobalModel(
  series: readonly SeriesInput[],
  context: FitContext,
  options: GlobalModelOptions = {},
): { model: GlobalModel; report: TrainingReport } {
  const settings = resolveGlobalOptions(options);
  const levels = checkContext(context);
  const trainEnds = series.map((s, i) =>
    Math.max(0, Math.min(s.values.length, Math.floor(context.trainEnd?.[i] ?? s.values.length))),
  );
  const layout = chooseLayout(series, trainEnds, context, settings);
  const cohorts = cohortScales(series, trainEnds, layout);
  const model: GlobalModel = {
    layout,
    levels,
    hiddenSizes: [...settings.hiddenSizes],
    params: new Float64Array(0),
    cohorts,
    nonNegative: settings.nonNegative,
    flatWhenConstant: settings.flatWhenConstant,
    snapTolerance: settings.snapTolerance,
    ensembleSize: settings.ensembleSize,
  };
  const prepared = series.map((s, i) =>
    prepare(s, trainEnds[i] as number, model, settings.sizeExponent),
  );

  const totalWindows = prepared.reduce((sum, p) => sum + p.windows, 0);
  const cumulative = new Float64Array(prepared.length);
  const totalWeight = prepared.reduce((sum, p, i) => {
    cumulative[i] = sum + p.weight;
    return sum + p.weight;
  }, 0);
  const sampler: Sampler = { prepared, cumulative, totalWeight, totalWindows };
  const memberSize = modelMemberSize(model);
  const params = new Float64Array(memberSize * settings.ensembleSize);
  const runs: MemberRun[] = [];
  for (let member = 0; member < settings.ensembleSize; member++) {
    // Members differ only in their seed (initialisation and the windows they see).
    const random = seededRandom(context.seed + member * 7919);
    const slice = params.subarray(member * memberSize, (member + 1) * memberSize);
    runs.push(trainMember(model, sampler, settings, random, slice));
  }
  // Round to 32-bit floats so the serialised model (base64 float32) forecasts identically.
  for (let i = 0; i < params.length; i++) params[i] = Math.fround(params[i] as number);
  const mean = (pick: (r: MemberRun) => number) =>
    runs.reduce((sum, r) => sum + pick(r), 0) / Math.max(1, runs.length);
  return {
    model: { ...model, params },
    report: {
      steps: runs.reduce((sum, r) => sum + r.steps, 0),
      batchSize: settings.batchSize,
      parameters: params.length,
      initialLoss: mean((r) => r.initialLoss),
      finalLoss: mean((r) => r.finalLoss),
    },
  };
}

/** Where training windows are drawn from. */
interface Sampler {
  readonly prepared: readonly Prepared[];
  /** Cumulative sampling weight per series. */
  readonly cumulative: Float64Array;
  readonly totalWeight: number;
  readonly totalWindows: number;
}

interface MemberRun {
  readonly steps: number;
  readonly initialLoss: number;
  readonly finalLoss: number;
}

/**
 * Trains one ensemble member into `params` (its slice of the model's parameters), with
 * `trainingFlops / ensembleSize` of the budget.
 */
function trainMember(
  model: GlobalModel,
  sampler: Sampler,
  settings: ResolvedGlobalOptions,
  random: Random,
  params: Float64Array,
): MemberRun {
  const { layout, levels } = model;
  const shape = networkShape(layout, levels, model.hiddenSizes);
  const head = headShape(layout, levels);
  const networkSize = mlpParameterCount(shape);
  const alphaAt = networkSize;
  initMlp(shape, params, 0, random, 0.1);
  initHead(params, networkSize, layout, levels);
  const decayMask = new Uint8Array(params.length);
  markWeights(shape, decayMask, 0);

  const batch = settings.batchSize;
  const steps =
    sampler.totalWindows === 0 || !(sampler.totalWeight > 0)
      ? 0
      : Math.max(
          1,
          Math.min(
            settings.maxSteps,
            Math.floor(
              settings.trainingFlops / settings.ensembleSize / (6 * params.length * batch),
            ),
            Math.ceil((settings.maxEpochs * sampler.totalWindows) / batch),
          ),
        );

  const input = new Float64Array(batch * shape.inputSize);
  const anchors = new Float64Array(batch * layout.horizon * ANCHOR_COUNT);
  const targets = new Float64Array(batch * layout.horizon);
  const rawGrad = new Float64Array(batch * shape.outputSize);
  const scratch = headScratch(head);
  const quantiles = new Float64Array(layout.horizon * levels.length);
  const grad = new Float64Array(params.length);
  const workspace = mlpWorkspace(shape, batch);
  const adam = adamState(params.length);
  const adamSettings = {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: settings.weightDecay,
  };
  const elementWeight = 1 / (batch * layout.horizon * levels.length);
  const tenth = Math.max(1, Math.floor(steps / 10));
  let initialLoss = 0;
  let finalLoss = 0;

  for (let step = 0; step < steps; step++) {
    for (let b = 0; b < batch; b++) {
      sampleWindow(sampler, layout, settings, random, {
        input,
        inputAt: b * shape.inputSize,
        anchors,
        anchorsAt: b * layout.horizon * ANCHOR_COUNT,
        targets,
        targetsAt: b * layout.horizon,
      });
    }
    const raw = mlpForward(shape, params, 0, input, batch, workspace);
    grad.fill(0);
    let loss = 0;
    for (let b = 0; b < batch; b++) {
      loss += headLoss(
        head,
        params,
        alphaAt,
        raw,
        b * shape.outputSize,
        anchors,
        b * layout.horizon * ANCHOR_COUNT,
        targets,
        b * layout.horizon,
        elementWeight,
        scratch,
        quantiles,
        rawGrad,
        grad,
      );
    }
    mlpBackward(shape, params, 0, input, batch, workspace, rawGrad, grad);
    clipGradient(grad);
    const progress = step / Math.max(1, steps);
    const warm = Math.min(1, (step + 1) / WARMUP_STEPS);
    const rate = settings.learningRate * warm * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
    adamStep(params, grad, adam, rate, adamSettings, decayMask);
    // The loss is already a mean per scored value (elementWeight = 1 / values in the batch).
    settings.onStep?.(step, steps, loss);
    if (step < tenth) initialLoss += loss / tenth;
    if (step >= steps - tenth) finalLoss += loss / tenth;
  }
  return { steps, initialLoss, finalLoss };
}

function checkContext(context: FitContext): number[] {
  const problems: { field: string; message: string }[] = [];
  const positive = (field: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 1_000_000)) {
      problems.push({ field, message: `is ${value}; expected an integer in [1, 1000000]` });
    }
  };
  positive("seasonLength", context.seasonLength);
  positive("horizon", context.horizon);
  positive("weeklySeasonLength", context.weeklySeasonLength);
  const levels = [...context.quantiles];
  if (levels.length === 0)
    problems.push({ field: "quantiles", message: "is empty; expected at least one level" });
  levels.forEach((level, i) => {
    if (!(level > 0 && level < 1)) {
      problems.push({
        field: `quantiles.${i}`,
        message: `is ${level}; expected a level in (0, 1)`,
      });
    } else if (i > 0 && !(level > (levels[i - 1] as number))) {
      problems.push({
        field: `quantiles.${i}`,
        message: `is ${level}; expected levels strictly ascending`,
      });
    }
  });
  if (problems.length > 0) {
    throw new ValidationError(
      `Invalid fit context for the global model: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}.`,
      problems,
    );
  }
  return levels;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function chooseLayout(
  series: readonly SeriesInput[],
  trainEnds: readonly number[],
  context: FitContext,
  settings: ResolvedGlobalOptions,
): FeatureLayout {
  const m = context.seasonLength;
  const week = context.weeklySeasonLength ?? 0;
  const useWeekly = settings.useWeekly && week > 0 && median([...trainEnds]) >= week + 2 * m;
  const blockCount = Math.min(24, m);
  return {
    seasonLength: m,
    weeklySeasonLength: useWeekly ? week : 0,
    horizon: context.horizon,
    recentLags: Math.min(settings.recentLags, Math.max(m, 1)),
    seasonalPre: Math.min(12, m),
    seasonalStride: Math.ceil((context.horizon + Math.min(12, m)) / MAX_SEASONAL_BLOCKS),
    outputStride: Math.ceil(context.horizon / MAX_OUTPUT_KNOTS),
    blockCount,
    blockSize: Math.ceil(m / blockCount),
    scaleWindow: Math.max(settings.recentLags, m),
    longWindow: useWeekly ? week : 7 * m,
    staticFeatures: vocabulary(series, settings),
  };
}

function vocabulary(
  series: readonly SeriesInput[],
  settings: ResolvedGlobalOptions,
): StaticFeature[] {
  const counts = new Map<string, Map<string, number>>();
  for (const s of series) {
    for (const [key, value] of Object.entries(s.features ?? {})) {
      const byValue = counts.get(key) ?? new Map<string, number>();
      byValue.set(value, (byValue.get(value) ?? 0) + 1);
      counts.set(key, byValue);
    }
  }
  return [...counts.keys()].sort().map((key) => {
    const byValue = counts.get(key) ?? new Map<string, number>();
    const values = [...byValue.entries()]
      .filter(([, n]) => n >= settings.minSeriesPerValue)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, settings.maxValuesPerFeature)
      .map(([value]) => value)
      .sort();
    return { key, values };
  });
}

function meanAbs(values: ArrayLike<number>, end: number): number | undefined {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < end; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      sum += Math.abs(v);
      count++;
    }
  }
  const mean = sum / count;
  return count > 0 && Number.isFinite(mean) ? mean : undefined;
}

function cohortScales(
  series: readonly SeriesInput[],
  trainEnds: readonly number[],
  layout: FeatureLayout,
): CohortScales {
  const bySignature = new Map<string, number[]>();
  const byFeature = new Map<string, number[]>();
  const all: number[] = [];
  series.forEach((s, i) => {
    const scale = meanAbs(s.values, trainEnds[i] as number);
    if (scale === undefined || !(scale > 0)) return;
    all.push(scale);
    const signature = cohortSignature(layout, s.features);
    bySignature.set(signature, [...(bySignature.get(signature) ?? []), scale]);
    for (const f of layout.staticFeatures) {
      const key = `${f.key}=${s.features?.[f.key] ?? ""}`;
      byFeature.set(key, [...(byFeature.get(key) ?? []), scale]);
    }
  });
  const medians = (map: Map<string, number[]>) =>
    Object.fromEntries([...map.entries()].map(([k, v]) => [k, median(v)]));
  return { bySignature: medians(bySignature), byFeature: medians(byFeature), overall: median(all) };
}

function prepare(
  series: SeriesInput,
  trainEnd: number,
  model: GlobalModel,
  sizeExponent: number,
): Prepared {
  let unit = 0;
  for (let i = 0; i < trainEnd; i++) {
    const v = series.values[i] as number;
    if (Number.isFinite(v)) unit = Math.max(unit, Math.abs(v));
  }
  if (!(unit > 0)) unit = 1;
  const values = new Float32Array(trainEnd);
  for (let i = 0; i < trainEnd; i++) {
    const v = series.values[i] as number;
    values[i] = Number.isFinite(v) ? v / unit : Number.NaN;
  }
  const horizon = model.layout.horizon;
  const windows = trainEnd > horizon ? trainEnd - horizon : Math.max(0, trainEnd - 1);
  return {
    values,
    prefix: seriesPrefix(values),
    unit,
    startSeconds: series.startSeconds,
    stepSeconds: series.stepSeconds,
    staticIndex: staticIndices(model.layout, series.features),
    cohortScale: cohortScale(model, series.features) / unit,
    windows,
    weight: windows * (meanAbs(series.values, trainEnd) ?? 0) ** sizeExponent,
  };
}

function initHead(
  params: Float64Array,
  networkSize: number,
  layout: FeatureLayout,
  levels: readonly number[],
): void {
  // The base starts as a blend of the last value and the value a day back, the last value
  // fading over a couple of hours' worth of steps (τ = m/12: 24 steps at 5 minutes). The
  // increments start small; the output layer's biases (its last parameters, before none) set them.
  const fade = Math.max(3, layout.seasonLength / 12);
  for (let h = 1; h <= layout.horizon; h++) {
    const last = 1 / (1 + h / fade);
    const at = networkSize + (h - 1) * ANCHOR_COUNT;
    params[at] = last / ANCHOR_GAIN;
    params[at + 1] = (1 - last) / ANCHOR_GAIN;
  }
  const head = headShape(layout, levels);
  const outputs = headInputSize(head);
  const mid = middleLevelIndex(levels);
  const biasAt = networkSize - outputs;
  for (let knot = 0; knot < knotCount(head); knot++) {
    levels.forEach((_, j) => {
      if (j !== mid) params[biasAt + knot * levels.length + j] = inverseSoftplus(INITIAL_INCREMENT);
    });
  }
}

interface SampleTarget {
  readonly input: Float64Array;
  readonly inputAt: number;
  readonly anchors: Float64Array;
  readonly anchorsAt: number;
  readonly targets: Float64Array;
  readonly targetsAt: number;
}

/** Most draws before a window with a scale and an observed target is found. */
const MAX_DRAWS = 64;

function sampleWindow(
  sampler: Sampler,
  layout: FeatureLayout,
  settings: ResolvedGlobalOptions,
  random: Random,
  target: SampleTarget,
): void {
  const { prepared, cumulative } = sampler;
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const pick = random.next() * sampler.totalWeight;
    let lo = 0;
    let hi = prepared.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > pick) hi = mid;
      else lo = mid + 1;
    }
    const p = prepared[lo] as Prepared;
    const origin = 1 + random.int(p.windows);
    const first =
      random.next() < settings.coldStartShare ? origin - coldHistory(layout, random) : 0;
    const encoded = encodeWindow(
      layout,
      {
        values: p.values,
        prefix: p.prefix,
        first,
        origin,
        originSeconds: p.startSeconds + origin * p.stepSeconds,
        stepSeconds: p.stepSeconds,
        staticIndex: p.staticIndex,
        cohortScale: p.cohortScale,
      },
      target,
    );
    const s = encoded.scale;
    if (!(s > 0)) continue;
    let observed = 0;
    for (let h = 0; h < layout.horizon; h++) {
      const i = origin + h;
      const v = i < p.values.length ? (p.values[i] as number) : Number.NaN;
      target.targets[target.targetsAt + h] = v / s;
      if (!Number.isNaN(v)) observed++;
    }
    if (observed > 0) return;
  }
  // Nothing usable found (e.g. every series idle): a window that contributes no loss.
  target.targets.fill(Number.NaN, target.targetsAt, target.targetsAt + layout.horizon);
}

/**
 * Steps of history a cold-start practice window keeps: none a quarter of the time, else
 * log-uniform in 1…one day, so a few points (the hardest, commonest case of a new user) are
 * practised as often as half a day.
 */
function coldHistory(layout: FeatureLayout, random: Random): number {
  if (random.next() < 0.25) return 0;
  return Math.min(
    layout.seasonLength,
    Math.floor(Math.exp(random.next() * Math.log(layout.seasonLength + 1))),
  );
}

function clipGradient(grad: Float64Array): void {
  let norm = 0;
  for (let i = 0; i < grad.length; i++) norm += (grad[i] as number) ** 2;
  norm = Math.sqrt(norm);
  if (norm > MAX_GRAD_NORM) {
    const factor = MAX_GRAD_NORM / norm;
    for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) * factor;
  }
}
