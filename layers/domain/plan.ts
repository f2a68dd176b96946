import type { DominantRound } from "./allocation/fair-share.js";
import type { Amounts } from "./resources.js";

/** One interval of a pool's plan. */
export interface PlanInterval {
  /** Epoch seconds. */
  readonly start: number;
  /** Pool aggregate demand the plan provisions for (forecast at the planning quantile). */
  readonly demand: Amounts;
  /** Sum of the users' guaranteed minimums that the forecast says will be drawn on. */
  readonly guaranteed: Amounts;
  /** Capacity held back as warm reservations for specific users. */
  readonly warm: Amounts;
  /** ECS tasks the plan wants serving in this interval. */
  readonly targetTasks: number;
  /** Capacity the target tasks give. */
  readonly capacity: Amounts;
  /** Fair-share water level per resource: a user's allocation is min(footprint, cap, max(guarantee, weight × level)). */
  readonly fairShareLevel: Amounts;
  /**
   * With `allocation.method` "drf" (absent otherwise): the rounds in which resources ran out
   * (empty: everyone's footprint fits).
   * A user's share is then `drfFraction` of its footprint bundle (allocation/fair-share.ts).
   */
  readonly dominantRounds?: readonly DominantRound[];
  readonly reason: string;
}

/** A scaling step pushed to Application Auto Scaling (or applied at once through ECS). */
export interface ScalingStep {
  /** When the new task count must be requested (interval start − provisioning lag), epoch seconds. */
  readonly at: number;
  readonly tasks: number;
  readonly reason: string;
}

/** Capacity kept warm for one user predicted to burst. */
export interface WarmReservation {
  readonly userId: string;
  readonly amounts: Amounts;
  readonly from: number;
  readonly until: number;
  readonly reason: string;
}

/** A user whose allocation the plan bound by a rule worth recording (guarantee, cap, scarcity). */
export interface AllocationEntry {
  readonly userId: string;
  readonly tier: string;
  /** Allocation for the first plan interval. */
  readonly allocation: Amounts;
  readonly footprint: Amounts;
  readonly reason: string;
}

export interface ActuationResult {
  readonly status: "applied" | "shadow" | "failed" | "unchanged";
  readonly detail: string;
}

/** The plan of one pool, made by the shape stage every cycle. */
export interface PoolPlan {
  readonly pool: string;
  readonly issuedAt: number;
  readonly intervalSeconds: number;
  /** Tasks serving (ECS running count) when the plan was made. */
  readonly currentTasks: number;
  readonly intervals: readonly PlanInterval[];
  readonly scaling: readonly ScalingStep[];
  readonly warmReservations: readonly WarmReservation[];
  readonly notableAllocations: readonly AllocationEntry[];
  /** Expected cost of the plan's capacity over its horizon, USD. */
  readonly costUsd: number;
  /**
   * Per resource, the room kept for a critical burst (rule 2b), when any: admission keeps it from
   * requests that are not critical (the ledger's `criticalReserve`).
   */
  readonly criticalReserve?: Amounts;
  readonly actuation?: ActuationResult;
}
