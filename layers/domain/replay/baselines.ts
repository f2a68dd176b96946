import type { Amounts } from "../resources.js";
import { RESOURCES } from "../resources.js";
import { type PolicyRun, type RequestFate, recordTasks, type TaskCurve } from "./policy-run.js";
import type { ReplayPool, ReplayRequest, ReplayTrace } from "./replay-trace.js";

/**
 * The policies shaper is measured against, simulated on the replay's clock. Their parameters are
 * fixed by issue 4 and must not be tuned down:
 * - `reactive`: target tracking at 70 % utilisation evaluated every minute; scale out as soon as
 *   above target, scale in after 5 minutes below; new tasks ready after the pool's provisioning
 *   lag; a request is granted if it fits the ready capacity now, else denied. Utilisation counts
 *   what is held plus what was asked for and denied since the last evaluation (a denied request
 *   still shows up as load, as a queue-length or request-count metric would), so a pool with
 *   no room — or no tasks — scales out to what users asked for.
 * - `patent`: the same scaling, and the probabilistic admission of the claims: grant when the
 *   pool's availability (free ÷ ready capacity, of its scarcest resource) is ≥ 20 %, with
 *   probability availability ÷ 20 % between 5 % and 20 %, deny below 5 % (and whenever it does
 *   not fit); seeded.
 * - `quota`: a static capacity equal to `reactive`'s time-weighted mean task count (per pool,
 *   rounded up to whole tasks),
 *   each user's quota the tier-weight share of it among the pool's users; granted if it fits the
 *   user's quota and the pool, else denied.
 * - `oracle`: knows the whole trace; capacity is exactly the demand of every request granted on
 *   arrival (whole tasks, ready when needed, released when the work ends): the limit.
 *
 * Capacity is fluid: a pool's resources are the sum over its tasks (no bin packing), the same for
 * every policy, shaper included.
 */

export const REACTIVE_TARGET_UTILISATION = 0.7;
export const REACTIVE_EVALUATION_SECONDS = 60;
export const REACTIVE_SCALE_IN_AFTER_SECONDS = 300;
export const PATENT_FULL_GRANT_AVAILABILITY = 0.2;
export const PATENT_DENY_BELOW_AVAILABILITY = 0.05;

/** Amounts below this are rounding (sums of many leases). */
const EPSILON = 1e-6;

interface Lease {
  readonly end: number;
  readonly amounts: Float64Array;
  readonly userId: string;
}

/** A binary min-heap of leases by end time. */
class LeaseHeap {
  private readonly items: Lease[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Lease | undefined {
    return this.items[0];
  }

  push(lease: Lease): void {
    const items = this.items;
    items.push(lease);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Lease).end <= lease.end) break;
      items[i] = items[parent] as Lease;
      i = parent;
    }
    items[i] = lease;
  }

  pop(): Lease | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const key = (k: number) => (k === i ? last.end : (items[k] as Lease).end);
        if (l < items.length && key(l) < key(m)) m = l;
        if (r < items.length && key(r) < key(m)) m = r;
        if (m === i) break;
        items[i] = items[m] as Lease;
        i = m;
      }
      items[i] = last;
    }
    return top;
  }
}

/** Amounts as a vector over RESOURCES. */
export function vectorOf(amounts: Amounts): Float64Array {
  return Float64Array.from(RESOURCES, (r) => amounts[r] ?? 0);
}

/** One pool of the simulated cluster: ready and pending tasks, and the leases it holds. */
export class SimulatedPool {
  readonly perTask: Float64Array;
  readonly held = new Float64Array(RESOURCES.length);
  readonly curve: TaskCurve = { times: [], tasks: [] };
  readonly heldByUser = new Map<string, Float64Array>();
  ready = 0;
  /** Tasks asked for and not yet ready, in ready order. */
  readonly pending: { readyAt: number; count: number }[] = [];
  actions = 0;
  belowSince: number | undefined;
  /** What was asked for and denied since the last evaluation (reactive scaling counts it as load). */
  readonly deniedRecently = new Float64Array(RESOURCES.length);
  private readonly leases = new LeaseHeap();

  constructor(
    readonly name: string,
    readonly config: ReplayPool,
    /** Called after leases end at `time` (the oracle resizes there). */
    private readonly onRelease?: (pool: SimulatedPool, time: number) => void,
  ) {
    this.perTask = vectorOf(config.perTask);
  }

  /** Tasks asked for: ready plus pending. */
  get desired(): number {
    return this.ready + this.pending.reduce((n, p) => n + p.count, 0);
  }

  /** Moves the pool to `time`: leases that ended and tasks that became ready, in time order. */
  advance(time: number): void {
    for (;;) {
      const lease = this.leases.peek();
      const pending = this.pending[0];
      const leaseAt = lease && lease.end <= time ? lease.end : Number.POSITIVE_INFINITY;
      const readyAt =
        pending && pending.readyAt <= time ? pending.readyAt : Number.POSITIVE_INFINITY;
      if (leaseAt === Number.POSITIVE_INFINITY && readyAt === Number.POSITIVE_INFINITY) return;
      if (readyAt <= leaseAt) {
        this.pending.shift();
        this.setReady(readyAt, this.ready + (pending?.count ?? 0));
        continue;
      }
      this.leases.pop();
      this.release(lease as Lease);
      // Leases ending at the same instant go together before the pool reacts.
      while ((this.leases.peek()?.end ?? Number.POSITIVE_INFINITY) === leaseAt) {
        this.release(this.leases.pop() as Lease);
      }
      this.onRelease?.(this, leaseAt);
    }
  }

  /** Whether `amounts` fit the ready capacity now. */
  fits(amounts: Float64Array, tasks = this.ready): boolean {
    for (let r = 0; r < amounts.length; r++) {
      const a = amounts[r] as number;
      if (a > 0 && (this.held[r] as number) + a > tasks * (this.perTask[r] as number) + EPSILON)
        return false;
    }
    return true;
  }

  /** Free share of the ready capacity of the scarcest resource the pool offers (0 when none is ready). */
  availability(): number {
    let least = 1;
    for (let r = 0; r < this.perTask.length; r++) {
      const per = this.perTask[r] as number;
      if (per <= 0) continue;
      const capacity = this.ready * per;
      if (capacity <= 0) return 0;
      least = Math.min(least, (capacity - (this.held[r] as number)) / capacity);
    }
    return Math.max(0, least);
  }

  hold(userId: string, amounts: Float64Array, end: number): void {
    this.leases.push({ end, amounts, userId });
    this.addHeld(userId, amounts, 1);
  }

  /**
   * Tasks that keep held (plus, with `withDenied`, what was denied since the last evaluation) ≤
   * target × capacity for every resource, within the pool's bounds.
   */
  tasksFor(target: number, withDenied = false): number {
    let tasks = 0;
    for (let r = 0; r < this.perTask.length; r++) {
      const per = this.perTask[r] as number;
      if (per <= 0) continue;
      const load = (this.held[r] as number) + (withDenied ? (this.deniedRecently[r] as number) : 0);
      tasks = Math.max(tasks, Math.ceil(load / (target * per) - EPSILON));
    }
    return Math.min(this.config.maxTasks, Math.max(this.config.minTasks, tasks));
  }

  setReady(time: number, tasks: number): void {
    this.ready = tasks;
    recordTasks(this.curve, time, tasks);
  }

  private release(lease: Lease): void {
    this.addHeld(lease.userId, lease.amounts, -1);
  }

  private addHeld(userId: string, amounts: Float64Array, sign: number): void {
    let mine = this.heldByUser.get(userId);
    if (!mine) {
      mine = new Float64Array(RESOURCES.length);
      this.heldByUser.set(userId, mine);
    }
    for (let r = 0; r < amounts.length; r++) {
      this.held[r] = Math.max(0, (this.held[r] as number) + sign * (amounts[r] as number));
      mine[r] = Math.max(0, (mine[r] as number) + sign * (amounts[r] as number));
    }
  }
}

/** A seeded uniform generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Driver {
  readonly name: string;
  /** Pool sizes at the start, after the initial load is held. */
  initialTasks(pool: SimulatedPool): number;
  /** Decides one request that arrived at `time`; true = granted now. */
  admit(pool: SimulatedPool, request: ReplayRequest, amounts: Float64Array, time: number): boolean;
  /** Every evaluation period, if the policy scales. */
  tick?(pool: SimulatedPool, time: number): void;
  onRelease?(pool: SimulatedPool, time: number): void;
}

/** Runs a driver over the trace: initial load, then requests in order with minute ticks between. */
function simulate(trace: ReplayTrace, driver: Driver): PolicyRun {
  const started = performance.now();
  const pools = new Map<string, SimulatedPool>();
  for (const [name, config] of Object.entries(trace.pools)) {
    pools.set(
      name,
      new SimulatedPool(
        name,
        config,
        driver.onRelease ? (p, t) => driver.onRelease?.(p, t) : undefined,
      ),
    );
  }
  const poolOf = (name: string): SimulatedPool => {
    const pool = pools.get(name);
    if (!pool) throw new Error(`The trace names pool "${name}", which it does not define.`);
    return pool;
  };
  for (const load of trace.initialLoad) {
    poolOf(load.pool).hold(load.userId, vectorOf(load.amounts), load.endAt);
  }
  for (const pool of pools.values()) pool.setReady(trace.start, driver.initialTasks(pool));
  const fates: RequestFate[] = [];
  let nextTick = trace.start + REACTIVE_EVALUATION_SECONDS;
  const tickUntil = (time: number) => {
    if (!driver.tick) return;
    for (; nextTick <= time; nextTick += REACTIVE_EVALUATION_SECONDS) {
      for (const pool of pools.values()) {
        pool.advance(nextTick);
        driver.tick(pool, nextTick);
      }
    }
  };
  for (const request of trace.requests) {
    tickUntil(request.arrival);
    const pool = poolOf(request.pool);
    pool.advance(request.arrival);
    const amounts = vectorOf(request.amounts);
    if (driver.admit(pool, request, amounts, request.arrival)) {
      pool.hold(
        request.userId,
        amounts,
        Math.min(trace.end, request.arrival + request.durationSeconds),
      );
      fates.push({ kind: "now" });
    } else {
      for (let r = 0; r < amounts.length; r++) {
        pool.deniedRecently[r] = (pool.deniedRecently[r] as number) + (amounts[r] as number);
      }
      fates.push({ kind: "denied", reason: `${driver.name} had no room` });
    }
  }
  tickUntil(trace.end);
  for (const pool of pools.values()) pool.advance(trace.end);
  return {
    name: driver.name,
    fates,
    capacity: Object.fromEntries([...pools].map(([name, pool]) => [name, pool.curve])),
    scalingActions: Object.fromEntries([...pools].map(([name, pool]) => [name, pool.actions])),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** Target tracking at 70 %: out at once, in after five minutes below. */
function targetTracking(pool: SimulatedPool, time: number): void {
  const needed = pool.tasksFor(REACTIVE_TARGET_UTILISATION, true);
  pool.deniedRecently.fill(0);
  const desired = pool.desired;
  if (needed > desired) {
    pool.pending.push({
      readyAt: time + pool.config.provisioningLagSeconds,
      count: needed - desired,
    });
    pool.actions++;
    pool.belowSince = undefined;
    return;
  }
  if (needed === desired) {
    pool.belowSince = undefined;
    return;
  }
  pool.belowSince ??= time;
  if (time - pool.belowSince < REACTIVE_SCALE_IN_AFTER_SECONDS) return;
  let surplus = desired - needed;
  while (surplus > 0 && pool.pending.length > 0) {
    const last = pool.pending[pool.pending.length - 1] as { readyAt: number; count: number };
    const cut = Math.min(surplus, last.count);
    last.count -= cut;
    surplus -= cut;
    if (last.count === 0) pool.pending.pop();
  }
  if (surplus > 0) pool.setReady(time, pool.ready - surplus);
  pool.actions++;
  pool.belowSince = undefined;
}

/** `reactive`: target tracking, admit if it fits. */
export function runReactive(trace: ReplayTrace): PolicyRun {
  return simulate(trace, {
    name: "reactive",
    initialTasks: (pool) => pool.tasksFor(REACTIVE_TARGET_UTILISATION),
    admit: (pool, _request, amounts) => pool.fits(amounts),
    tick: targetTracking,
  });
}

/** `patent`: target tracking, probabilistic admission by availability (seeded). */
export function runPatent(trace: ReplayTrace, seed = 1): PolicyRun {
  const random = seededRandom(seed);
  return simulate(trace, {
    name: "patent",
    initialTasks: (pool) => pool.tasksFor(REACTIVE_TARGET_UTILISATION),
    admit: (pool, _request, amounts) => {
      if (!pool.fits(amounts)) return false;
      const availability = pool.availability();
      if (availability >= PATENT_FULL_GRANT_AVAILABILITY) return true;
      if (availability < PATENT_DENY_BELOW_AVAILABILITY) return false;
      return random() < availability / PATENT_FULL_GRANT_AVAILABILITY;
    },
    tick: targetTracking,
  });
}

/** Time-weighted mean of a task curve over [from, to). */
export function meanTasks(curve: TaskCurve, from: number, to: number): number {
  let sum = 0;
  for (let i = 0; i < curve.times.length; i++) {
    const a = Math.max(from, curve.times[i] as number);
    const b = Math.min(to, curve.times[i + 1] ?? to);
    if (b > a) sum += (curve.tasks[i] as number) * (b - a);
  }
  return to > from ? sum / (to - from) : 0;
}

/**
 * `quota`: static capacity (per pool, `reactive`'s mean task count over the trace), each user's
 * quota the tier-weight share of it among the users of the pool.
 *
 * @param reactive the reactive run whose mean capacity sets the static size
 * @param tierWeights weight per tier (the config's)
 */
export function runQuota(
  trace: ReplayTrace,
  reactive: PolicyRun,
  tierWeights: Readonly<Record<string, number>>,
): PolicyRun {
  const weightOf = (tier: string) => tierWeights[tier] ?? 1;
  const tierOf = new Map(trace.users.map((u) => [u.userId, u.tier]));
  const share = new Map<string, Map<string, number>>();
  for (const pool of Object.keys(trace.pools)) {
    const users = new Set<string>();
    for (const r of trace.requests) if (r.pool === pool) users.add(r.userId);
    for (const l of trace.initialLoad) if (l.pool === pool) users.add(l.userId);
    const total = [...users].reduce((n, u) => n + weightOf(tierOf.get(u) ?? ""), 0);
    share.set(
      pool,
      new Map([...users].map((u) => [u, total > 0 ? weightOf(tierOf.get(u) ?? "") / total : 0])),
    );
  }
  return simulate(trace, {
    name: "quota",
    initialTasks: (pool) => {
      const curve = reactive.capacity[pool.name];
      const mean = curve ? meanTasks(curve, trace.start, trace.end) : 0;
      // Whole tasks, rounded up: a pool reactive kept below one task on average still gets one.
      return Math.min(pool.config.maxTasks, Math.max(pool.config.minTasks, Math.ceil(mean - 1e-9)));
    },
    admit: (pool, request, amounts) => {
      if (!pool.fits(amounts)) return false;
      const fraction = share.get(pool.name)?.get(request.userId) ?? 0;
      const mine = pool.heldByUser.get(request.userId);
      for (let r = 0; r < amounts.length; r++) {
        const a = amounts[r] as number;
        if (a <= 0) continue;
        const quota = fraction * pool.ready * (pool.perTask[r] as number);
        if ((mine?.[r] ?? 0) + a > quota + EPSILON) return false;
      }
      return true;
    },
  });
}

/** `oracle`: capacity is the demand of every request, in whole tasks, ready exactly when needed. */
export function runOracle(trace: ReplayTrace): PolicyRun {
  const resize = (pool: SimulatedPool, time: number) => {
    const tasks = pool.tasksFor(1);
    if (tasks !== pool.ready) {
      pool.setReady(time, tasks);
      pool.actions++;
    }
  };
  return simulate(trace, {
    name: "oracle",
    initialTasks: (pool) => pool.tasksFor(1),
    admit: (pool, _request, amounts, time) => {
      if (!pool.fits(amounts, pool.config.maxTasks)) return false;
      // Granted: the capacity it needs is ready as it arrives (the oracle provisioned it a lag ago).
      for (let r = 0; r < amounts.length; r++)
        pool.held[r] = (pool.held[r] as number) + (amounts[r] as number);
      resize(pool, time);
      for (let r = 0; r < amounts.length; r++)
        pool.held[r] = (pool.held[r] as number) - (amounts[r] as number);
      return true;
    },
    onRelease: resize,
  });
}
