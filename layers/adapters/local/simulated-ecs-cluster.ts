import type { Pool } from "../../domain/config.js";
import { NotFoundError } from "../../domain/errors.js";
import type { ScalingStep } from "../../domain/plan.js";
import type { Amounts } from "../../domain/resources.js";
import type { CapacityScaler, PoolCapacity, ScalingTarget } from "../../ports/capacity-scaler.js";
import type { Clock } from "../../ports/clock.js";

/** One scaling action the simulated cluster received or carried out. */
export interface SimulatedScalingAction {
  /** When it happened (received, or took effect for `fired`), epoch seconds. */
  readonly at: number;
  readonly pool: string;
  /**
   * `registered`: min/max set by `apply`; `scheduled`: a step kept for later; `cancelled`: a
   * scheduled step a newer `apply` dropped; `scale-now`: `scaleNowTo` raised the desired count;
   * `fired`: a scheduled step took effect.
   */
  readonly kind: "registered" | "scheduled" | "cancelled" | "scale-now" | "fired";
  /** Task count the action asks for (for `registered`: the minimum). */
  readonly tasks: number;
  readonly desiredBefore: number;
  readonly desiredAfter: number;
  /** For `scheduled` / `cancelled` / `fired`: when the step is (was) due. */
  readonly stepAt?: number;
  readonly detail: string;
}

export interface SimulatedEcsClusterOptions {
  /** Tasks each pool starts with, already serving. @default the pool's minTasks */
  readonly initialTasks?: Readonly<Record<string, number>>;
}

interface SimTask {
  readonly requestedAt: number;
  readonly readyAt: number;
  stoppedAt?: number;
}

interface PoolState {
  readonly name: string;
  readonly perTask: Amounts;
  readonly lagSeconds: number;
  minTasks: number;
  maxTasks: number;
  desired: number;
  tasks: SimTask[];
  /** Pending scheduled steps, oldest first. */
  scheduled: ScalingStep[];
}

/**
 * A CapacityScaler standing in for ECS + Application Auto Scaling in local runs and replays.
 *
 * - Tasks asked for at time s serve from s + the pool's `provisioningLagSeconds` (pending until
 *   then); scaling in stops tasks at once (pending ones first, then the newest running ones).
 * - `apply` registers min/max (raising the desired count to the minimum, as AAS does), replaces
 *   the pool's scheduled steps with the given ones, and raises the desired count to `scaleNowTo`.
 * - A scheduled step fires when the clock passes its `at` and sets the desired count to its task
 *   count (clamped to min/max), up or down. (AWS's scheduled action only raises the minimum and
 *   leaves scale-in to a dynamic policy; the simulation follows the plan in both directions, which
 *   is what a dynamic policy tracking the plan's demand would do.)
 *
 * The simulation advances lazily to the clock on every call; past states stay readable through
 * {@link tasksAt} / {@link capacityAt}, and every action is kept for {@link listActions}.
 *
 * @example
 * const cluster = new SimulatedEcsCluster(clock, config.pools);
 * await cluster.apply(target, plan.scaling, 10);
 * clock.advance(180);
 * cluster.capacityAt("cpu", clock.nowSeconds()); // { vcpu: 40, memoryGiB: 160 }
 */
export class SimulatedEcsCluster implements CapacityScaler {
  private readonly pools = new Map<string, PoolState>();
  private readonly actions: SimulatedScalingAction[] = [];

  constructor(
    private readonly clock: Clock,
    pools: Readonly<Record<string, Pool>>,
    options: SimulatedEcsClusterOptions = {},
  ) {
    const now = clock.nowSeconds();
    for (const [name, pool] of Object.entries(pools)) {
      const initial = options.initialTasks?.[name] ?? pool.minTasks;
      this.pools.set(name, {
        name,
        perTask: pool.perTask,
        lagSeconds: pool.provisioningLagSeconds,
        minTasks: pool.minTasks,
        maxTasks: pool.maxTasks,
        desired: initial,
        tasks: Array.from({ length: initial }, () => ({ requestedAt: now, readyAt: now })),
        scheduled: [],
      });
    }
  }

  async describe(target: ScalingTarget): Promise<PoolCapacity> {
    const state = this.state(target.pool);
    const now = this.clock.nowSeconds();
    this.advance(state, now);
    return countsAt(state, now);
  }

  async apply(
    target: ScalingTarget,
    steps: readonly ScalingStep[],
    scaleNowTo: number | undefined,
  ): Promise<void> {
    const state = this.state(target.pool);
    const now = this.clock.nowSeconds();
    this.advance(state, now);

    state.minTasks = target.minTasks;
    state.maxTasks = target.maxTasks;
    const beforeRegister = state.desired;
    if (state.desired < state.minTasks || state.desired > state.maxTasks) {
      this.setDesired(state, clamp(state.desired, state.minTasks, state.maxTasks), now);
    }
    this.record({
      at: now,
      pool: state.name,
      kind: "registered",
      tasks: target.minTasks,
      desiredBefore: beforeRegister,
      desiredAfter: state.desired,
      detail: `min ${target.minTasks}, max ${target.maxTasks}`,
    });

    if (scaleNowTo !== undefined && scaleNowTo > state.desired) {
      const before = state.desired;
      this.setDesired(state, Math.min(scaleNowTo, state.maxTasks), now);
      this.record({
        at: now,
        pool: state.name,
        kind: "scale-now",
        tasks: scaleNowTo,
        desiredBefore: before,
        desiredAfter: state.desired,
        detail: `desired ${before} → ${state.desired}; new tasks serve from ${now + state.lagSeconds}`,
      });
    }

    for (const old of state.scheduled) {
      this.record({
        at: now,
        pool: state.name,
        kind: "cancelled",
        tasks: old.tasks,
        desiredBefore: state.desired,
        desiredAfter: state.desired,
        stepAt: old.at,
        detail: `step to ${old.tasks} tasks due at ${old.at} replaced by a newer plan`,
      });
    }
    const sorted = [...steps].sort((a, b) => a.at - b.at);
    // Steps already due take effect at once (the plan's collapsed "now" step, e.g. a scale-in);
    // one that changes nothing is dropped silently.
    for (const step of sorted.filter((s) => s.at <= now)) {
      const before = state.desired;
      const desired = clamp(step.tasks, state.minTasks, state.maxTasks);
      if (desired === before) continue;
      this.setDesired(state, desired, now);
      this.record({
        at: now,
        pool: state.name,
        kind: "fired",
        tasks: step.tasks,
        desiredBefore: before,
        desiredAfter: state.desired,
        stepAt: step.at,
        detail: step.reason,
      });
    }
    state.scheduled = sorted.filter((s) => s.at > now);
    for (const step of state.scheduled) {
      this.record({
        at: now,
        pool: state.name,
        kind: "scheduled",
        tasks: step.tasks,
        desiredBefore: state.desired,
        desiredAfter: state.desired,
        stepAt: step.at,
        detail: step.reason,
      });
    }
  }

  /**
   * Actions received and carried out, oldest first (advances the simulation to the clock first).
   * @param pool only this pool's actions; all when absent
   */
  listActions(pool?: string): SimulatedScalingAction[] {
    const now = this.clock.nowSeconds();
    for (const state of this.pools.values()) this.advance(state, now);
    return this.actions.filter((a) => pool === undefined || a.pool === pool);
  }

  /**
   * Task counts of a pool at a time: the past as it happened; the future as the scheduled steps
   * will make it (without steps a later `apply` may add).
   * @param at epoch seconds
   * @throws NotFoundError when the pool is not simulated
   */
  tasksAt(pool: string, at: number): PoolCapacity {
    const state = this.state(pool);
    const now = this.clock.nowSeconds();
    this.advance(state, now);
    if (at <= now) return countsAt(state, at);
    const projection: PoolState = {
      ...state,
      tasks: state.tasks.map((t) => ({ ...t })),
      scheduled: [...state.scheduled],
    };
    this.advance(projection, at, false);
    return countsAt(projection, at);
  }

  /** Capacity serving in a pool at a time: running tasks × per-task capacity. */
  capacityAt(pool: string, at: number): Amounts {
    const { runningTasks } = this.tasksAt(pool, at);
    const perTask = this.state(pool).perTask;
    const out: Amounts = {};
    for (const [r, v] of Object.entries(perTask) as [keyof Amounts, number][]) {
      out[r] = runningTasks * v;
    }
    return out;
  }

  private state(pool: string): PoolState {
    const state = this.pools.get(pool);
    if (!state) {
      throw new NotFoundError(
        `Pool "${pool}" is not part of the simulated ECS cluster (it has: ${[...this.pools.keys()].join(", ")}). Add the pool to the config the local runtime starts from.`,
        { details: { pool } },
      );
    }
    return state;
  }

  /** Fires scheduled steps due up to `until`, in order, each at its own time. */
  private advance(state: PoolState, until: number, recordActions = true): void {
    while (state.scheduled.length > 0 && (state.scheduled[0] as ScalingStep).at <= until) {
      const step = state.scheduled.shift() as ScalingStep;
      const before = state.desired;
      this.setDesired(state, clamp(step.tasks, state.minTasks, state.maxTasks), step.at);
      if (recordActions) {
        this.record({
          at: step.at,
          pool: state.name,
          kind: "fired",
          tasks: step.tasks,
          desiredBefore: before,
          desiredAfter: state.desired,
          stepAt: step.at,
          detail: step.reason,
        });
      }
    }
  }

  private setDesired(state: PoolState, desired: number, at: number): void {
    const live = state.tasks.filter((t) => t.stoppedAt === undefined);
    if (desired > live.length) {
      for (let i = live.length; i < desired; i++)
        state.tasks.push({ requestedAt: at, readyAt: at + state.lagSeconds });
    } else if (desired < live.length) {
      // Stop pending tasks first, then the newest running ones.
      const order = [...live].sort((a, b) => b.readyAt - a.readyAt);
      for (const task of order.slice(0, live.length - desired)) task.stoppedAt = at;
    }
    state.desired = desired;
  }

  private record(action: SimulatedScalingAction): void {
    this.actions.push(action);
  }
}

function countsAt(state: PoolState, at: number): PoolCapacity {
  let running = 0;
  let pending = 0;
  for (const t of state.tasks) {
    const liveAt = t.requestedAt <= at && (t.stoppedAt === undefined || t.stoppedAt > at);
    if (!liveAt) continue;
    if (t.readyAt <= at) running++;
    else pending++;
  }
  // For past times the desired count is not kept per time; the live task count is what ECS aimed at.
  return { desiredTasks: running + pending, runningTasks: running, pendingTasks: pending };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
