import {
  ConformalForecaster,
  type ConformalOptions,
  type ConformalSettings,
  calibrate,
  calibrationSpan,
  conformalSettings,
  localScaleAt,
  type SeriesScale,
  seriesScale,
} from "./conformal.js";
import { crostonMethod } from "./croston.js";
import { type Combination, EnsembleForecaster } from "./ensemble-forecaster.js";
import { etsMethod } from "./ets.js";
import type {
  FitContext,
  FittedMethod,
  ForecastMethod,
  SeriesForecaster,
  SeriesInput,
} from "./method.js";
import { checkFitInputs } from "./method-inputs.js";
import { pointForecastInto } from "./point-forecaster.js";
import { seasonalNaiveMethod } from "./seasonal-naive-method.js";
import {
  combineMatrices,
  conformalBlockLosses,
  conformalScore,
  pairedTStatistic,
  type SpanLayout,
  studentQuantile,
} from "./selection-score.js";
import { isIntermittent, isStepShaped, profileSeries } from "./series-profile.js";

/**
 * "shaper": the product's own forecasting method. Per series it forecasts with one candidate
 * point method or a combination of several (their mean or median), chosen by a rolling backtest
 * on the last part of the training data, and wraps the choice in conformal calibration
 * (conformal.ts), so every forecast has calibrated quantiles.
 *
 * Fit, per series with training end T and calibration span C (conformal.ts: the horizon plus a
 * day of steps, at most a third of the training part):
 * 1. every candidate is fitted on [0, T − C) — all series at once, so a global candidate learns
 *    across series as usual; intermittent series (series-profile.ts: > 50 % zeros) also get the
 *    intermittent candidates (Croston, SBA, TSB);
 * 2. each candidate's forecaster rolls through [T − C, T), forecasting the full horizon from every
 *    `stride`-th origin;
 * 3. every option — each candidate alone, and the mean and the median of every subset of the
 *    shared candidates up to `maxCombinationSize` — is scored by the weighted quantile loss its
 *    conformal intervals would get on those forecasts (selection-score.ts);
 * 4. the default option is the one with the lowest mean score across the series of the fit,
 *    each series' scores taken relative to its best (so every series counts alike) — except for
 *    step-shaped series (series-profile.ts: over 90 % of consecutive values repeat exactly), whose
 *    default is the naive forecast, the only one that is exactly right on their flat stretches; a
 *    series uses its own best option instead only when that beats its default by `switchMargin`
 *    on its own span, and does so consistently over the span (a paired test on blocks of
 *    origins, `switchSignificance`) — a day of forecasts is thin evidence, the whole fit's is not,
 *    and among dozens of options the best total on a span whose losses sit in a few jumps is
 *    mostly luck;
 * 5. the chosen option's errors over the span seed its conformal calibrator, so the forecaster
 *    starts at T calibrated, then rolls on incrementally (no refit) and keeps calibrating on its
 *    own errors.
 *
 * Incremental use across processes: a forecaster's `state()` is a versioned JSON document
 * (forecaster-snapshot.ts: the chosen members' parameters and states, the calibrator, the
 * pending forecasts; 17–25 KB per series at 5-minute steps and a 1-hour horizon, about 40 KB when
 * a weekly-season ETS is chosen), and `forecastFromState` (forecaster-state.ts) resumes it on a
 * user's latest history, forecasting exactly what the fitted forecaster would have.
 *
 * Candidates are configurable, so the global model plugs in:
 * `shaperMethod({ candidates: [...defaultCandidates(), globalMethod] })`.
 */

export interface ShaperOptions {
  /** Name in reports and the model registry. @default "shaper" */
  readonly name?: string;
  /** Candidate point methods for every series. @default defaultCandidates() */
  readonly candidates?: readonly ForecastMethod[];
  /** Extra candidates for intermittent series only. @default defaultIntermittentCandidates() */
  readonly intermittentCandidates?: readonly ForecastMethod[];
  /** Largest subset of the shared candidates combined (1 = no combinations). @default 3 */
  readonly maxCombinationSize?: number;
  /** How subsets combine. @default ["mean", "median"] (median for 3 or more members) */
  readonly combinations?: readonly Combination[];
  /**
   * Relative improvement over the default option a series' own best option must show on the
   * series' span to be used instead (0 with `switchSignificance` 0 = always the series' own best;
   * Infinity = always the default). @default 0.25
   */
  readonly switchMargin?: number;
  /** Calibration span, stride, error memory, local scale (conformal.ts). */
  readonly conformal?: ConformalOptions;
  /**
   * How consistently a series' own best option must beat the default over time to be used: the
   * paired t statistic of their per-block losses (`pairedBlockT`) must lie below minus this
   * standard-normal critical value, turned into Student's t for the blocks' degrees of freedom
   * (0 = the totals and `switchMargin` alone decide). @default 1.96 (a one-sided 2.5 % test)
   */
  readonly switchSignificance?: number;
  /**
   * Candidate that is the default option of step-shaped series (series-profile.ts: over 90 % of
   * consecutive values repeat exactly) instead of the fit's common default; their own best option
   * replaces it under the same margin and significance. `false`, or a name not among the
   * candidates, gives step-shaped series the common default. @default "naive"
   */
  readonly stepDefault?: string | false;
}

export const DEFAULT_SWITCH_MARGIN = 0.25;
export const DEFAULT_SWITCH_SIGNIFICANCE = 1.96;
const DEFAULT_MAX_COMBINATION_SIZE = 3;
const DEFAULT_COMBINATIONS: readonly Combination[] = ["mean", "median"];

/** What was chosen for one series. */
export interface ShaperChoice {
  /** Names of the candidates used (one, or the members of the combination). */
  readonly members: readonly string[];
  /** How the members combine; "single" for one. */
  readonly combination: Combination | "single";
  /** Whether this is the fit's default option or the series' own best. */
  readonly source: "default" | "own";
  /** The option's selection score on the series' span (lower is better). */
  readonly score: number;
}

/** The fitted shaper method; `choiceOf` tells what each series uses (for reports). */
export interface FittedShaper extends FittedMethod {
  choiceOf(index: number): ShaperChoice;
}

/**
 * The default candidates, in order of preference on ties:
 * - "ets": ETS without trend — ETS(A,N,N) or ETS(A,N,A) with the daily season, chosen by AICc —
 *   whose parameters minimise the squared errors over the forecast horizon rather than one step
 *   ahead (on the traces this smooths more and wins at 1-hour horizons);
 * - "naive": the last observed value (ETS with α = 1), the best forecast of step-shaped series;
 * - "ets-damped": ETS with a damped trend, ETS(A,Ad,N) or ETS(A,Ad,A), fitted by likelihood —
 *   trend models compete by backtest rather than by AICc against the level models: AICc judges
 *   one-step errors, where a trend fitted across the jumps of a step-shaped series looks good and
 *   then overshoots for the whole horizon;
 * - "ets-weekly": ETS(A,N,A) or ETS(A,Ad,A) with the weekly season (offered only when some series
 *   holds two weeks before its calibration span);
 * - "seasonal-naive": the floor.
 */
export function defaultCandidates(): ForecastMethod[] {
  return [
    etsMethod({ name: "ets", models: ["ANN", "ANA"], criterion: "horizon" }),
    etsMethod({ name: "naive", models: [] }),
    etsMethod({ name: "ets-damped", models: ["AAdN", "AAdA"] }),
    etsMethod({ name: "ets-weekly", seasonality: "weekly", models: ["ANA", "AAdA"] }),
    seasonalNaiveMethod(),
  ];
}

/** Croston, SBA and TSB, for intermittent series. */
export function defaultIntermittentCandidates(): ForecastMethod[] {
  return [
    crostonMethod({ variant: "croston" }),
    crostonMethod({ variant: "sba" }),
    crostonMethod({ variant: "tsb" }),
  ];
}

/** One way to forecast a series: candidate indices and how they combine. */
interface Option {
  readonly members: readonly number[];
  readonly combination: Combination | "single";
}

/**
 * Creates the shaper method.
 *
 * @param options candidates, combinations, switch margin, conformal settings
 * @returns a method whose `fit` is asynchronous only when a candidate's is
 * @example
 * const fitted = await shaperMethod().fit(series, { seasonLength: 288, weeklySeasonLength: 2016, horizon: 12, quantiles: [0.1, 0.5, 0.9], seed: 7 });
 * const f = fitted.forSeries(0);
 * f.forecast(12).quantiles[2]; // calibrated 0.9 quantile, 12 steps
 */
export function shaperMethod(options: ShaperOptions = {}): ForecastMethod {
  const name = options.name ?? "shaper";
  return {
    name,
    fit(series: readonly SeriesInput[], context: FitContext) {
      const ends = checkFitInputs(name, series, context);
      const settings = conformalSettings(options.conformal ?? {}, context);
      const froms = Array.from(
        ends,
        (end) => end - calibrationSpan(end, settings, context.seasonLength),
      );
      const candidates = (options.candidates ?? defaultCandidates()).filter(
        (c) => c.name !== "ets-weekly" || weeklyUsable(context, froms),
      );
      const extra = options.intermittentCandidates ?? defaultIntermittentCandidates();
      const profiles = series.map((s, i) => profileSeries(s.values, ends[i] as number));
      const intermittent = profiles.flatMap((p, i) => (isIntermittent(p) ? [i] : []));
      const stepShaped = profiles.map(isStepShaped);
      const subset = intermittent.map((i) => series[i] as SeriesInput);
      const regular = candidates.map((c) => c.fit(series, { ...context, trainEnd: froms }));
      const sparse =
        subset.length > 0
          ? extra.map((c) =>
              c.fit(subset, { ...context, trainEnd: intermittent.map((i) => froms[i] as number) }),
            )
          : [];
      const finish = (fits: readonly FittedMethod[], sparseFits: readonly FittedMethod[]) =>
        select(name, series, { ends, froms, settings, stepShaped }, options, {
          fits,
          sparseFits,
          intermittent,
        });
      if ([...regular, ...sparse].some((f) => f instanceof Promise)) {
        return Promise.all([Promise.all(regular), Promise.all(sparse)]).then(([a, b]) =>
          finish(a, b),
        );
      }
      return finish(regular as FittedMethod[], sparse as FittedMethod[]);
    },
  };
}

function weeklyUsable(context: FitContext, froms: readonly number[]): boolean {
  const weekly = context.weeklySeasonLength;
  return weekly !== undefined && froms.some((from) => from >= 2 * weekly);
}

interface CandidateFits {
  readonly fits: readonly FittedMethod[];
  readonly sparseFits: readonly FittedMethod[];
  /** Series indices that got the intermittent candidates (in `sparseFits`' order). */
  readonly intermittent: readonly number[];
}

interface Spans {
  readonly ends: Int32Array;
  readonly froms: readonly number[];
  readonly settings: ConformalSettings;
  /** Per series, whether its training part is step-shaped (series-profile.ts). */
  readonly stepShaped: readonly boolean[];
}

/**
 * The options: each shared candidate alone, then combinations of shared candidates (by size),
 * then each extra candidate alone. Shared options come first and are the same for every series.
 */
function enumerateOptions(
  shared: number,
  extra: number,
  maxSize: number,
  combinations: readonly Combination[],
): Option[] {
  const options: Option[] = [];
  for (let c = 0; c < shared; c++) options.push({ members: [c], combination: "single" });
  const subsets = (size: number, start: number, prefix: number[]): number[][] =>
    prefix.length === size
      ? [prefix]
      : Array.from({ length: shared - start }, (_, k) => start + k).flatMap((c) =>
          subsets(size, c + 1, [...prefix, c]),
        );
  for (let size = 2; size <= Math.min(maxSize, shared); size++) {
    for (const members of subsets(size, 0, [])) {
      for (const combination of combinations) {
        // The median of two is their mean: offered once.
        if (combination === "median" && size < 3) continue;
        options.push({ members, combination });
      }
    }
  }
  for (let c = 0; c < extra; c++) options.push({ members: [shared + c], combination: "single" });
  return options;
}

function select(
  name: string,
  series: readonly SeriesInput[],
  spans: Spans,
  shaper: ShaperOptions,
  candidates: CandidateFits,
): FittedShaper {
  const { ends, froms, settings, stepShaped } = spans;
  const shared = candidates.fits.length;
  const sparseIndex = new Map<number, number>(candidates.intermittent.map((s, k) => [s, k]));
  const namesOf = (i: number): string[] => [
    ...candidates.fits.map((f) => f.name),
    ...(sparseIndex.has(i) ? candidates.sparseFits.map((f) => f.name) : []),
  ];
  /** Fresh forecaster of candidate c for series i, at its calibration start. */
  const make = (i: number, c: number): SeriesForecaster => {
    if (c < shared) return (candidates.fits[c] as FittedMethod).forSeries(i);
    const k = sparseIndex.get(i) as number;
    return (candidates.sparseFits[c - shared] as FittedMethod).forSeries(k);
  };
  const maxSize = Math.max(1, shaper.maxCombinationSize ?? DEFAULT_MAX_COMBINATION_SIZE);
  const combinations = shaper.combinations ?? DEFAULT_COMBINATIONS;
  const sharedOptions = enumerateOptions(shared, 0, maxSize, combinations);
  const sparseOptions = enumerateOptions(
    shared,
    candidates.sparseFits.length,
    maxSize,
    combinations,
  );
  const optionsOf = (i: number) => (sparseIndex.has(i) ? sparseOptions : sharedOptions);

  // Pass 1: every option's score on every series' span.
  const workspace = new Workspace();
  const scales = series.map((s, i) => seriesScale(s.values, ends[i] as number));
  const scores = series.map((s, i) => {
    const options = optionsOf(i);
    const forecasters = namesOf(i).map((_, c) => make(i, c));
    return scoreOptions(s.values, forecasters, options, {
      from: froms[i] as number,
      end: ends[i] as number,
      scale: scales[i] as SeriesScale,
      settings,
      workspace,
    });
  });

  // The default option, then each series' choice.
  const stepName = shaper.stepDefault ?? "naive";
  const stepIndex = stepName === false ? -1 : candidates.fits.findIndex((f) => f.name === stepName);
  const ownDefault = (i: number) => stepIndex >= 0 && stepShaped[i] === true;
  // Step-shaped series with a default of their own do not sway the others'.
  const common = defaultOption(
    scores.filter((_, i) => !ownDefault(i)),
    sharedOptions.length,
  );
  const margin = shaper.switchMargin ?? DEFAULT_SWITCH_MARGIN;
  const significance = shaper.switchSignificance ?? DEFAULT_SWITCH_SIGNIFICANCE;
  /** Whether series i's option `own` beats option `fallback` consistently over its span. */
  const consistent = (i: number, own: number, fallback: number): boolean => {
    if (!(significance > 0)) return true;
    const options = optionsOf(i);
    const a = options[own] as Option;
    const b = options[fallback] as Option;
    const used = [...new Set([...a.members, ...b.members])];
    const local = (o: Option): Option => ({
      members: o.members.map((c) => used.indexOf(c)),
      combination: o.combination,
    });
    const span: SeriesSpan = {
      from: froms[i] as number,
      end: ends[i] as number,
      scale: scales[i] as SeriesScale,
      settings,
      workspace,
    };
    const test = pairedBlockT(
      (series[i] as SeriesInput).values,
      used.map((c) => make(i, c)),
      local(a),
      local(b),
      span,
    );
    return test.blocks >= 2 && test.t <= -studentQuantile(significance, test.blocks - 1);
  };
  const chosen = scores.map((row, i) => {
    const fallback = ownDefault(i) ? stepIndex : common;
    let own = fallback;
    for (let k = 0; k < row.length; k++) if ((row[k] as number) < (row[own] as number)) own = k;
    const useOwn =
      own !== fallback &&
      (row[own] as number) < (1 - margin) * (row[fallback] as number) &&
      consistent(i, own, fallback);
    return {
      option: useOwn ? own : fallback,
      source: useOwn ? ("own" as const) : ("default" as const),
    };
  });

  // Pass 2: the chosen option's calibrator, from its errors over the span.
  const build = (i: number): SeriesForecaster => {
    const option = optionsOf(i)[(chosen[i] as { option: number }).option] as Option;
    const members = option.members.map((c) => make(i, c));
    return option.combination === "single"
      ? (members[0] as SeriesForecaster)
      : new EnsembleForecaster(members, option.combination);
  };
  const calibrators = series.map((s, i) =>
    calibrate(
      s.values,
      build(i),
      froms[i] as number,
      ends[i] as number,
      scales[i] as SeriesScale,
      settings,
    ),
  );

  const check = (index: number) => {
    if (!(Number.isInteger(index) && index >= 0 && index < series.length)) {
      throw new RangeError(`Series index ${index} is outside [0, ${series.length - 1}].`);
    }
  };
  return {
    name,
    choiceOf(index: number): ShaperChoice {
      check(index);
      const { option, source } = chosen[index] as { option: number; source: "default" | "own" };
      const picked = optionsOf(index)[option] as Option;
      const names = namesOf(index);
      return {
        members: picked.members.map((c) => names[c] ?? "?"),
        combination: picked.combination,
        source,
        score: (scores[index] as Float64Array)[option] as number,
      };
    },
    forSeries(index: number): ConformalForecaster {
      check(index);
      const s = series[index] as SeriesInput;
      const end = ends[index] as number;
      const scale = scales[index] as SeriesScale;
      const inner = build(index);
      inner.advanceTo(end);
      return new ConformalForecaster(name, s, inner, {
        origin: end,
        calibrator: (calibrators[index] as ReturnType<typeof calibrate>).clone(),
        scale,
        tracker: localScaleAt(s.values, end, scale, settings),
        settings,
      });
    },
  };
}

/**
 * Longest horizon whose every step is scored; longer ones are scored at this many steps spread
 * evenly over the horizon (a 48-step horizon at every 4th step), which ranks the options the same
 * for a quarter of the work.
 */
const MAX_SCORED_STEPS = 16;

function scoredSteps(horizon: number): Int32Array {
  return Int32Array.from({ length: MAX_SCORED_STEPS }, (_, i) =>
    Math.round(((i + 1) * horizon) / MAX_SCORED_STEPS - 1),
  );
}

/** Buffers reused from series to series (scoring is the hot path of the fit). */
class Workspace {
  points = new Float64Array(0);
  combined = new Float64Array(0);
  scales = new Float64Array(0);
  errors = new Float64Array(0);
  rows = new Float64Array(0);
  column = new Float64Array(0);
  blocksA = new Float64Array(0);
  blocksB = new Float64Array(0);

  ensureBlocks(blocks: number): void {
    if (this.blocksA.length < blocks) {
      this.blocksA = new Float64Array(blocks);
      this.blocksB = new Float64Array(blocks);
    }
  }

  ensure(candidates: number, origins: number, horizon: number): void {
    if (this.points.length < candidates * origins * horizon) {
      this.points = new Float64Array(candidates * origins * horizon);
    }
    if (this.combined.length < origins * horizon) {
      this.combined = new Float64Array(origins * horizon);
    }
    if (this.scales.length < origins) this.scales = new Float64Array(origins);
    if (this.errors.length < origins) this.errors = new Float64Array(origins);
    if (this.rows.length < candidates * horizon) this.rows = new Float64Array(candidates * horizon);
    if (this.column.length < candidates) this.column = new Float64Array(candidates);
  }
}

interface SeriesSpan {
  readonly from: number;
  readonly end: number;
  readonly scale: SeriesScale;
  readonly settings: ConformalSettings;
  readonly workspace: Workspace;
}

/**
 * Rolls every forecaster through the series' calibration span, forecasting the full horizon from
 * every `stride`-th origin, into the workspace (candidate c's matrix at `c × block`).
 *
 * @param forecasters positioned at the span's start
 * @returns where the forecasts were made and how errors there are scaled
 */
function rollSpan(
  values: ArrayLike<number>,
  forecasters: readonly SeriesForecaster[],
  span: SeriesSpan,
): SpanLayout {
  const { from, end, scale, settings, workspace } = span;
  const k = forecasters.length;
  const horizon = settings.horizon;
  const stride = settings.stride;
  const origins = Math.ceil(Math.max(0, end - from) / stride);
  workspace.ensure(k, origins, horizon);
  const { points, scales } = workspace;
  const block = origins * horizon;
  const tracker = localScaleAt(values, from, scale, settings);
  for (let t = from, o = 0; t < end; t++) {
    if ((t - from) % stride === 0) {
      scales[o] = scale.unit * tracker.scale();
      for (let c = 0; c < k; c++) {
        const f = forecasters[c] as SeriesForecaster;
        f.advanceTo(t);
        const at = c * block + o * horizon;
        pointForecastInto(f, points.subarray(at, at + horizon), horizon);
      }
      o++;
    }
    tracker.update((values[t] as number) / scale.unit);
  }
  return {
    from,
    end,
    origins,
    stride,
    horizon,
    scales,
    ...(horizon > MAX_SCORED_STEPS ? { steps: scoredSteps(horizon) } : {}),
  };
}

/**
 * The point forecasts of `members` (indices of rolled forecasters) combined as `combination`:
 * a view of the workspace's points for a single member, else the workspace's combined buffer.
 */
function optionMatrix(
  members: readonly number[],
  combination: Combination | "single",
  layout: SpanLayout,
  workspace: Workspace,
): Float64Array {
  const block = layout.origins * layout.horizon;
  if (combination === "single") {
    const c = members[0] as number;
    return workspace.points.subarray(c * block, (c + 1) * block);
  }
  const combined = workspace.combined.subarray(0, block);
  combineMatrices(
    workspace.points,
    block,
    members,
    combination,
    layout,
    combined,
    workspace.rows,
    workspace.column,
  );
  return combined;
}

/**
 * Rolls every candidate through the series' calibration span and scores every option.
 *
 * @param forecasters one per candidate, positioned at the span's start
 * @returns per option, its score (lower is better; +Infinity when nothing could be scored)
 */
function scoreOptions(
  values: ArrayLike<number>,
  forecasters: readonly SeriesForecaster[],
  options: readonly Option[],
  span: SeriesSpan,
): Float64Array {
  const { workspace } = span;
  const layout = rollSpan(values, forecasters, span);
  return Float64Array.from(options, (option) =>
    conformalScore(
      values,
      optionMatrix(option.members, option.combination, layout, workspace),
      layout,
      workspace.errors,
    ),
  );
}

/**
 * How consistently option `a` beats option `b` on the series' span over time, not just in total:
 * the span's origins are cut into blocks of one horizon, each option's loss (selection-score.ts)
 * is summed per block, and the result is the paired t statistic of the block differences a − b
 * (a test in the manner of Diebold & Mariano 1995, on blocks so that overlapping forecasts do not
 * count as independent evidence). Strongly negative: `a` is better block after block. On a
 * step-shaped series, whose losses sit in a handful of jumps, one lucky jump can make an option's
 * total look far better than another's; the statistic asks for the advantage to recur.
 *
 * @param forecasters fresh forecasters of the candidates the two options use, at the span's start
 * @param a the option tested, its members as indices into `forecasters`
 * @param b the option it is compared with, likewise
 */
function pairedBlockT(
  values: ArrayLike<number>,
  forecasters: readonly SeriesForecaster[],
  a: Option,
  b: Option,
  span: SeriesSpan,
): { readonly t: number; readonly blocks: number } {
  const { workspace, settings } = span;
  const layout = rollSpan(values, forecasters, span);
  const blockOrigins = Math.max(1, Math.ceil(settings.horizon / settings.stride));
  const blocks = Math.ceil(layout.origins / blockOrigins);
  workspace.ensureBlocks(blocks);
  const lossesA = workspace.blocksA;
  const lossesB = workspace.blocksB;
  const errors = workspace.errors;
  const matrixA = optionMatrix(a.members, a.combination, layout, workspace);
  conformalBlockLosses(values, matrixA, layout, blockOrigins, errors, lossesA);
  const matrixB = optionMatrix(b.members, b.combination, layout, workspace);
  conformalBlockLosses(values, matrixB, layout, blockOrigins, errors, lossesB);
  return { t: pairedTStatistic(lossesA, lossesB, blocks), blocks };
}

/**
 * Index of the shared option (among the first `shared`) with the lowest mean of score / the
 * series' best shared score. Series where the best is 0 or not finite carry no information and
 * are skipped; a ratio is capped at 10 so one failure cannot outweigh everything else. Ties go to
 * the earlier option (candidates in their given order, singles before combinations).
 */
function defaultOption(scores: readonly Float64Array[], shared: number): number {
  const sums = new Float64Array(shared);
  for (const row of scores) {
    let best = Number.POSITIVE_INFINITY;
    for (let k = 0; k < shared; k++) best = Math.min(best, row[k] as number);
    if (!(best > 0 && Number.isFinite(best))) continue;
    for (let k = 0; k < shared; k++) {
      const ratio = (row[k] as number) / best;
      sums[k] = (sums[k] as number) + (Number.isFinite(ratio) ? Math.min(ratio, 10) : 10);
    }
  }
  let index = 0;
  for (let k = 1; k < shared; k++) if ((sums[k] as number) < (sums[index] as number)) index = k;
  return index;
}
