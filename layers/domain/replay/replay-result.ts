/**
 * What a replay measures: per policy, the outcome of every scored request and what the capacity
 * cost, overall and by tier and pool, plus the time series the report draws. `shaper replay
 * --json` writes a `ReplayResult`; the HTML report renders one.
 */

/** Outcome counts over a set of scored requests (each request is counted exactly once). */
export interface OutcomeCounts {
  readonly requests: number;
  /** Granted at the moment it arrived (or a warm reservation held for it). */
  readonly grantedNow: number;
  /** Started later, within its `maxDelaySeconds`. */
  readonly delayed: number;
  /** Took an offered alternative (smaller now, another pool, later start). */
  readonly offered: number;
  /** Rejected, delayed beyond its patience, or offered something it declined. */
  readonly denied: number;
}

export interface ServiceMetrics extends OutcomeCounts {
  readonly delayP50Seconds: number;
  readonly delayP95Seconds: number;
  readonly delayP99Seconds: number;
  readonly criticalRequests: number;
  /** grantedNow ÷ critical requests; null when there were none. */
  readonly criticalGrantedNowRate: number | null;
  /** Requests within their tier's guarantee that were not granted at once. */
  readonly guaranteeViolations: number;
}

export interface CapacityMetrics {
  /** Provisioned (ready) capacity × time, vCPU-hours. */
  readonly capacityHours: number;
  /** Provisioned GPUs × time, GPU-hours (0 for pools without GPUs). */
  readonly gpuHours: number;
  /** Task-hours × cost per task-hour, USD. */
  readonly cost: number;
  /** Held vCPU ÷ provisioned vCPU, time-weighted. */
  readonly utilisation: number;
  /** Changes of a pool's desired task count. */
  readonly scalingActions: number;
}

export interface PolicyResult extends ServiceMetrics, CapacityMetrics {
  /** `reactive`, `patent`, `quota`, `shaper` or `oracle`. */
  readonly name: string;
  /** Jain's index of per-user satisfaction (share of a user's requests served, at once or in time). */
  readonly fairness: number;
  readonly byTier: Readonly<Record<string, ServiceMetrics>>;
  readonly byPool: Readonly<Record<string, ServiceMetrics & CapacityMetrics>>;
  /** Why scored requests were denied, by kind of reason, most frequent first (at most 10 kinds). */
  readonly deniedReasons: readonly DeniedReason[];
  /** Seconds of wall time the policy took to replay. */
  readonly wallSeconds: number;
  /** Where the wall time went, by pipeline stage (shaper only). */
  readonly stageSeconds?: Readonly<Record<string, number>>;
}

/** One kind of denial: the reason with its numbers blanked, how often, and one example. */
export interface DeniedReason {
  readonly kind: string;
  readonly count: number;
  /** Of `count`, the critical requests. */
  readonly critical: number;
  /** The first denied request's reason of this kind, numbers included. */
  readonly example: string;
}

/** A pool's capacity and load over the scored span at a fixed step, for the report. */
export interface PoolTimeline {
  readonly pool: string;
  /** Epoch seconds of the first point, and seconds between points. */
  readonly start: number;
  readonly stepSeconds: number;
  /** vCPU users asked for and were running (every request as if granted at once): the same for all policies. */
  readonly demandVcpu: readonly number[];
  /** Per policy: ready capacity (vCPU) and what it held (vCPU) at each point. */
  readonly policies: readonly {
    readonly name: string;
    readonly capacityVcpu: readonly number[];
    readonly heldVcpu: readonly number[];
  }[];
}

/** One forecast the shaper policy made, with what happened, for a fan chart. */
export interface ForecastFan {
  readonly userId: string;
  readonly pool: string;
  /** Epoch seconds of the forecast's first step, and seconds per step. */
  readonly start: number;
  readonly stepSeconds: number;
  /** Observed vCPU before the forecast (context) and after it (the actuals), same step. */
  readonly history: readonly number[];
  readonly actual: readonly (number | null)[];
  /** The forecast's quantiles of vCPU per step, levels ascending (at least 0.1, 0.5, 0.9). */
  readonly quantiles: readonly { readonly level: number; readonly values: readonly number[] }[];
}

export interface ReplayResult {
  readonly format: string;
  /** The trace file or folder replayed. */
  readonly trace: string;
  /** Epoch seconds: the trace span and where scoring starts (after the 20 % warm-up). */
  readonly start: number;
  readonly end: number;
  readonly scoredFrom: number;
  readonly mapping: readonly string[];
  readonly policies: readonly PolicyResult[];
  readonly timelines: readonly PoolTimeline[];
  readonly forecastFans: readonly ForecastFan[];
  /** The tier policy changes shaper's daily Adapt step made, oldest first (absent in older results). */
  readonly policyChanges?: readonly ReplayPolicyChange[];
}

/** One tier policy change during the replay: when, which tier, and the cause as logged. */
export interface ReplayPolicyChange {
  /** Epoch seconds. */
  readonly at: number;
  readonly tier: string;
  readonly cause: string;
}
