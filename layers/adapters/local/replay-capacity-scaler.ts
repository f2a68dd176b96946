import type { Pool } from "../../domain/config.js";
import { NotFoundError } from "../../domain/errors.js";
import type { ScalingStep } from "../../domain/plan.js";
import { recordTasks, type TaskCurve } from "../../domain/replay/policy-run.js";
import type { CapacityScaler, PoolCapacity, ScalingTarget } from "../../ports/capacity-scaler.js";
import type { Clock } from "../../ports/clock.js";

/**
 * The CapacityScaler of `shaper replay`: ECS + Application Auto Scaling as the simulated
 * cluster of local-system's SimulatedEcsCluster models them (tasks asked for serve after the
 * pool's provisioning lag; scaling in stops pending tasks first, then running ones; scheduled
 * steps fire at their time; `scaleNowTo` only raises), kept as task counts rather than one
 * object per task so a month of a thousand-task cluster stays cheap, and recording the ready
 * task count over time for scoring.
 */

interface PoolState {
  readonly lagSeconds: number;
  minTasks: number;
  maxTasks: number;
  running: number;
  /** Tasks asked for and not ready yet, oldest first. */
  pending: { readyAt: number; count: number }[];
  scheduled: ScalingStep[];
  readonly curve: TaskCurve;
  changes: number;
}

export class ReplayCapacityScaler implements CapacityScaler {
  private readonly pools = new Map<string, PoolState>();

  /**
   * @param clock the replay's simulated clock
   * @param pools the config's pools
   * @param initialTasks ready tasks per pool at the clock's time (default: the pool's minimum)
   */
  constructor(
    private readonly clock: Clock,
    pools: Readonly<Record<string, Pool>>,
    initialTasks: Readonly<Record<string, number>> = {},
  ) {
    const now = clock.nowSeconds();
    for (const [name, pool] of Object.entries(pools)) {
      const running = initialTasks[name] ?? pool.minTasks;
      const curve: TaskCurve = { times: [], tasks: [] };
      recordTasks(curve, now, running);
      this.pools.set(name, {
        lagSeconds: pool.provisioningLagSeconds,
        minTasks: pool.minTasks,
        maxTasks: pool.maxTasks,
        running,
        pending: [],
        scheduled: [],
        curve,
        changes: 0,
      });
    }
  }

  async describe(target: ScalingTarget): Promise<PoolCapacity> {
    const state = this.advanced(target.pool);
    const pending = pendingOf(state);
    return {
      desiredTasks: state.running + pending,
      runningTasks: state.running,
      pendingTasks: pending,
    };
  }

  async apply(
    target: ScalingTarget,
    steps: readonly ScalingStep[],
    scaleNowTo: number | undefined,
  ): Promise<void> {
    const state = this.advanced(target.pool);
    const now = this.clock.nowSeconds();
    state.minTasks = target.minTasks;
    state.maxTasks = target.maxTasks;
    const desired = state.running + pendingOf(state);
    if (desired < state.minTasks || desired > state.maxTasks) {
      setDesired(state, clamp(desired, state.minTasks, state.maxTasks), now);
    }
    if (scaleNowTo !== undefined && scaleNowTo > state.running + pendingOf(state)) {
      setDesired(state, Math.min(scaleNowTo, state.maxTasks), now);
    }
    const sorted = [...steps].sort((a, b) => a.at - b.at);
    for (const step of sorted.filter((s) => s.at <= now)) {
      setDesired(state, clamp(step.tasks, state.minTasks, state.maxTasks), now);
    }
    state.scheduled = sorted.filter((s) => s.at > now);
  }

  /** Ready tasks over time, per pool (advanced to the clock). */
  curves(): Record<string, TaskCurve> {
    const out: Record<string, TaskCurve> = {};
    for (const name of this.pools.keys()) out[name] = this.advanced(name).curve;
    return out;
  }

  /** Changes of each pool's desired task count. */
  scalingActions(): Record<string, number> {
    return Object.fromEntries([...this.pools].map(([name, state]) => [name, state.changes]));
  }

  /** Ready tasks of a pool now. */
  runningTasks(pool: string): number {
    return this.advanced(pool).running;
  }

  private advanced(pool: string): PoolState {
    const state = this.pools.get(pool);
    if (!state) {
      throw new NotFoundError(
        `Pool "${pool}" is not part of the replay's cluster (it has: ${[...this.pools.keys()].join(", ")}).`,
        { details: { pool } },
      );
    }
    const now = this.clock.nowSeconds();
    for (;;) {
      const ready = state.pending[0]?.readyAt ?? Number.POSITIVE_INFINITY;
      const step = state.scheduled[0]?.at ?? Number.POSITIVE_INFINITY;
      const next = Math.min(ready, step);
      if (next > now) return state;
      if (ready <= step) {
        const batch = state.pending.shift() as { readyAt: number; count: number };
        state.running += batch.count;
        recordTasks(state.curve, batch.readyAt, state.running);
      } else {
        const due = state.scheduled.shift() as ScalingStep;
        setDesired(state, clamp(due.tasks, state.minTasks, state.maxTasks), due.at);
      }
    }
  }
}

function pendingOf(state: PoolState): number {
  let n = 0;
  for (const p of state.pending) n += p.count;
  return n;
}

function setDesired(state: PoolState, desired: number, at: number): void {
  const current = state.running + pendingOf(state);
  if (desired === current) return;
  state.changes++;
  if (desired > current) {
    state.pending.push({ readyAt: at + state.lagSeconds, count: desired - current });
    return;
  }
  let surplus = current - desired;
  while (surplus > 0 && state.pending.length > 0) {
    const last = state.pending[state.pending.length - 1] as { readyAt: number; count: number };
    const cut = Math.min(surplus, last.count);
    last.count -= cut;
    surplus -= cut;
    if (last.count === 0) state.pending.pop();
  }
  if (surplus > 0) {
    state.running -= surplus;
    recordTasks(state.curve, at, state.running);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
