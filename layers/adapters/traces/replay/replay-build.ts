import type { Criticality } from "../../../domain/config.js";
import {
  DEFAULT_MAX_DELAY_SECONDS,
  type InitialLoad,
  type ReplayPool,
  type ReplayRequest,
} from "../../../domain/replay/replay-trace.js";
import { type Amounts, formatAmounts, RESOURCES } from "../../../domain/resources.js";

/**
 * What the replay trace readers share: ids made safe, the patience a criticality gets, the
 * (arrival, requestId) order, and pools sized from the trace's own peak.
 */

/** Longest id IdSchema (layers/domain/config.ts) accepts. */
const MAX_ID_LENGTH = 128;
const SAFE_ID = /^[A-Za-z0-9._:@=+\-/]+$/;
const UNSAFE_ID_CHAR = /[^A-Za-z0-9._:@=+\-/]/g;
/** The most tasks a pool may have (PoolSchema's bound on maxTasks). */
const MAX_POOL_TASKS = 100_000;

/**
 * A trace's id (user name, group, pod name) made safe as a shaper id (IdSchema: 1–128 letters,
 * digits and `._:@=+-/`). A safe id is kept as it is; any other has each unsafe character
 * replaced by `_`, is cut to 119 characters, and gets `-` and 8 hex digits of a hash of the
 * original appended, so two ids that differ only in unsafe characters stay apart.
 *
 * @example
 * safeId("G0001"); // "G0001"
 * safeId("team a#1"); // "team_a_1-" + 8 hex digits
 */
export function safeId(raw: string): string {
  if (raw.length > 0 && raw.length <= MAX_ID_LENGTH && SAFE_ID.test(raw)) return raw;
  const kept = raw.replace(UNSAFE_ID_CHAR, "_").slice(0, MAX_ID_LENGTH - 9);
  return `${kept}-${fnv1a32(raw)}`;
}

/** FNV-1a over UTF-16 code units, as 8 hex digits: a stable, dependency-free short hash. */
function fnv1a32(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * Hands out request ids unique within one trace: the first use of a base id is the id itself,
 * later uses get `:2`, `:3`, … appended (a pod name that appears in two files).
 */
export class UniqueIds {
  /** Uses per base id, and every id handed out. */
  private readonly uses = new Map<string, number>();
  private readonly taken = new Set<string>();

  next(base: string): string {
    let n = this.uses.get(base) ?? 0;
    let candidate = base;
    do {
      n++;
      const suffix = n === 1 ? "" : `:${n}`;
      candidate = `${base.slice(0, MAX_ID_LENGTH - suffix.length)}${suffix}`;
    } while (this.taken.has(candidate));
    this.uses.set(base, n);
    this.taken.add(candidate);
    return candidate;
  }
}

/** The patience a request of this criticality gets (issue 4's defaults). */
export function patienceOf(criticality: Criticality): {
  readonly maxDelaySeconds: number;
  readonly acceptAlternatives: boolean;
} {
  return {
    maxDelaySeconds: DEFAULT_MAX_DELAY_SECONDS[criticality],
    acceptAlternatives: criticality !== "critical",
  };
}

/** Orders requests by arrival, then requestId (by UTF-16 code units, not locale). */
export function compareRequests(a: ReplayRequest, b: ReplayRequest): number {
  if (a.arrival !== b.arrival) return a.arrival - b.arrival;
  if (a.requestId === b.requestId) return 0;
  return a.requestId < b.requestId ? -1 : 1;
}

/** Whether any resource of `amounts` is above zero (a request must ask for something). */
export function hasPositiveAmount(amounts: Amounts): boolean {
  return RESOURCES.some((r) => (amounts[r] ?? 0) > 0);
}

/**
 * The peak, per pool and resource, of what the trace itself holds at once: each request from its
 * arrival for its duration, each initial load from `start` to its `endAt`. Intervals are half
 * open, so one that ends when another starts does not overlap it. Each resource peaks on its own
 * (their peaks may fall at different instants).
 *
 * @param start trace start, epoch seconds
 * @returns peak amounts per pool id (pools nothing uses are absent)
 */
export function peakHeld(
  requests: readonly ReplayRequest[],
  initialLoad: readonly InitialLoad[],
  start: number,
): Map<string, Amounts> {
  const changes = new Map<string, { at: number; sign: 1 | -1; amounts: Amounts }[]>();
  const add = (pool: string, from: number, to: number, amounts: Amounts) => {
    const list = changes.get(pool) ?? [];
    list.push({ at: from, sign: 1, amounts }, { at: to, sign: -1, amounts });
    changes.set(pool, list);
  };
  for (const r of requests) add(r.pool, r.arrival, r.arrival + r.durationSeconds, r.amounts);
  for (const l of initialLoad) add(l.pool, start, l.endAt, l.amounts);
  const peaks = new Map<string, Amounts>();
  for (const [pool, list] of changes) {
    // Ends before starts at the same instant: half-open intervals.
    list.sort((a, b) => a.at - b.at || a.sign - b.sign);
    const held: Record<string, number> = {};
    const peak: Amounts = {};
    for (const change of list) {
      for (const r of RESOURCES) {
        const v = change.amounts[r];
        if (v === undefined || v === 0) continue;
        const now = (held[r] ?? 0) + change.sign * v;
        held[r] = now;
        if (now > (peak[r] ?? 0)) peak[r] = now;
      }
    }
    peaks.set(pool, peak);
  }
  return peaks;
}

/** Tasks of `perTask` needed to hold `amounts` (the resource that needs most decides). */
export function tasksToHold(amounts: Amounts, perTask: Amounts): number {
  let tasks = 0;
  for (const r of RESOURCES) {
    const need = amounts[r] ?? 0;
    const size = perTask[r] ?? 0;
    if (need <= 0 || size <= 0) continue;
    // The epsilon keeps float dust (3.0000000001 tasks) from adding a task.
    tasks = Math.max(tasks, Math.ceil(need / size - 1e-9));
  }
  return tasks;
}

/** How a pool of a replay is sized and priced, before the trace's peak is known. */
export interface PoolSpec {
  /** Capacity one task adds: one node of the trace's cluster, or the documented stand-in. */
  readonly perTask: Amounts;
  readonly provisioningLagSeconds: number;
  readonly costPerTaskHour: number;
  /** What the task is priced after, e.g. "an m5.4xlarge (AWS us-east-1 on-demand Linux)". */
  readonly pricedAfter: string;
  /** Where perTask comes from, e.g. "the trace's most common machine". */
  readonly sizedAfter: string;
  readonly alternatives: readonly string[];
}

/**
 * Builds the replay's pools from their specs and the trace's peak: `minTasks` 0 and `maxTasks`
 * twice the tasks the peak needs (at least 1, at most 100,000), with one mapping line per pool.
 *
 * @param specs pool specs by pool id
 * @param peaks the trace's peak per pool (from `peakHeld`)
 * @returns the pools and the lines that describe them
 */
export function buildPools(
  specs: Readonly<Record<string, PoolSpec>>,
  peaks: ReadonlyMap<string, Amounts>,
): { pools: Record<string, ReplayPool>; mapping: string[] } {
  const pools: Record<string, ReplayPool> = {};
  const mapping: string[] = [];
  for (const [id, spec] of Object.entries(specs)) {
    const peak = peaks.get(id) ?? {};
    const peakTasks = tasksToHold(peak, spec.perTask);
    const maxTasks = Math.min(MAX_POOL_TASKS, Math.max(1, 2 * peakTasks));
    pools[id] = {
      perTask: spec.perTask,
      provisioningLagSeconds: spec.provisioningLagSeconds,
      costPerTaskHour: spec.costPerTaskHour,
      minTasks: 0,
      maxTasks,
      alternatives: spec.alternatives,
    };
    mapping.push(
      `pool ${id}: one task = ${formatAmounts(spec.perTask)} (${spec.sizedAfter}), priced after ${spec.pricedAfter} at $${spec.costPerTaskHour} per task-hour; ready ${spec.provisioningLagSeconds} s after it is asked for; 0–${formatCount(maxTasks)} tasks (2 × the ${formatCount(peakTasks)} tasks the trace's peak of ${formatAmounts(peak)} needs)${spec.alternatives.length > 0 ? `; alternatives: ${spec.alternatives.join(", ")}` : ""}`,
    );
  }
  return { pools, mapping };
}

/** `12,345` — counts in mapping lines, independent of the locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `LS 3, BE 2` — a tally in mapping lines, largest first. */
export function formatTally(tally: ReadonlyMap<string, number>): string {
  return [...tally.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${formatCount(v)}`)
    .join(", ");
}

/** Adds one to `tally[key]`. */
export function tallyInto(tally: Map<string, number>, key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
