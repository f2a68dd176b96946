import { z } from "zod";
import type { DominantRound } from "./allocation/fair-share.js";
import { type Criticality, CriticalitySchema, IdSchema } from "./config.js";
import { type Amounts, AmountsSchema, RESOURCES } from "./resources.js";

/** The body of `POST /v1/requests`. */
export const AdmissionRequestSchema = z.strictObject({
  /** Caller-chosen id; retrying with the same id returns the same decision. */
  requestId: IdSchema,
  userId: IdSchema,
  pool: IdSchema,
  amounts: AmountsSchema.refine(
    (a) => RESOURCES.some((r) => (a[r] ?? 0) > 0),
    "must ask for a positive amount of at least one resource (vcpu, memoryGiB, gpu)",
  ),
  durationSeconds: z
    .number()
    .int()
    .positive()
    .max(31 * 86_400, "must be at most 31 days (2678400 s)"),
  criticality: CriticalitySchema.default("normal"),
  /** How long the work may wait for capacity; defaults per criticality from the config. */
  maxDelaySeconds: z
    .number()
    .int()
    .nonnegative()
    .max(7 * 86_400)
    .optional(),
  /** Whether an alternative (smaller now, another pool, later start) may be offered. */
  acceptAlternatives: z.boolean().optional(),
});
export type AdmissionRequestInput = z.input<typeof AdmissionRequestSchema>;

/** A request with its defaults resolved. */
export interface AdmissionRequest {
  readonly requestId: string;
  readonly userId: string;
  readonly pool: string;
  readonly amounts: Amounts;
  readonly durationSeconds: number;
  readonly criticality: Criticality;
  readonly maxDelaySeconds: number;
  readonly acceptAlternatives: boolean;
}

/** An alternative the caller may take by sending a new request with these parameters. */
export interface Alternative {
  readonly kind: "smaller" | "other-pool" | "later";
  readonly pool: string;
  readonly amounts: Amounts;
  /** Epoch seconds. */
  readonly startAt: number;
  readonly durationSeconds: number;
}

export type Decision =
  | {
      readonly outcome: "grant";
      /** Epoch seconds; the lease holds the amounts over [startAt, endAt). */
      readonly startAt: number;
      readonly endAt: number;
      readonly reason: string;
    }
  | {
      readonly outcome: "delay";
      readonly startAt: number;
      readonly endAt: number;
      readonly reason: string;
    }
  | {
      readonly outcome: "offer";
      readonly alternative: Alternative;
      /** Seconds from the decision until the alternative can start. */
      readonly etaSeconds: number;
      readonly reason: string;
    }
  | {
      readonly outcome: "reject";
      readonly reason: string;
      /** When asking again has a chance, in seconds from the decision, computed from the plan. */
      readonly retryAfterSeconds: number;
    };

export type DecisionOutcome = Decision["outcome"];

/**
 * Capacity held in a pool over [startAt, endAt): a granted or delayed request, or a warm
 * reservation the plan pre-provisioned for a user predicted to need it.
 */
export interface Lease {
  readonly leaseId: string;
  readonly userId: string;
  readonly kind: "request" | "warm";
  readonly amounts: Amounts;
  readonly startAt: number;
  readonly endAt: number;
  /** For request leases: the request that holds it. */
  readonly requestId?: string;
}

/** Pool capacity from a start time on (until the next step), as the latest plan provisions it. */
export interface CapacityStep {
  readonly start: number;
  readonly capacity: Amounts;
}

/**
 * The reservation book of one pool: capacity over time from the plan, and the leases on it.
 * Admission reads it, decides, and writes it back under `version` (optimistic concurrency), so
 * concurrent requests can never commit more than the capacity.
 */
export interface PoolLedger {
  readonly pool: string;
  /** Incremented on every write; a write must name the version it read. 0 = never written. */
  readonly version: number;
  readonly capacity: readonly CapacityStep[];
  readonly leases: readonly Lease[];
  /** The plan the capacity came from (issuedAt), when any. */
  readonly planIssuedAt?: number;
  /** Water level per resource for the first plan interval: the fair-share level (see plan). */
  readonly fairShareLevel?: Amounts;
  /**
   * Capacity kept for critical requests (the plan's room for a critical burst, rule 2b): normal
   * and deferrable requests are admitted, delayed and booked as if the pool had this much less,
   * so work that can wait never takes the room a critical request cannot wait for.
   */
  readonly criticalReserve?: Amounts;
  /**
   * With `allocation.method` "drf", under scarcity: the first plan interval's DRF rounds and the
   * capacity they shared, from which admission works out each user's share.
   */
  readonly dominantFairShare?: {
    readonly rounds: readonly DominantRound[];
    readonly capacity: Amounts;
  };
  readonly updatedAt: number;
}

/** The stored record of one decision: the answer to `GET /v1/requests/{id}` and the request log. */
export interface DecisionRecord {
  readonly requestId: string;
  readonly request: AdmissionRequest;
  readonly decision: Decision;
  /** Epoch seconds. */
  readonly decidedAt: number;
  readonly tier: string;
  /** Which forecast, rule and constraint led here, one line each. */
  readonly explanation: readonly string[];
  readonly planIssuedAt?: number;
}
