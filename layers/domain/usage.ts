import type { Amounts } from "./resources.js";

/** What the admission API saw a user ask for in one interval (the request log, folded). */
export interface RequestStats {
  /** Requests that arrived in the interval. */
  readonly count: number;
  /** Sum of the amounts asked. */
  readonly requested: Amounts;
  /** Sum of amount × durationSeconds asked (resource-seconds). */
  readonly amountSeconds: Amounts;
  /** Sum of the amounts granted at once or delayed (capacity actually committed). */
  readonly granted: Amounts;
  /**
   * Sum of the amounts critical requests asked in the interval, whatever the outcome; absent when
   * no critical request arrived. The plan keeps room for the most critical requests asked within
   * one provisioning lag recently (capacity-plan.ts, forecast-users.ts `criticalPeakOf`).
   */
  readonly criticalAsked?: Amounts;
}

/**
 * A user's usage of one pool in one interval.
 * `usage === null` means the metrics source returned nothing for the interval: missing data,
 * never to be read as zero. Within a usage map, a resource the pool offers but the map lacks was
 * not reported for that interval (missing), unlike elsewhere where an absent resource means zero.
 */
export interface UsageRecord {
  readonly userId: string;
  readonly pool: string;
  /** Epoch seconds, aligned to the interval. */
  readonly intervalStart: number;
  readonly usage: Amounts | null;
  readonly requests?: RequestStats;
}

/** Load of a pool's ECS service in one interval, from AWS/ECS metrics (percent, 0–100), null when missing. */
export interface PoolLoadRecord {
  readonly pool: string;
  readonly intervalStart: number;
  readonly cpuUtilizationPercent: number | null;
  readonly memoryUtilizationPercent: number | null;
}

/**
 * One shard's sum of its users' usage of a pool in one interval. The pool's aggregate series is
 * the sum of these partials over shards, so no stage has to read every user.
 */
export interface PoolUsagePartial {
  readonly pool: string;
  readonly intervalStart: number;
  readonly shard: number;
  readonly usage: Amounts;
  /** Users of the shard with data in the interval, and without. */
  readonly reportingUsers: number;
  readonly missingUsers: number;
}

/** One request as the admission API logged it, for collect to fold into usage records. */
export interface RequestLogEntry {
  readonly requestId: string;
  readonly userId: string;
  readonly pool: string;
  readonly amounts: Amounts;
  readonly durationSeconds: number;
  /** When the request arrived, epoch seconds. */
  readonly receivedAt: number;
  readonly outcome: "grant" | "delay" | "offer" | "reject";
  /** The user's tier when the request was decided. */
  readonly tier?: string;
  /** Criticality the request was sent with. */
  readonly criticality?: "critical" | "normal" | "deferrable";
}
