import type { Criticality, ShaperConfig } from "../config.js";
import type { PolicyChange, PolicySet, SloReaction, TierPolicy } from "../policy.js";
import type { RequestLogEntry } from "../usage.js";
import { COVERAGE80_BAND } from "./evaluate-error.js";

/**
 * The feedback loop's policy knobs: per tier, the forecast quantile the plan provisions for and
 * the headroom above it. Each adaptation moves a knob by at most one step within the configured
 * bounds, and only with a cause a person can read:
 * - a tier whose grant-now rate fell below its SLO gets a higher quantile and more headroom
 *   (both knobs, so a miss is corrected quickly);
 * - a tier whose forecasts under-cover (coverage80 below 0.7) gets a higher quantile;
 * - a tier far above its SLO while capacity sits unused (mean pool utilisation below
 *   `policyBounds.lowerBelowUtilisation`), over enough requests to show it (the 95 % upper bound
 *   of its miss rate within what the SLO allows: with no miss, about 2,700 requests for a 99.9 %
 *   target, 25 for 90 %; counted since the tier's last change, over at most
 *   `policyBounds.lowerEvidenceDays`), gives back one knob step (headroom first, then the
 *   quantile), so lowering is slower than raising — but not within a week of a raise for misses
 *   that worked, so a tier does not swing between the two every other day;
 * - a raise for SLO misses must earn its keep: when the next window's rate has not closed at least
 *   half the gap to the target, the raise is undone (the misses are not for want of provisioned
 *   capacity — e.g. asks larger than anything forecast — and more headroom would only cost), and
 *   the tier is then not raised for misses again while its rate stays within half the gap of the
 *   rate at that undo. Without this rule a tier whose misses headroom cannot fix ratchets its
 *   knobs up day after day (measured on alibaba-dlrm: 1.2 → 1.9 × the oracle's capacity in 31 days);
 * - otherwise nothing changes.
 * Deferrable requests are counted but do not drive the SLO: delaying them is the shaping working
 * as intended. Every change records `before`, so applying it reverts the change.
 */

/** Requests of a tier below which its grant-now rate is reported but not acted on. */
export const MIN_REQUESTS_TO_JUDGE = 20;

/** Seconds after a tier's raise for SLO misses during which it is not lowered. */
export const LOWER_AFTER_RAISE_SECONDS = 7 * 86_400;

/** Points of forecast error below which a tier's coverage is not acted on. */
export const MIN_COVERAGE_POINTS = 100;

export type Outcome = RequestLogEntry["outcome"];
export type OutcomeCounts = Record<Outcome, number>;

/** What a tier's requests got over the window. */
export interface TierOutcomes {
  readonly total: OutcomeCounts;
  readonly byCriticality: Readonly<Record<Criticality, OutcomeCounts>>;
}

/** Observations behind one tier's adaptation. */
export interface TierObservation {
  /** What the tier's requests got over the last day (raises, and the day's judgement). */
  readonly outcomes?: TierOutcomes;
  /**
   * What they got since `since` (the tier's last change, or the start of
   * `policyBounds.lowerEvidenceDays`), the last day included: the evidence a lowering rests on,
   * so a tier with few requests a day can still show a miss rate below what its SLO allows.
   */
  readonly evidence?: { readonly outcomes: TierOutcomes; readonly since: number };
  /** The tier's forecast coverage80 and the points it rests on. */
  readonly coverage80?: number | null;
  readonly coveragePoints?: number;
}

/** How one tier was judged. */
export interface TierAssessment {
  /** Requests that count towards the SLO (critical and normal; all when only deferrable ones came). */
  readonly sloRequests: number;
  readonly grantNowRate: number | null;
  readonly sloGrantNowRate: number;
  readonly coverage80: number | null;
  readonly action: "raise" | "lower" | "hold" | "undo";
  readonly reason: string;
}

export interface AdaptPoliciesInput {
  readonly config: Pick<ShaperConfig, "tiers" | "quantiles" | "policyBounds">;
  /** Policies in force; undefined before the first adaptation (tier defaults from the config). */
  readonly current: PolicySet | undefined;
  readonly observations: Readonly<Record<string, TierObservation>>;
  /** Mean utilisation of the pools over the window, 0–1; null when unknown (never lowers). */
  readonly utilisation: number | null;
  /** Epoch seconds, stamped on the new set and its changes. */
  readonly now: number;
  /** The latest logged change of each tier (from the change log), to judge earlier raises. */
  readonly lastChanges?: Readonly<Record<string, PolicyChange>>;
}

export interface AdaptPoliciesResult {
  /** The new policy set, or undefined when nothing changed. */
  readonly next: PolicySet | undefined;
  readonly changes: readonly PolicyChange[];
  readonly assessments: Readonly<Record<string, TierAssessment>>;
}

const OUTCOMES: readonly Outcome[] = ["grant", "delay", "offer", "reject"];
const CRITICALITY_LIST: readonly Criticality[] = ["critical", "normal", "deferrable"];

function zeroCounts(): OutcomeCounts {
  return { grant: 0, delay: 0, offer: 0, reject: 0 };
}

/**
 * Counts request outcomes per tier and criticality. Entries without a tier are skipped (the
 * request log records the tier at decision time); entries without a criticality count as normal.
 *
 * @param entries request log entries of the window
 * @returns counts per tier, and how many entries had no tier
 */
export function countOutcomesByTier(entries: readonly RequestLogEntry[]): {
  byTier: Record<string, TierOutcomes>;
  withoutTier: number;
} {
  const byTier: Record<
    string,
    { total: OutcomeCounts; byCriticality: Record<Criticality, OutcomeCounts> }
  > = {};
  let withoutTier = 0;
  for (const entry of entries) {
    if (!entry.tier) {
      withoutTier++;
      continue;
    }
    const tier = byTier[entry.tier] ?? {
      total: zeroCounts(),
      byCriticality: { critical: zeroCounts(), normal: zeroCounts(), deferrable: zeroCounts() },
    };
    byTier[entry.tier] = tier;
    tier.total[entry.outcome]++;
    tier.byCriticality[entry.criticality ?? "normal"][entry.outcome]++;
  }
  return { byTier, withoutTier };
}

/**
 * Quantile levels a tier's knob may take: the configured quantiles within the bounds, ascending.
 */
export function allowedQuantileLevels(
  config: Pick<ShaperConfig, "quantiles" | "policyBounds">,
): number[] {
  const { quantileMin, quantileMax } = config.policyBounds;
  return [...config.quantiles]
    .filter((q) => q >= quantileMin - 1e-9 && q <= quantileMax + 1e-9)
    .sort((a, b) => a - b);
}

/** The allowed level nearest to `q` (ties to the lower level). */
export function snapQuantile(q: number, levels: readonly number[]): number {
  let best = levels[0] ?? q;
  for (const level of levels) if (Math.abs(level - q) < Math.abs(best - q) - 1e-12) best = level;
  return best;
}

/**
 * Moves a quantile level one step up or down: towards `q ± step`, snapped to the allowed level
 * nearest that target among the levels beyond `q` in that direction (so a move is at least one
 * level). Returns `q` when no level lies beyond it.
 */
export function stepQuantile(
  q: number,
  direction: 1 | -1,
  step: number,
  levels: readonly number[],
): number {
  const beyond = levels.filter((level) => (direction > 0 ? level > q + 1e-9 : level < q - 1e-9));
  if (beyond.length === 0) return q;
  const target = q + direction * step;
  let best = beyond[0] as number;
  for (const level of beyond) {
    const d = Math.abs(level - target);
    const bestD = Math.abs(best - target);
    // Ties go to the smaller move.
    if (
      d < bestD - 1e-12 ||
      (Math.abs(d - bestD) <= 1e-12 && Math.abs(level - q) < Math.abs(best - q))
    )
      best = level;
  }
  return best;
}

function clampHeadroom(h: number, bounds: ShaperConfig["policyBounds"]): number {
  return round(Math.min(bounds.headroomMax, Math.max(bounds.headroomMin, h)));
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Policies in force for every configured tier: the stored ones, else the config's defaults. */
export function effectivePolicies(
  config: Pick<ShaperConfig, "tiers">,
  current: PolicySet | undefined,
): Record<string, TierPolicy> {
  const out: Record<string, TierPolicy> = {};
  for (const [name, tier] of Object.entries(config.tiers)) {
    out[name] = current?.tiers[name] ?? {
      forecastQuantile: tier.forecastQuantile,
      headroomFraction: tier.headroomFraction,
    };
  }
  return out;
}

/**
 * Adapts every tier's knobs from what its requests got and how well its forecasts covered.
 *
 * @param input config (tiers with their SLO, quantiles, bounds), the policies in force, per-tier
 *   observations, pool utilisation (0–1) and the time (epoch seconds)
 * @returns the new set (undefined when nothing changed), one change per changed tier with its
 *   cause, and how each tier was judged
 * @example
 * const { next, changes } = adaptPolicies({ config, current, observations, utilisation: 0.4, now });
 */
export function adaptPolicies(input: AdaptPoliciesInput): AdaptPoliciesResult {
  const { config, current, observations, utilisation, now } = input;
  const bounds = config.policyBounds;
  const levels = allowedQuantileLevels(config);
  const inForce = effectivePolicies(config, current);
  const version = (current?.version ?? 0) + 1;
  const nextTiers: Record<string, TierPolicy> = { ...(current?.tiers ?? {}), ...inForce };
  const changes: PolicyChange[] = [];
  const assessments: Record<string, TierAssessment> = {};

  for (const tierName of Object.keys(config.tiers).sort()) {
    const tier = config.tiers[tierName];
    const before = inForce[tierName];
    if (!tier || !before) continue;
    const observation = observations[tierName] ?? {};
    const assessment = judgeLastChange(
      assessTier(tier.sloGrantNowRate, observation, utilisation, bounds.lowerBelowUtilisation),
      input.lastChanges?.[tierName],
      before,
      now,
    );
    assessments[tierName] = assessment;

    // Knobs outside the bounds (the bounds or quantiles changed) are brought inside first.
    const start: TierPolicy = {
      forecastQuantile: snapQuantile(before.forecastQuantile, levels),
      headroomFraction: clampHeadroom(before.headroomFraction, bounds),
    };
    let after = start;
    const causes: string[] = [];
    if (!samePolicy(start, before)) causes.push("brought within the policy bounds");
    let slo: SloReaction | undefined;

    if (assessment.action === "raise") {
      const q = stepQuantile(start.forecastQuantile, 1, bounds.quantileStep, levels);
      const forSlo = isBelowSlo(assessment);
      // Misses raise both knobs; under-covering forecasts raise the quantile only (headroom would
      // not change what the forecasts cover, so it would climb to its bound day after day).
      const h = forSlo
        ? clampHeadroom(start.headroomFraction + bounds.headroomStep, bounds)
        : start.headroomFraction;
      after = { forecastQuantile: q, headroomFraction: h };
      if (forSlo) slo = { kind: "raise", grantNowRate: assessment.grantNowRate as number };
      causes.push(
        samePolicy(after, start)
          ? `${assessment.reason}; knobs already at their upper bounds`
          : assessment.reason,
      );
    } else if (assessment.action === "undo") {
      const undone = input.lastChanges?.[tierName] as PolicyChange;
      after = {
        forecastQuantile: snapQuantile(undone.before.forecastQuantile, levels),
        headroomFraction: clampHeadroom(undone.before.headroomFraction, bounds),
      };
      causes.push(assessment.reason);
      slo = { kind: "futile", grantNowRate: assessment.grantNowRate as number };
    } else if (assessment.action === "lower") {
      const h = clampHeadroom(start.headroomFraction - bounds.headroomStep, bounds);
      after =
        h < start.headroomFraction
          ? { ...start, headroomFraction: h }
          : {
              ...start,
              forecastQuantile: stepQuantile(
                start.forecastQuantile,
                -1,
                bounds.quantileStep,
                levels,
              ),
            };
      if (!samePolicy(after, start)) causes.push(assessment.reason);
    }

    if (samePolicy(after, before)) continue;
    nextTiers[tierName] = after;
    changes.push({
      changeId: `${version}-${tierName}`,
      tier: tierName,
      before,
      after,
      cause: `${describeMove(before, after)}: ${causes.join("; ")}`,
      at: now,
      version,
      ...(slo ? { slo } : {}),
    });
  }

  return {
    next: changes.length > 0 ? { version, tiers: nextTiers, updatedAt: now } : undefined,
    changes,
    assessments,
  };
}

/**
 * Judges the tier's last change when the tier misses its SLO again: a raise that did not close
 * half the gap to the target is undone; after such an undo the tier holds while its rate stays
 * within half the gap of the rate then. Changes since made by hand (knobs no longer where the
 * change left them) are not judged.
 */
function judgeLastChange(
  assessment: TierAssessment,
  last: PolicyChange | undefined,
  inForce: TierPolicy,
  now: number,
): TierAssessment {
  if (
    assessment.action === "lower" &&
    last?.slo?.kind === "raise" &&
    now - last.at < LOWER_AFTER_RAISE_SECONDS
  ) {
    return {
      ...assessment,
      action: "hold",
      reason: `${assessment.reason}; held: raised for misses on ${new Date(last.at * 1000).toISOString()} (change ${last.changeId}), not lowered within ${LOWER_AFTER_RAISE_SECONDS / 86_400} days of that`,
    };
  }
  if (assessment.action !== "raise" || !isBelowSlo(assessment) || !last?.slo) return assessment;
  if (!samePolicy(last.after, inForce)) return assessment;
  const rate = assessment.grantNowRate as number;
  const then = last.slo.grantNowRate;
  const halfGap = (assessment.sloGrantNowRate - then) / 2;
  const when = new Date(last.at * 1000).toISOString();
  if (last.slo.kind === "raise" && rate - then < halfGap - 1e-12) {
    return {
      ...assessment,
      action: "undo",
      reason: `${assessment.reason}; the raise of ${when} (change ${last.changeId}, at a grant-now rate of ${pct(then)}) did not close half the gap to the target, so these misses are not for want of provisioned capacity: it is undone`,
    };
  }
  if (last.slo.kind === "futile" && rate >= then - halfGap - 1e-12) {
    return {
      ...assessment,
      action: "hold",
      reason: `${assessment.reason}; held: raising did not help before (undone ${when} at ${pct(then)}) and the rate has not fallen by half the gap since`,
    };
  }
  return assessment;
}

function isBelowSlo(a: TierAssessment): boolean {
  return (
    a.grantNowRate !== null &&
    a.sloRequests >= MIN_REQUESTS_TO_JUDGE &&
    a.grantNowRate < a.sloGrantNowRate
  );
}

function assessTier(
  slo: number,
  observation: TierObservation,
  utilisation: number | null,
  lowerBelowUtilisation: number,
): TierAssessment {
  const outcomes = observation.outcomes;
  const sloCounts = outcomes ? sloOutcomes(outcomes) : zeroCounts();
  const sloRequests = OUTCOMES.reduce((n, o) => n + sloCounts[o], 0);
  const grantNowRate = sloRequests > 0 ? sloCounts.grant / sloRequests : null;
  const coveragePoints = observation.coveragePoints ?? 0;
  const coverage80 =
    observation.coverage80 !== undefined && coveragePoints >= MIN_COVERAGE_POINTS
      ? observation.coverage80
      : null;
  const base = { sloRequests, grantNowRate, sloGrantNowRate: slo, coverage80 };
  const rateText =
    grantNowRate === null
      ? "no requests"
      : `grant-now rate ${pct(grantNowRate)} over ${sloRequests} requests (${sloCounts.delay} delayed, ${sloCounts.offer} offered, ${sloCounts.reject} rejected) against a target of ${pct(slo)}`;
  const judged = grantNowRate !== null && sloRequests >= MIN_REQUESTS_TO_JUDGE;

  if (judged && grantNowRate < slo) {
    return { ...base, action: "raise", reason: `${rateText}: below target` };
  }
  if (coverage80 !== null && coverage80 < COVERAGE80_BAND.min) {
    return {
      ...base,
      action: "raise",
      reason: `forecast coverage80 ${pct(coverage80)} over ${coveragePoints} points is below ${pct(COVERAGE80_BAND.min)}: forecasts under-cover demand`,
    };
  }
  if (!judged) {
    return {
      ...base,
      action: "hold",
      reason: `${rateText}: fewer than ${MIN_REQUESTS_TO_JUDGE} requests, not enough to judge`,
    };
  }
  // Far above target: at most half the misses the SLO allows, and enough requests to show that
  // the miss rate is below what the SLO allows (95 % one-sided upper bound). 100 % of 35 premium
  // requests says little about a 99.9 % target: lowering on such days cost critical grants on
  // alibaba-gpu (headroom 20 % → 5 % in three days, three rejections the next). The requests
  // since the tier's last change count (`evidence`), not only the day's: a tier sent 250 critical
  // requests a day shows a 99.9 % target met after eleven clean days, never within one.
  const evidenceCounts = observation.evidence
    ? sloOutcomes(observation.evidence.outcomes)
    : sloCounts;
  const evidenceRequests = OUTCOMES.reduce((n, o) => n + evidenceCounts[o], 0);
  const misses = evidenceRequests - evidenceCounts.grant;
  const missBound = wilsonUpperBound(misses, evidenceRequests);
  const farAbove =
    1 - grantNowRate <= (1 - slo) / 2 + 1e-12 &&
    misses / Math.max(1, evidenceRequests) <= (1 - slo) / 2 + 1e-12;
  const proven = missBound <= 1 - slo + 1e-12;
  const idle = utilisation !== null && utilisation < lowerBelowUtilisation;
  const over = observation.evidence
    ? `${evidenceRequests} requests since ${new Date(observation.evidence.since * 1000).toISOString()} (${misses} not granted at once)`
    : `${evidenceRequests} requests`;
  if (farAbove && !proven) {
    return {
      ...base,
      action: "hold",
      reason: `${rateText}: within target, but ${over} cannot show a miss rate below ${pct(1 - slo)} (95 % upper bound ${pct(missBound)})`,
    };
  }
  if (farAbove && idle) {
    return {
      ...base,
      action: "lower",
      reason: `${rateText}: far above target over ${over} while pools are idle (mean utilisation ${pct(utilisation)} < ${pct(lowerBelowUtilisation)})`,
    };
  }
  return {
    ...base,
    action: "hold",
    reason: `${rateText}: within target${farAbove ? ` (pools not idle: utilisation ${utilisation === null ? "unknown" : pct(utilisation)})` : ""}`,
  };
}

/** One-sided z for 95 % confidence. */
const Z95 = 1.6448536269514722;

/**
 * The 95 % one-sided upper confidence bound of a rate seen as `k` of `n` (Wilson score interval):
 * 0 misses in n requests bounds the miss rate by about 2.7 / n.
 */
export function wilsonUpperBound(k: number, n: number): number {
  if (n <= 0) return 1;
  const p = k / n;
  const z2 = Z95 * Z95;
  const centre = p + z2 / (2 * n);
  const spread = Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.min(1, (centre + spread) / (1 + z2 / n));
}

/** Outcomes that count towards the SLO: critical and normal requests, or all when only deferrable came. */
function sloOutcomes(outcomes: TierOutcomes): OutcomeCounts {
  const counts = zeroCounts();
  for (const c of CRITICALITY_LIST) {
    if (c === "deferrable") continue;
    for (const o of OUTCOMES) counts[o] += outcomes.byCriticality[c][o];
  }
  const n = OUTCOMES.reduce((sum, o) => sum + counts[o], 0);
  return n > 0 ? counts : { ...outcomes.total };
}

function samePolicy(a: TierPolicy, b: TierPolicy): boolean {
  return (
    Math.abs(a.forecastQuantile - b.forecastQuantile) < 1e-9 &&
    Math.abs(a.headroomFraction - b.headroomFraction) < 1e-9
  );
}

function describeMove(before: TierPolicy, after: TierPolicy): string {
  const parts: string[] = [];
  if (Math.abs(before.forecastQuantile - after.forecastQuantile) >= 1e-9)
    parts.push(`forecast quantile ${before.forecastQuantile} → ${after.forecastQuantile}`);
  if (Math.abs(before.headroomFraction - after.headroomFraction) >= 1e-9)
    parts.push(`headroom ${pct(before.headroomFraction)} → ${pct(after.headroomFraction)}`);
  return parts.join(", ");
}

function pct(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

/**
 * Reverts one logged change: the tier's knobs go back to the change's `before`, recorded as a new
 * change (so the log stays complete) on the next version.
 *
 * @param current the policy set in force
 * @param change the change to undo
 * @param now epoch seconds
 * @returns the new set and the change that reverts `change`
 */
export function revertPolicyChange(
  current: PolicySet,
  change: PolicyChange,
  now: number,
): { next: PolicySet; change: PolicyChange } {
  const version = current.version + 1;
  const before = current.tiers[change.tier] ?? change.after;
  return {
    next: { version, tiers: { ...current.tiers, [change.tier]: change.before }, updatedAt: now },
    change: {
      changeId: `${version}-${change.tier}-revert`,
      tier: change.tier,
      before,
      after: change.before,
      cause: `revert of change ${change.changeId} (${change.cause})`,
      at: now,
      version,
    },
  };
}
