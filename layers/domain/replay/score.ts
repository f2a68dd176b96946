import type { PolicyRun, TaskCurve } from "./policy-run.js";
import type {
  CapacityMetrics,
  DeniedReason,
  PolicyResult,
  PoolTimeline,
  ServiceMetrics,
} from "./replay-result.js";
import type { ReplayRequest, ReplayTrace } from "./replay-trace.js";

/**
 * Scores policy runs the same way for every policy. Counted: requests arriving at or after
 * `scoredFrom` (the first 20 % of the span is warm-up); capacity integrated over
 * [scoredFrom, end). Definitions:
 * - served = granted now, delayed within patience, or an alternative taken; denied otherwise;
 * - delay percentiles are over the delayed requests (0 when none was delayed);
 * - a guarantee violation is a critical request not granted at once (the mappings make
 *   critical exactly the work whose tier guarantees it never waits);
 * - utilisation = held vCPU-time ÷ provisioned vCPU-time, holding what each policy served;
 * - fairness = Jain's index over users of their share of requests served;
 * - scaling actions = changes of a pool's ready task count within the scored span.
 */

/** The share of the span that is warm-up for every policy alike. */
export const WARM_UP_FRACTION = 0.2;

/** Where scoring starts: after the warm-up. */
export function scoredFromOf(trace: Pick<ReplayTrace, "start" | "end">): number {
  return trace.start + Math.floor(WARM_UP_FRACTION * (trace.end - trace.start));
}

/** Quantile (nearest rank) of ascending values; 0 for none. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

function serviceOf(trace: ReplayTrace, run: PolicyRun, indexes: readonly number[]): ServiceMetrics {
  let grantedNow = 0;
  let delayed = 0;
  let offered = 0;
  let denied = 0;
  let critical = 0;
  let criticalNow = 0;
  const delays: number[] = [];
  for (const i of indexes) {
    const fate = run.fates[i];
    const request = trace.requests[i] as ReplayRequest;
    if (request.criticality === "critical") critical++;
    switch (fate?.kind) {
      case "now":
        grantedNow++;
        if (request.criticality === "critical") criticalNow++;
        break;
      case "delayed":
        delayed++;
        delays.push(fate.delaySeconds);
        break;
      case "offered":
        offered++;
        break;
      default:
        denied++;
    }
  }
  delays.sort((a, b) => a - b);
  return {
    requests: indexes.length,
    grantedNow,
    delayed,
    offered,
    denied,
    delayP50Seconds: percentile(delays, 0.5),
    delayP95Seconds: percentile(delays, 0.95),
    delayP99Seconds: percentile(delays, 0.99),
    criticalRequests: critical,
    criticalGrantedNowRate: critical === 0 ? null : criticalNow / critical,
    guaranteeViolations: critical - criticalNow,
  };
}

/** ∫ over [from, to) of a step curve's tasks, in task-seconds. */
function taskSeconds(curve: TaskCurve | undefined, from: number, to: number): number {
  if (!curve) return 0;
  let sum = 0;
  for (let i = 0; i < curve.times.length; i++) {
    const a = Math.max(from, curve.times[i] as number);
    const b = Math.min(to, curve.times[i + 1] ?? to);
    if (b > a) sum += (curve.tasks[i] as number) * (b - a);
  }
  return sum;
}

function changesWithin(curve: TaskCurve | undefined, from: number, to: number): number {
  if (!curve) return 0;
  let n = 0;
  for (let i = 1; i < curve.times.length; i++) {
    const t = curve.times[i] as number;
    if (t >= from && t < to) n++;
  }
  return n;
}

/** A step function of held vCPU built from (time, ±amount) events. */
interface HeldEvents {
  times: number[];
  deltas: number[];
}

/** Held vCPU per pool: initial load plus what the policy served, over time. */
function heldEvents(trace: ReplayTrace, run: PolicyRun | undefined): Map<string, HeldEvents> {
  const out = new Map<string, HeldEvents>();
  const add = (pool: string, from: number, to: number, vcpu: number) => {
    if (!(vcpu > 0) || to <= from) return;
    let events = out.get(pool);
    if (!events) {
      events = { times: [], deltas: [] };
      out.set(pool, events);
    }
    events.times.push(from, to);
    events.deltas.push(vcpu, -vcpu);
  };
  for (const load of trace.initialLoad)
    add(load.pool, trace.start, load.endAt, load.amounts.vcpu ?? 0);
  trace.requests.forEach((request, i) => {
    const fate = run ? run.fates[i] : { kind: "now" as const };
    if (!fate || fate.kind === "denied") return;
    const delay = fate.kind === "now" ? 0 : fate.delaySeconds;
    const start = request.arrival + delay;
    const end = Math.min(trace.end, start + request.durationSeconds);
    const pool = fate.kind === "offered" ? fate.pool : request.pool;
    const amounts = fate.kind === "offered" ? fate.amounts : request.amounts;
    add(pool, start, end, amounts.vcpu ?? 0);
  });
  return out;
}

/** Sorted (time, level) steps of held events. */
function heldSteps(events: HeldEvents | undefined): { times: number[]; levels: number[] } {
  if (!events) return { times: [], levels: [] };
  const order = events.times
    .map((_, i) => i)
    .sort((a, b) => (events.times[a] as number) - (events.times[b] as number));
  const times: number[] = [];
  const levels: number[] = [];
  let level = 0;
  for (const i of order) {
    level += events.deltas[i] as number;
    const t = events.times[i] as number;
    if (times.length > 0 && times[times.length - 1] === t) levels[levels.length - 1] = level;
    else {
      times.push(t);
      levels.push(level);
    }
  }
  return { times, levels };
}

function integrateSteps(
  steps: { times: number[]; levels: number[] },
  from: number,
  to: number,
): number {
  let sum = 0;
  for (let i = 0; i < steps.times.length; i++) {
    const a = Math.max(from, steps.times[i] as number);
    const b = Math.min(to, steps.times[i + 1] ?? to);
    if (b > a) sum += Math.max(0, steps.levels[i] as number) * (b - a);
  }
  return sum;
}

/** Samples a step function at `start + k × step`. */
function sample(
  times: readonly number[],
  levels: readonly number[],
  start: number,
  step: number,
  count: number,
): number[] {
  const out: number[] = [];
  let i = -1;
  for (let k = 0; k < count; k++) {
    const t = start + k * step;
    while (i + 1 < times.length && (times[i + 1] as number) <= t) i++;
    out.push(i < 0 ? 0 : Math.max(0, levels[i] as number));
  }
  return out;
}

/**
 * Scores one run.
 *
 * @param trace the replayed trace
 * @param run what the policy did
 * @returns the policy's metrics, overall, by tier and by pool
 */
export function scoreRun(trace: ReplayTrace, run: PolicyRun): PolicyResult {
  const from = scoredFromOf(trace);
  const scored: number[] = [];
  trace.requests.forEach((r, i) => {
    if (r.arrival >= from) scored.push(i);
  });
  const held = heldEvents(trace, run);
  const byPool: Record<string, ServiceMetrics & CapacityMetrics> = {};
  const totals = { capacity: 0, gpu: 0, cost: 0, held: 0, actions: 0 };
  for (const [pool, config] of Object.entries(trace.pools)) {
    const curve = run.capacity[pool];
    const seconds = taskSeconds(curve, from, trace.end);
    const capacity = (seconds * (config.perTask.vcpu ?? 0)) / 3600;
    const heldHours = integrateSteps(heldSteps(held.get(pool)), from, trace.end) / 3600;
    const metrics: CapacityMetrics = {
      capacityHours: capacity,
      gpuHours: (seconds * (config.perTask.gpu ?? 0)) / 3600,
      cost: (seconds / 3600) * config.costPerTaskHour,
      utilisation: capacity > 0 ? heldHours / capacity : 0,
      scalingActions: changesWithin(curve, from, trace.end),
    };
    totals.capacity += metrics.capacityHours;
    totals.gpu += metrics.gpuHours;
    totals.cost += metrics.cost;
    totals.held += heldHours;
    totals.actions += metrics.scalingActions;
    byPool[pool] = {
      ...serviceOf(
        trace,
        run,
        scored.filter((i) => trace.requests[i]?.pool === pool),
      ),
      ...metrics,
    };
  }
  const tiers = [...new Set(trace.users.map((u) => u.tier))].sort();
  const byTier = Object.fromEntries(
    tiers.map((tier) => [
      tier,
      serviceOf(
        trace,
        run,
        scored.filter((i) => trace.requests[i]?.tier === tier),
      ),
    ]),
  );
  return {
    name: run.name,
    ...serviceOf(trace, run, scored),
    capacityHours: totals.capacity,
    gpuHours: totals.gpu,
    cost: totals.cost,
    utilisation: totals.capacity > 0 ? totals.held / totals.capacity : 0,
    scalingActions: totals.actions,
    fairness: jainFairness(trace, run, scored),
    byTier,
    byPool,
    deniedReasons: deniedReasons(trace, run, scored),
    wallSeconds: run.wallSeconds,
    ...(run.stageSeconds ? { stageSeconds: run.stageSeconds } : {}),
  };
}

/** How many kinds of denial `deniedReasons` lists at most. */
export const DENIED_REASON_KINDS = 10;

/**
 * Why scored requests were denied, grouped by the reason with its numbers blanked (`#`), most
 * frequent first, at most {@link DENIED_REASON_KINDS} kinds; each kind keeps its first reason
 * as an example and counts critical requests apart.
 */
export function deniedReasons(
  trace: ReplayTrace,
  run: PolicyRun,
  scored: readonly number[],
): DeniedReason[] {
  const kinds = new Map<string, { count: number; critical: number; example: string }>();
  for (const i of scored) {
    const fate = run.fates[i];
    if (fate !== undefined && fate.kind !== "denied") continue;
    const reason = fate?.reason ?? "no decision";
    const kind = reason.replace(/\d+(?:[.,]\d+)*/g, "#");
    const entry = kinds.get(kind) ?? { count: 0, critical: 0, example: reason };
    entry.count++;
    if ((trace.requests[i] as ReplayRequest).criticality === "critical") entry.critical++;
    kinds.set(kind, entry);
  }
  return [...kinds]
    .map(([kind, e]) => ({ kind, ...e }))
    .sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1))
    .slice(0, DENIED_REASON_KINDS);
}

/** Jain's index of per-user satisfaction (share of the user's scored requests served). */
export function jainFairness(
  trace: ReplayTrace,
  run: PolicyRun,
  scored: readonly number[],
): number {
  const perUser = new Map<string, { served: number; total: number }>();
  for (const i of scored) {
    const userId = (trace.requests[i] as ReplayRequest).userId;
    const entry = perUser.get(userId) ?? { served: 0, total: 0 };
    entry.total++;
    if (run.fates[i]?.kind !== "denied") entry.served++;
    perUser.set(userId, entry);
  }
  let sum = 0;
  let squares = 0;
  for (const { served, total } of perUser.values()) {
    const s = served / total;
    sum += s;
    squares += s * s;
  }
  return squares === 0 ? (perUser.size === 0 ? 1 : 0) : (sum * sum) / (perUser.size * squares);
}

/**
 * Capacity vs demand per pool at a fixed step over the whole trace (warm-up included), for the
 * report: demand is every request as if granted on arrival plus the initial load.
 */
export function poolTimelines(
  trace: ReplayTrace,
  runs: readonly PolicyRun[],
  stepSeconds: number,
): PoolTimeline[] {
  const count = Math.max(1, Math.ceil((trace.end - trace.start) / stepSeconds));
  const demand = heldEvents(trace, undefined);
  return Object.entries(trace.pools).map(([pool, config]) => {
    const d = heldSteps(demand.get(pool));
    return {
      pool,
      start: trace.start,
      stepSeconds,
      demandVcpu: sample(d.times, d.levels, trace.start, stepSeconds, count),
      policies: runs.map((run) => {
        const curve = run.capacity[pool] ?? { times: [], tasks: [] };
        const h = heldSteps(heldEvents(trace, run).get(pool));
        return {
          name: run.name,
          capacityVcpu: sample(curve.times, curve.tasks, trace.start, stepSeconds, count).map(
            (tasks) => tasks * (config.perTask.vcpu ?? 0),
          ),
          heldVcpu: sample(h.times, h.levels, trace.start, stepSeconds, count),
        };
      }),
    };
  });
}
