import type {
  ForecastFan,
  PolicyResult,
  PoolTimeline,
  ReplayResult,
  ServiceMetrics,
} from "../../layers/domain/replay/replay-result.js";

/**
 * The charts of the replay report as data: what `report-page.js` draws with Chart.js. Everything
 * here is computed in Node (downsampling, rates, colours) so the page script only maps specs to
 * Chart.js configurations. Times are epoch milliseconds, as the page's time axes use them.
 */

/** Points per series at most in the page: enough for a wide screen, small enough to stay fast. */
export const MAX_POINTS_PER_SERIES = 1_500;
/** Forecast fans drawn at most (the rest are counted in a caption). */
export const MAX_FANS = 6;
/**
 * History drawn before a forecast: the most recent `FAN_HISTORY_PER_HORIZON` × horizon steps (at
 * least `MIN_FAN_HISTORY_POINTS`, at most `MAX_FAN_HISTORY_POINTS`), so the fan keeps most of the
 * chart's width and still shows the run-up to it.
 */
export const FAN_HISTORY_PER_HORIZON = 3;
export const MIN_FAN_HISTORY_POINTS = 36;
export const MAX_FAN_HISTORY_POINTS = 1_000;

/** A regular series: the value at `startMs + i × stepMs` is `values[i]` (null: no value). */
export interface SeriesData {
  readonly startMs: number;
  readonly stepMs: number;
  readonly values: readonly (number | null)[];
}

export interface TimelineDataset {
  readonly label: string;
  readonly role: "demand" | "capacity" | "held";
  readonly color: string;
  /** Not drawn until its legend entry is clicked. */
  readonly hidden: boolean;
  readonly series: SeriesData;
}

/** Capacity vs demand in one pool, every policy on one chart. */
export interface TimelineChart {
  readonly kind: "timeline";
  readonly id: string;
  readonly pool: string;
  readonly xMinMs: number;
  readonly xMaxMs: number;
  /** Raw steps per drawn point (1: not downsampled) and the raw step, seconds. */
  readonly bucketSteps: number;
  readonly stepSeconds: number;
  readonly datasets: readonly TimelineDataset[];
}

export interface FanBand {
  readonly lowerLevel: number;
  readonly upperLevel: number;
  readonly lower: SeriesData;
  readonly upper: SeriesData;
}

/** One forecast: its quantile bands (widest first) and median, the history before and the actuals. */
export interface FanChart {
  readonly kind: "fan";
  readonly id: string;
  readonly userId: string;
  readonly pool: string;
  readonly forecastStartMs: number;
  readonly xMinMs: number;
  readonly xMaxMs: number;
  readonly bands: readonly FanBand[];
  readonly median: SeriesData | null;
  readonly history: SeriesData;
  readonly actual: SeriesData;
  /** History points left out (older than the ones drawn). */
  readonly historyTrimmed: number;
}

export interface TierBarDataset {
  readonly label: string;
  readonly color: string;
  /** Per tier: share of the tier's requests, percent (null: the tier had no requests). */
  readonly percents: readonly (number | null)[];
  readonly counts: readonly number[];
  readonly requests: readonly number[];
}

/** Denied or delayed requests by tier, one bar per policy. */
export interface TierBarChart {
  readonly kind: "tierBars";
  readonly id: string;
  readonly metric: "denied" | "delayed";
  readonly tiers: readonly string[];
  readonly datasets: readonly TierBarDataset[];
}

export interface TradeoffPoint {
  readonly policy: string;
  readonly color: string;
  /** Null when not a finite number (the point is not drawn). */
  readonly capacityHours: number | null;
  readonly cost: number | null;
  /** Denied ÷ requests, percent (null: no requests). */
  readonly deniedPercent: number | null;
  readonly denied: number;
  readonly requests: number;
}

/** Capacity-hours against the share of requests denied, one point per policy. */
export interface TradeoffChart {
  readonly kind: "tradeoff";
  readonly id: string;
  readonly points: readonly TradeoffPoint[];
}

export type ChartSpec = TimelineChart | FanChart | TierBarChart | TradeoffChart;

/** A pool without a timeline (it appears only in `byPool`): the report says "no data". */
export interface MissingTimeline {
  readonly pool: string;
}

export interface ReportCharts {
  /** Per pool, in order: a chart, or a pool with no timeline. */
  readonly timelines: readonly (TimelineChart | MissingTimeline)[];
  readonly tierBars: readonly TierBarChart[];
  readonly tradeoff: TradeoffChart | null;
  readonly fans: readonly FanChart[];
  /** Fans in the result, drawn or not. */
  readonly fansTotal: number;
}

const POLICY_COLORS: Readonly<Record<string, string>> = {
  reactive: "#dc2626",
  patent: "#ea580c",
  quota: "#9333ea",
  shaper: "#2563eb",
  oracle: "#16a34a",
};
const EXTRA_COLORS = ["#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed"];
const DEMAND_COLOR = "#111827";

/** One colour per policy: the five known policies keep theirs on every chart. */
export function policyColors(names: readonly string[]): ReadonlyMap<string, string> {
  const colors = new Map<string, string>();
  let extra = 0;
  for (const name of names) {
    if (colors.has(name)) continue;
    const known = Object.hasOwn(POLICY_COLORS, name) ? POLICY_COLORS[name] : undefined;
    colors.set(name, known ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length] ?? DEMAND_COLOR);
  }
  return colors;
}

/** Raw steps per drawn point so that `length` steps give at most `maxPoints` points. */
export function bucketStepsFor(length: number, maxPoints: number): number {
  return Math.max(1, Math.ceil(length / Math.max(1, maxPoints)));
}

/**
 * The maximum of each run of `bucketSteps` values (non-finite values and nulls ignored; null when
 * a bucket has none), so a downsampled capacity or demand line keeps its peaks.
 */
export function maxPerBucket(
  values: readonly (number | null)[],
  bucketSteps: number,
): (number | null)[] {
  const out: (number | null)[] = [];
  for (let from = 0; from < values.length; from += bucketSteps) {
    let max: number | null = null;
    for (let i = from; i < Math.min(from + bucketSteps, values.length); i++) {
      const v = values[i];
      if (typeof v === "number" && Number.isFinite(v) && (max === null || v > max)) max = v;
    }
    out.push(max === null ? null : round(max));
  }
  return out;
}

/** Builds every chart of the report from a replay result. */
export function buildReportCharts(result: ReplayResult): ReportCharts {
  const colors = policyColors(result.policies.map((p) => p.name));
  const ids = new ChartIds();
  const timelines = poolsOf(result).map((pool) => {
    const timeline = result.timelines.find((t) => t.pool === pool);
    return timeline === undefined || timeline.demandVcpu.length === 0
      ? { pool }
      : timelineChart(timeline, colors, ids.next(`capacity-${slug(pool)}`));
  });
  const tiers = tiersOf(result.policies);
  const tierBars =
    tiers.length === 0 || result.policies.length === 0
      ? []
      : (["denied", "delayed"] as const).map((metric) =>
          tierBarChart(result.policies, tiers, metric, colors, ids.next(`tier-${metric}`)),
        );
  const tradeoff =
    result.policies.length === 0
      ? null
      : tradeoffChart(result.policies, colors, ids.next("tradeoff"));
  const fans = result.forecastFans
    .slice(0, MAX_FANS)
    .map((fan, i) => fanChart(fan, ids.next(`fan-${i + 1}`)))
    .filter((fan): fan is FanChart => fan !== null);
  return { timelines, tierBars, tradeoff, fans, fansTotal: result.forecastFans.length };
}

/** The charts to draw, in page order. */
export function chartsToDraw(charts: ReportCharts): ChartSpec[] {
  return [
    ...charts.timelines.filter((t): t is TimelineChart => "kind" in t),
    ...charts.tierBars,
    ...(charts.tradeoff === null ? [] : [charts.tradeoff]),
    ...charts.fans,
  ];
}

function timelineChart(
  timeline: PoolTimeline,
  colors: ReadonlyMap<string, string>,
  id: string,
): TimelineChart {
  const longest = Math.max(
    timeline.demandVcpu.length,
    ...timeline.policies.flatMap((p) => [p.capacityVcpu.length, p.heldVcpu.length]),
  );
  const bucketSteps = bucketStepsFor(longest, MAX_POINTS_PER_SERIES);
  const startMs = timeline.start * 1000;
  const stepMs = timeline.stepSeconds * 1000;
  const series = (values: readonly number[]): SeriesData => ({
    startMs,
    stepMs: stepMs * bucketSteps,
    values: maxPerBucket(values, bucketSteps),
  });
  const datasets: TimelineDataset[] = [
    {
      label: "demand",
      role: "demand",
      color: DEMAND_COLOR,
      hidden: false,
      series: series(timeline.demandVcpu),
    },
  ];
  for (const policy of timeline.policies) {
    const color = colors.get(policy.name) ?? DEMAND_COLOR;
    datasets.push({
      label: `${policy.name} capacity`,
      role: "capacity",
      color,
      hidden: false,
      series: series(policy.capacityVcpu),
    });
  }
  for (const policy of timeline.policies) {
    if (policy.heldVcpu.length === 0) continue;
    datasets.push({
      label: `${policy.name} held`,
      role: "held",
      color: colors.get(policy.name) ?? DEMAND_COLOR,
      hidden: true,
      series: series(policy.heldVcpu),
    });
  }
  return {
    kind: "timeline",
    id,
    pool: timeline.pool,
    xMinMs: startMs,
    xMaxMs: startMs + Math.max(0, longest - 1) * stepMs,
    bucketSteps,
    stepSeconds: timeline.stepSeconds,
    datasets,
  };
}

const LEVEL_EPSILON = 1e-6;

function fanChart(fan: ForecastFan, id: string): FanChart | null {
  const horizon = Math.max(fan.actual.length, ...fan.quantiles.map((q) => q.values.length));
  if (horizon === 0 && fan.history.length === 0) return null;
  const startMs = fan.start * 1000;
  const stepMs = fan.stepSeconds * 1000;
  const forecast = (values: readonly (number | null)[]): SeriesData => ({
    startMs,
    stepMs,
    values: values.map(roundOrNull),
  });
  const historyPoints = Math.min(
    MAX_FAN_HISTORY_POINTS,
    Math.max(MIN_FAN_HISTORY_POINTS, FAN_HISTORY_PER_HORIZON * horizon),
  );
  const history = fan.history.slice(-historyPoints);
  const levels = [...fan.quantiles].sort((a, b) => a.level - b.level);
  const bands: FanBand[] = [];
  for (const lower of levels) {
    if (lower.level >= 0.5 - LEVEL_EPSILON) break;
    const upper = levels.find((q) => Math.abs(q.level - (1 - lower.level)) < LEVEL_EPSILON);
    if (upper === undefined) continue;
    bands.push({
      lowerLevel: lower.level,
      upperLevel: upper.level,
      lower: forecast(lower.values),
      upper: forecast(upper.values),
    });
  }
  const median = levels.find((q) => Math.abs(q.level - 0.5) < LEVEL_EPSILON);
  return {
    kind: "fan",
    id,
    userId: fan.userId,
    pool: fan.pool,
    forecastStartMs: startMs,
    xMinMs: startMs - history.length * stepMs,
    xMaxMs: startMs + Math.max(0, horizon - 1) * stepMs,
    bands,
    median: median === undefined ? null : forecast(median.values),
    history: {
      startMs: startMs - history.length * stepMs,
      stepMs,
      values: history.map(roundOrNull),
    },
    actual: forecast(fan.actual),
    historyTrimmed: fan.history.length - history.length,
  };
}

function tierBarChart(
  policies: readonly PolicyResult[],
  tiers: readonly string[],
  metric: "denied" | "delayed",
  colors: ReadonlyMap<string, string>,
  id: string,
): TierBarChart {
  return {
    kind: "tierBars",
    id,
    metric,
    tiers,
    datasets: policies.map((policy) => {
      const metrics = tiers.map((tier) => tierMetrics(policy, tier));
      return {
        label: policy.name,
        color: colors.get(policy.name) ?? DEMAND_COLOR,
        percents: metrics.map((m) => (m === undefined ? null : percent(m[metric], m.requests))),
        counts: metrics.map((m) => m?.[metric] ?? 0),
        requests: metrics.map((m) => m?.requests ?? 0),
      };
    }),
  };
}

function tradeoffChart(
  policies: readonly PolicyResult[],
  colors: ReadonlyMap<string, string>,
  id: string,
): TradeoffChart {
  return {
    kind: "tradeoff",
    id,
    points: policies.map((p) => ({
      policy: p.name,
      color: colors.get(p.name) ?? DEMAND_COLOR,
      capacityHours: roundOrNull(p.capacityHours),
      cost: roundOrNull(p.cost),
      deniedPercent: percent(p.denied, p.requests),
      denied: p.denied,
      requests: p.requests,
    })),
  };
}

function tierMetrics(policy: PolicyResult, tier: string): ServiceMetrics | undefined {
  return Object.hasOwn(policy.byTier, tier) ? policy.byTier[tier] : undefined;
}

/** Pools with a timeline (in timeline order), then pools only some policy's `byPool` names. */
function poolsOf(result: ReplayResult): string[] {
  const pools = new Set(result.timelines.map((t) => t.pool));
  for (const policy of result.policies)
    for (const pool of Object.keys(policy.byPool)) pools.add(pool);
  return [...pools];
}

/** Tiers in the order the policies first name them. */
function tiersOf(policies: readonly PolicyResult[]): string[] {
  const tiers = new Set<string>();
  for (const policy of policies) for (const tier of Object.keys(policy.byTier)) tiers.add(tier);
  return [...tiers];
}

/** Share as a percent, or null when there is nothing to share. */
export function percent(part: number, whole: number): number | null {
  return whole > 0 ? round((100 * part) / whole) : null;
}

/** Three decimals are below what a chart can show and keep the embedded JSON small. */
function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : 0;
}

function roundOrNull(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : round(value);
}

/** Lower-case letters, digits and dashes: an id fragment from any name. */
function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Unique, stable element ids: the preferred id, or it with a counter when taken or empty. */
class ChartIds {
  readonly #used = new Set<string>();

  next(preferred: string): string {
    const base = preferred.replace(/-+$/, "") || "chart";
    let id = base;
    for (let n = 2; this.#used.has(id); n++) id = `${base}-${n}`;
    this.#used.add(id);
    return id;
  }
}
