import type { Criticality } from "../config.js";
import type { Amounts } from "../resources.js";

/**
 * A trace turned into what a replay runs: the requests users send (with their tier, criticality
 * and patience), the load already running when the trace starts, and the mapping that produced
 * them (printed at the start of a run). Every policy of a replay sees the same `ReplayTrace`.
 *
 * Times are epoch seconds on the replay's simulated clock; a trace that gives only offsets from
 * its start places its start at `start`.
 */

/** One capacity request: something a user asks to hold in a pool from `arrival` for `durationSeconds`. */
export interface ReplayRequest {
  /** Unique within the trace; safe as an admission `requestId` (letters, digits, `._:@=+-/`). */
  readonly requestId: string;
  /** The tenant (an id safe in DynamoDB keys, see config.ts IdSchema). */
  readonly userId: string;
  readonly tier: string;
  /** Pool id (`cpu`, `gpu`, …), one of `ReplayTrace.pools`. */
  readonly pool: string;
  /** What it asks for, per resource (vcpu, memoryGiB, gpu); at least one positive. */
  readonly amounts: Amounts;
  /** When the request arrives, epoch seconds; start ≤ arrival < end. */
  readonly arrival: number;
  /** How long it holds the amounts once started (≥ 1 s); ends at the trace end at the latest. */
  readonly durationSeconds: number;
  readonly criticality: Criticality;
  /** How long it may wait; beyond that a delay counts as a denial. */
  readonly maxDelaySeconds: number;
  /** Whether the simulated user takes an offered alternative (else every offer is a denial). */
  readonly acceptAlternatives: boolean;
}

/** Load running when the trace starts (not a request): it holds capacity until `endAt`. */
export interface InitialLoad {
  readonly id: string;
  readonly userId: string;
  readonly tier: string;
  readonly pool: string;
  readonly amounts: Amounts;
  /** Epoch seconds; ≤ the trace end. */
  readonly endAt: number;
}

/** A pool of the replay's simulated cluster (sizes chosen per format and documented in its mapping). */
export interface ReplayPool {
  /** Capacity one task adds (one node of the trace's cluster, as the mapping documents). */
  readonly perTask: Amounts;
  /** Seconds from asking for a task until it is ready to hold work. */
  readonly provisioningLagSeconds: number;
  /** Price of one task for one hour, USD. */
  readonly costPerTaskHour: number;
  /** Bounds of the pool's task count for every policy. */
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Pools a request of this pool may be offered instead (in order of preference). */
  readonly alternatives: readonly string[];
}

export interface ReplayTrace {
  /** The format read (`alibaba-dlrm`, `google-2011`, `alibaba-gpu`, `alibaba-genai`). */
  readonly format: string;
  /** Epoch seconds: first instant of the trace, and the instant after its last. */
  readonly start: number;
  readonly end: number;
  readonly pools: Readonly<Record<string, ReplayPool>>;
  /** Every tenant that appears (in requests or initial load), with its tier. */
  readonly users: readonly { readonly userId: string; readonly tier: string }[];
  /** Sorted by arrival, then requestId. */
  readonly requests: readonly ReplayRequest[];
  readonly initialLoad: readonly InitialLoad[];
  /** The documented mapping from the trace's rows to the above, one line each, printed at the start. */
  readonly mapping: readonly string[];
}

/** Default patience per criticality (seconds), as issue 4 fixes them. */
export const DEFAULT_MAX_DELAY_SECONDS: Readonly<Record<Criticality, number>> = {
  critical: 0,
  normal: 600,
  deferrable: 3_600,
};

/**
 * Tiers by size, as the mappings of alibaba-dlrm and alibaba-genai fix them: the top 10 % of
 * tenants by `size` are premium, the next 40 % standard, the rest free. Ties keep the order of
 * `sizes` (sorted by size descending, then id), so the split is deterministic.
 *
 * @param sizes size per tenant (instances or requests in the trace)
 * @returns tier per tenant
 */
export function tiersBySize(sizes: ReadonlyMap<string, number>): Map<string, string> {
  const ranked = [...sizes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const premium = Math.ceil(0.1 * ranked.length);
  const standard = Math.ceil(0.5 * ranked.length);
  const out = new Map<string, string>();
  ranked.forEach(([id], i) => {
    out.set(id, i < premium ? "premium" : i < standard ? "standard" : "free");
  });
  return out;
}
