import type { ForecastErrorSummary } from "../forecast.js";

/**
 * The retrain flow's first decision: has forecast error accumulated enough to retrain? It reads
 * the error summaries the forecast stage accumulates per tier (forecasts scored against the usage
 * collected later) and computes the metrics of issue 3's benchmark on them:
 * `wql` = Σ 2·pinball over the quantile levels / (levels · Σ|actual|), and `coverage80` = share of
 * actuals within [q0.1, q0.9].
 */

/** Coverage of the 80 % interval outside this band means the intervals have drifted. */
export const COVERAGE80_BAND = { min: 0.7, max: 0.9 } as const;

/**
 * Points below which a group's error is reported but not acted on: with fewer, one bad hour
 * (a few users at 5-minute steps) would trigger a retrain. 100 points is e.g. 9 users over an
 * hour at 5-minute intervals.
 */
export const MIN_POINTS_TO_JUDGE = 100;

/** Error metrics of one group of scored forecast points. */
export interface ErrorMetrics {
  /** Weighted quantile loss; null when nothing was scored or every actual was zero. */
  readonly wql: number | null;
  /** Share of actuals within [q0.1, q0.9]; null when nothing was scored. */
  readonly coverage80: number | null;
  readonly points: number;
}

/** What Evaluate decides, with the numbers behind it. */
export interface ErrorEvaluation {
  readonly overall: ErrorMetrics;
  readonly byTier: Readonly<Record<string, ErrorMetrics>>;
  readonly needsRetrain: boolean;
  /** One readable line per finding (why a retrain is needed, or why not). */
  readonly reasons: readonly string[];
}

export interface EvaluateErrorOptions {
  /** config.forecast.errorThresholdWql: wQL above it needs a retrain. */
  readonly errorThresholdWql: number;
  /** @default MIN_POINTS_TO_JUDGE */
  readonly minPoints?: number;
  /** @default COVERAGE80_BAND */
  readonly coverageBand?: { readonly min: number; readonly max: number };
}

/**
 * Metrics of one accumulated summary.
 *
 * @param summary Σ pinball, Σ|actual|, quantile count, points and covered points of a group
 * @returns wQL and coverage80 (null where undefined) and the number of points
 */
export function errorMetrics(summary: ForecastErrorSummary): ErrorMetrics {
  const scale = summary.absActualSum * summary.quantileCount;
  return {
    wql: summary.points > 0 && scale > 0 ? summary.pinballSum / scale : null,
    coverage80: summary.points > 0 ? summary.covered80 / summary.points : null,
    points: summary.points,
  };
}

/**
 * Pools summaries of several groups into one. The wQL denominator is kept per quantile level
 * (`absActualSum × quantileCount`), so groups scored with different quantile sets pool correctly;
 * the pooled summary reports `quantileCount` 1 with that product as `absActualSum`.
 *
 * @param summaries summaries of disjoint groups (e.g. tiers)
 * @returns their pooled summary
 */
export function poolErrorSummaries(
  summaries: readonly ForecastErrorSummary[],
): ForecastErrorSummary {
  let pinballSum = 0;
  let weightedAbs = 0;
  let points = 0;
  let covered80 = 0;
  for (const s of summaries) {
    pinballSum += s.pinballSum;
    weightedAbs += s.absActualSum * s.quantileCount;
    points += s.points;
    covered80 += s.covered80;
  }
  return { pinballSum, absActualSum: weightedAbs, quantileCount: 1, points, covered80 };
}

/**
 * Decides whether the forecasting model needs retraining. A group (all tiers pooled, or one tier)
 * with at least `minPoints` scored points needs it when its wQL is above the threshold or its
 * coverage80 lies outside the band (intervals too narrow below 0.7, too wide above 0.9).
 *
 * @param byTier accumulated error per tier over the evaluation window
 * @param options the threshold and band
 * @returns overall and per-tier metrics, the decision and its reasons
 * @example
 * assessForecastError({ premium: summary }, { errorThresholdWql: 0.5 }).needsRetrain
 */
export function assessForecastError(
  byTier: Readonly<Record<string, ForecastErrorSummary>>,
  options: EvaluateErrorOptions,
): ErrorEvaluation {
  const minPoints = options.minPoints ?? MIN_POINTS_TO_JUDGE;
  const band = options.coverageBand ?? COVERAGE80_BAND;
  const tiers = Object.keys(byTier).sort();
  const overall = errorMetrics(
    poolErrorSummaries(tiers.map((t) => byTier[t] as ForecastErrorSummary)),
  );
  const metricsByTier: Record<string, ErrorMetrics> = {};
  for (const tier of tiers)
    metricsByTier[tier] = errorMetrics(byTier[tier] as ForecastErrorSummary);

  const reasons: string[] = [];
  const judge = (group: string, m: ErrorMetrics): void => {
    if (m.points < minPoints) return;
    if (m.wql !== null && m.wql > options.errorThresholdWql) {
      reasons.push(
        `${group}: wQL ${fmt(m.wql)} above the threshold ${fmt(options.errorThresholdWql)} over ${m.points} points`,
      );
    }
    if (m.coverage80 !== null && (m.coverage80 < band.min || m.coverage80 > band.max)) {
      reasons.push(
        `${group}: 80% interval covered ${fmt(m.coverage80)} of ${m.points} actuals, outside [${band.min}, ${band.max}] (${m.coverage80 < band.min ? "too narrow" : "too wide"})`,
      );
    }
  };
  judge("all tiers", overall);
  for (const tier of tiers) judge(`tier ${tier}`, metricsByTier[tier] as ErrorMetrics);

  const needsRetrain = reasons.length > 0;
  if (!needsRetrain) {
    reasons.push(
      overall.points < minPoints
        ? `only ${overall.points} scored points (fewer than ${minPoints}); not enough evidence to retrain`
        : `wQL ${fmt(overall.wql)} within the threshold ${fmt(options.errorThresholdWql)} and coverage80 ${fmt(overall.coverage80)} within [${band.min}, ${band.max}] over ${overall.points} points`,
    );
  }
  return { overall, byTier: metricsByTier, needsRetrain, reasons };
}

function fmt(value: number | null): string {
  return value === null ? "n/a" : Number(value.toFixed(4)).toString();
}
