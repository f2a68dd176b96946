import type { CapacityStep, Lease, PoolLedger } from "../admission.js";
import type { PoolPlan } from "../plan.js";
import {
  type Amounts,
  addAmounts,
  fitsWithin,
  RESOURCES,
  type Resource,
  subtractAmounts,
} from "../resources.js";

/**
 * Operations on a pool's reservation book (`PoolLedger`). All times are epoch seconds; a lease
 * holds its amounts over [startAt, endAt); a capacity step holds from its start until the next
 * step, and the last step holds for ever. Before the first step (or with no steps) the pool has
 * no capacity.
 *
 * Every function here is pure: it returns a new ledger and never changes the one it is given.
 * Functions that produce a ledger to be written set `version` to the version read + 1, which is
 * what the AdmissionStore stores on a successful conditional write.
 */

/** A never-written ledger: version 0, no capacity, no leases. */
export function emptyLedger(pool: string): PoolLedger {
  return { pool, version: 0, capacity: [], leases: [], updatedAt: 0 };
}

/** Lease id of the request lease that `requestId` holds. */
export function requestLeaseId(requestId: string): string {
  return `request:${requestId}`;
}

/**
 * Drops what can no longer matter at or after `nowSeconds`: leases that ended (endAt ≤ now) and
 * capacity steps superseded before now (the step in force at now is kept).
 *
 * @param ledger the ledger as read
 * @param nowSeconds epoch seconds
 * @returns the ledger without expired leases and stale steps (version unchanged)
 */
export function pruneLedger(ledger: PoolLedger, nowSeconds: number): PoolLedger {
  const steps = sortSteps(ledger.capacity);
  let inForce = -1;
  for (const [i, step] of steps.entries()) if (step.start <= nowSeconds) inForce = i;
  return {
    ...ledger,
    capacity: inForce > 0 ? steps.slice(inForce) : steps,
    leases: liveLeases(ledger.leases, nowSeconds),
  };
}

/**
 * The leases still holding at or after `nowSeconds`, in ledger order. A loop rather than
 * `Array#filter`: stored ledgers are frozen, and V8's filter over a frozen array is about five
 * times slower (~100 µs for 3,000 leases, on every decision).
 */
function liveLeases(leases: readonly Lease[], nowSeconds: number): Lease[] {
  const live: Lease[] = [];
  for (let i = 0; i < leases.length; i++) {
    const lease = leases[i] as Lease;
    if (lease.endAt > nowSeconds) live.push(lease);
  }
  return live;
}

/**
 * The pool's capacity at instant `t`: the last step starting at or before `t`; zero before the
 * first step or when there are none.
 */
export function capacityAt(ledger: Pick<PoolLedger, "capacity">, t: number): Amounts {
  let best: CapacityStep | undefined;
  for (const step of ledger.capacity) {
    if (step.start <= t && (best === undefined || step.start >= best.start)) best = step;
  }
  return best ? { ...best.capacity } : {};
}

/** True when `lease` holds capacity at instant `t`. */
export function leaseActiveAt(lease: Lease, t: number): boolean {
  return lease.startAt <= t && t < lease.endAt;
}

/**
 * Amounts held at instant `t` by every lease (request and warm). With `forUserId`, the warm
 * leases of that user are left out: a user's own warm reservation is available to that user.
 */
export function committedAt(
  ledger: Pick<PoolLedger, "leases">,
  t: number,
  options: { readonly forUserId?: string; readonly ignoreOthersWarm?: boolean } = {},
): Amounts {
  let sum: Amounts = {};
  for (const lease of ledger.leases) {
    if (!leaseActiveAt(lease, t) || !countsAsTaken(lease, options)) continue;
    sum = addAmounts(sum, lease.amounts);
  }
  return sum;
}

function countsAsTaken(
  lease: Lease,
  options: { readonly forUserId?: string; readonly ignoreOthersWarm?: boolean },
): boolean {
  if (lease.kind === "request") return true;
  if (options.forUserId !== undefined && lease.userId === options.forUserId) return false;
  return !options.ignoreOthersWarm;
}

/** One piece of the piecewise-constant view of a ledger for one user. */
export interface TimelineSegment {
  readonly start: number;
  /** Exclusive; `Infinity` for the last segment (the last capacity step, every lease ended). */
  readonly end: number;
  /** Capacity minus what is taken for this user (may be negative when the pool is over-committed). */
  readonly free: Amounts;
  /** The user's own request leases at this time (what counts against the user's cap). */
  readonly held: Amounts;
}

/**
 * The ledger as seen by one user from `fromSeconds` on: free capacity (everyone's request leases
 * and OTHER users' warm leases taken; the user's own warm leases available to it) and the user's
 * own request holdings, piecewise constant between lease starts/ends and capacity steps.
 *
 * A sweep over the instants where something changes, in O(L + P log P) for L leases and P
 * distinct instants: the leases' start and end events are bucketed by instant (a counting sort,
 * not a comparison sort of L event objects) and applied to running per-resource sums. The sums
 * take the same additions in the same order as a sweep over events sorted stably by time (the
 * leases active at `fromSeconds` first, in ledger order; then per instant in ledger order, a
 * lease's end before its start), so every segment is the same to the last bit as that sweep's.
 * (Summing every lease at every boundary was O(L²) and cost ~6 ms per decision with 3,000 live
 * leases; the comparison-sorted sweep cost ~210 µs with 1,900, this one ~55 µs.)
 *
 * @param options.ignoreOthersWarm also treat other users' warm leases as free (to ask whether
 *   warm reservations alone stand in the way)
 */
export function buildTimeline(
  ledger: Pick<PoolLedger, "capacity" | "leases">,
  userId: string,
  fromSeconds: number,
  options: { readonly ignoreOthersWarm?: boolean } = {},
): TimelineSegment[] {
  const ignoreOthersWarm = options.ignoreOthersWarm ?? false;
  const { leases } = ledger;
  const vectors = new Float64Array(leases.length * R);
  const flags = new Uint8Array(leases.length);
  const taken = new Sums();
  const held = new Sums();
  const instants = new Instants();
  instants.slotOf(fromSeconds);
  for (const step of ledger.capacity) if (step.start > fromSeconds) instants.slotOf(step.start);
  // Start and end events (code: lease index × 2, + 1 for a start), in the order the sweep
  // applies them within one instant.
  const eventSlots = new Int32Array(2 * leases.length);
  const eventCodes = new Int32Array(2 * leases.length);
  let eventCount = 0;
  for (let i = 0; i < leases.length; i++) {
    const lease = leases[i] as Lease;
    if (lease.endAt <= fromSeconds) continue;
    // What countsAsTaken says for this user, and the user's own request leases as held.
    const own = lease.userId === userId;
    let f = readVector(lease.amounts, vectors, i * R);
    if (lease.kind === "request") f |= own ? TAKEN | HELD : TAKEN;
    else if (!own && !ignoreOthersWarm) f |= TAKEN;
    flags[i] = f;
    eventSlots[eventCount] = instants.slotOf(lease.endAt);
    eventCodes[eventCount++] = i * 2;
    if (lease.startAt > fromSeconds) {
      eventSlots[eventCount] = instants.slotOf(lease.startAt);
      eventCodes[eventCount++] = i * 2 + 1;
    } else {
      apply(i, 1);
    }
  }
  // Instants in time order, and the events bucketed by instant (a counting sort: stable).
  const times = instants.times;
  const order = times
    .map((_, slot) => slot)
    .sort((a, b) => (times[a] as number) - (times[b] as number));
  const rank = new Int32Array(times.length);
  for (let k = 0; k < order.length; k++) rank[order[k] as number] = k;
  const bucketEnd = new Int32Array(times.length + 1);
  for (let e = 0; e < eventCount; e++) {
    const k = (rank[eventSlots[e] as number] as number) + 1;
    bucketEnd[k] = (bucketEnd[k] as number) + 1;
  }
  for (let k = 1; k <= times.length; k++) {
    bucketEnd[k] = (bucketEnd[k] as number) + (bucketEnd[k - 1] as number);
  }
  const fill = bucketEnd.slice(0, times.length);
  const events = new Int32Array(eventCount);
  for (let e = 0; e < eventCount; e++) {
    const k = rank[eventSlots[e] as number] as number;
    events[fill[k] as number] = eventCodes[e] as number;
    fill[k] = (fill[k] as number) + 1;
  }
  // Capacity steps by start, stably: among steps starting at the same instant the last one
  // listed holds, as in capacityAt.
  const steps = ledger.capacity
    .filter((step) => !Number.isNaN(step.start))
    .sort((a, b) => a.start - b.start);
  let inForce = -1;
  const segments: TimelineSegment[] = [];
  let next = 0;
  for (let k = 0; k < order.length; k++) {
    const start = times[order[k] as number] as number;
    for (const until = bucketEnd[k + 1] as number; next < until; next++) {
      const code = events[next] as number;
      apply(code >>> 1, (code & 1) === 1 ? 1 : -1);
    }
    while (inForce + 1 < steps.length && (steps[inForce + 1] as CapacityStep).start <= start) {
      inForce++;
    }
    const nextSlot = order[k + 1];
    segments.push({
      start,
      end: nextSlot === undefined ? Number.POSITIVE_INFINITY : (times[nextSlot] as number),
      free: taken.subtractedFrom(steps[inForce]?.capacity),
      held: held.toAmounts(),
    });
  }
  return segments;

  function apply(i: number, sign: 1 | -1): void {
    const f = flags[i] as number;
    if (f & TAKEN) taken.add(vectors, i * R, f, sign);
    if (f & HELD) held.add(vectors, i * R, f, sign);
  }
}

/**
 * The distinct instants of a sweep, numbered in the order first seen. A small direct-mapped
 * cache sits in front of the Map: leases end at a handful of instants at a time, and a Map
 * lookup (hashing a double) for every lease cost a fifth of the sweep.
 */
class Instants {
  /** By slot; -0 is kept as +0, as a Set would keep it. */
  readonly times: number[] = [];
  private readonly slots = new Map<number, number>();
  private readonly cachedTime = new Float64Array(CACHE_SIZE).fill(Number.NaN);
  private readonly cachedSlot = new Int32Array(CACHE_SIZE);

  slotOf(t: number): number {
    // Any hash will do (the hit is checked by equality); NaN never hits, NaN ≠ NaN.
    const h = (t | 0) & (CACHE_SIZE - 1);
    if (this.cachedTime[h] === t) return this.cachedSlot[h] as number;
    let slot = this.slots.get(t);
    if (slot === undefined) {
      slot = this.times.length;
      this.slots.set(t, slot);
      this.times.push(t === 0 ? 0 : t);
    }
    this.cachedTime[h] = t;
    this.cachedSlot[h] = slot;
    return slot;
  }
}

const CACHE_SIZE = 64;

/**
 * RESOURCES in the order `readVector` writes them. Typed as the exact tuple so that a change to
 * RESOURCES stops this from compiling until `readVector` follows it.
 */
const VECTOR_RESOURCES: readonly ["vcpu", "memoryGiB", "gpu"] = RESOURCES;
const R = VECTOR_RESOURCES.length;
/** Flag bits next to the per-resource "names it" bits (0 … R − 1) of a lease in a sweep. */
const TAKEN = 1 << R;
const HELD = 1 << (R + 1);

/**
 * Writes `amounts` into `out` from `at` in VECTOR_RESOURCES order and returns a bit mask of the
 * resources it names. Named property reads rather than `amounts[r]` over RESOURCES: a keyed
 * read by a varying key is several times slower, and the sweep reads every live lease.
 */
function readVector(amounts: Amounts, out: Float64Array, at: number): number {
  const { vcpu, memoryGiB, gpu } = amounts;
  let mask = 0;
  if (vcpu !== undefined) {
    out[at] = vcpu;
    mask |= 1;
  }
  if (memoryGiB !== undefined) {
    out[at + 1] = memoryGiB;
    mask |= 2;
  }
  if (gpu !== undefined) {
    out[at + 2] = gpu;
    mask |= 4;
  }
  return mask;
}

/**
 * Running per-resource sums of the leases active at a sweep position. A resource is reported
 * while some active lease names it (as summing the active leases' amounts would), so the
 * result has the same keys as `committedAt`.
 */
class Sums {
  private readonly total = new Float64Array(R);
  private readonly naming = new Int32Array(R);

  /** Adds (sign 1) or removes (−1) the vector at `at`, for the resources `mask` names. */
  add(vectors: Float64Array, at: number, mask: number, sign: 1 | -1): void {
    for (let r = 0; r < R; r++) {
      if ((mask & (1 << r)) === 0) continue;
      this.total[r] = (this.total[r] as number) + sign * (vectors[at + r] as number);
      this.naming[r] = (this.naming[r] as number) + sign;
    }
  }

  toAmounts(): Amounts {
    const out: Amounts = {};
    for (let r = 0; r < R; r++) {
      if ((this.naming[r] as number) > 0)
        out[VECTOR_RESOURCES[r] as Resource] = this.total[r] as number;
    }
    return out;
  }

  /** `subtractAmounts(capacity, this.toAmounts())`, without the intermediate object. */
  subtractedFrom(capacity: Amounts | undefined): Amounts {
    const out: Amounts = {};
    for (let r = 0; r < R; r++) {
      const resource = VECTOR_RESOURCES[r] as Resource;
      const c = capacity?.[resource];
      const named = (this.naming[r] as number) > 0;
      if (c !== undefined || named)
        out[resource] = (c ?? 0) - (named ? (this.total[r] as number) : 0);
    }
    return out;
  }
}

/** Per resource, the smallest free amount over [startSeconds, endSeconds) (zero floor). */
export function freeOver(
  timeline: readonly TimelineSegment[],
  startSeconds: number,
  endSeconds: number,
): Amounts {
  return extremeOver(timeline, startSeconds, endSeconds, "free", Math.min, true);
}

/** Per resource, the most the user holds through request leases over [startSeconds, endSeconds). */
export function heldPeakOver(
  timeline: readonly TimelineSegment[],
  startSeconds: number,
  endSeconds: number,
): Amounts {
  return extremeOver(timeline, startSeconds, endSeconds, "held", Math.max, false);
}

/**
 * Index of the first segment that ends after `t` (segments are sorted and contiguous), by binary
 * search; `timeline.length` when none does. Scans that stop at the first segment starting after
 * their span then cost O(log S + segments in the span).
 */
function firstSegmentEndingAfter(timeline: readonly TimelineSegment[], t: number): number {
  let lo = 0;
  let hi = timeline.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((timeline[mid] as TimelineSegment).end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function extremeOver(
  timeline: readonly TimelineSegment[],
  startSeconds: number,
  endSeconds: number,
  field: "free" | "held",
  pick: (a: number, b: number) => number,
  floorAtZero: boolean,
): Amounts {
  const out: Partial<Record<Resource, number>> = {};
  let seen = false;
  for (let i = firstSegmentEndingAfter(timeline, startSeconds); i < timeline.length; i++) {
    const segment = timeline[i] as TimelineSegment;
    if (segment.start >= endSeconds) break;
    if (segment.end <= startSeconds) continue;
    for (const r of RESOURCES) {
      const v = segment[field][r] ?? 0;
      out[r] = seen ? pick(out[r] ?? 0, v) : v;
    }
    seen = true;
  }
  if (!seen) {
    // Nothing known over the span (it lies before the timeline starts): no capacity, no holdings.
    return {};
  }
  if (floorAtZero) for (const r of RESOURCES) out[r] = Math.max(0, out[r] ?? 0);
  return out;
}

/** What a user asks to book: amounts for a duration, under an optional per-pool cap. */
export interface BookingAsk {
  readonly userId: string;
  readonly amounts: Amounts;
  readonly durationSeconds: number;
  /** Most the user may hold in the pool per resource; absent = no cap. */
  readonly cap?: Amounts | undefined;
  /** An extra per-resource limit on what the user may hold (e.g. its fair-share allocation). */
  readonly holdLimit?: Amounts | undefined;
}

/** True when `ask` fits the pool and the user's limits over [startSeconds, startSeconds + duration). */
export function fitsAt(
  timeline: readonly TimelineSegment[],
  ask: BookingAsk,
  startSeconds: number,
): boolean {
  const end = startSeconds + ask.durationSeconds;
  if (!fitsWithin(ask.amounts, freeOver(timeline, startSeconds, end))) return false;
  const held = heldPeakOver(timeline, startSeconds, end);
  return withinLimit(ask.amounts, held, ask.cap) && withinLimit(ask.amounts, held, ask.holdLimit);
}

function withinLimit(amounts: Amounts, held: Amounts, limit: Amounts | undefined): boolean {
  if (!limit) return true;
  for (const r of RESOURCES) {
    const a = amounts[r] ?? 0;
    const l = limit[r];
    if (a > 0 && l !== undefined && (held[r] ?? 0) + a > l + 1e-9) return false;
  }
  return true;
}

/**
 * The earliest start in [fromSeconds, untilSeconds] at which `ask` fits for its whole duration.
 * Free capacity only grows when a lease ends or a capacity step starts, so those instants (and
 * `fromSeconds` itself) are the only candidates.
 *
 * @returns epoch seconds, or undefined when it never fits within the bound
 */
export function earliestStart(
  timeline: readonly TimelineSegment[],
  ask: BookingAsk,
  fromSeconds: number,
  untilSeconds = Number.POSITIVE_INFINITY,
): number | undefined {
  const first = timeline[0];
  if (!first) return undefined;
  // A start before the timeline knows anything cannot fit (no capacity is known there).
  let candidate = Math.max(fromSeconds, first.start);
  while (candidate <= untilSeconds) {
    const blocking = lastBlockingSegment(timeline, ask, candidate);
    if (blocking === undefined) return candidate;
    // The last segment lasts for ever: blocked there, it never fits.
    if (!Number.isFinite(blocking.end)) return undefined;
    // Every start before the blocking segment ends still covers it: skip them all. The next
    // candidate is that segment's end, which is where free capacity can grow.
    candidate = blocking.end;
  }
  return undefined;
}

/**
 * The last segment within [start, start + duration) where `ask` does not fit (pool capacity or the
 * user's limits), or undefined when it fits throughout. Same test as {@link fitsAt}, one pass.
 */
function lastBlockingSegment(
  timeline: readonly TimelineSegment[],
  ask: BookingAsk,
  startSeconds: number,
): TimelineSegment | undefined {
  const end = startSeconds + ask.durationSeconds;
  let blocking: TimelineSegment | undefined;
  for (let i = firstSegmentEndingAfter(timeline, startSeconds); i < timeline.length; i++) {
    const segment = timeline[i] as TimelineSegment;
    if (segment.start >= end) break;
    if (blocks(segment, ask)) blocking = segment;
  }
  return blocking;
}

function blocks(segment: TimelineSegment, ask: BookingAsk): boolean {
  for (const r of RESOURCES) {
    const a = ask.amounts[r] ?? 0;
    if (a <= 0) continue;
    if (a > Math.max(0, segment.free[r] ?? 0) + 1e-9) return true;
    const held = segment.held[r] ?? 0;
    for (const limit of [ask.cap, ask.holdLimit]) {
      const l = limit?.[r];
      if (l !== undefined && held + a > l + 1e-9) return true;
    }
  }
  return false;
}

/**
 * The largest fraction f ∈ [0, 1] such that f × amounts fits over [start, start + duration):
 * exact, because each resource is limited independently and the limits are linear in f.
 */
export function largestFittingFraction(
  timeline: readonly TimelineSegment[],
  ask: BookingAsk,
  startSeconds: number,
): number {
  const end = startSeconds + ask.durationSeconds;
  const free = freeOver(timeline, startSeconds, end);
  const held = heldPeakOver(timeline, startSeconds, end);
  let fraction = 1;
  for (const r of RESOURCES) {
    const a = ask.amounts[r] ?? 0;
    if (a <= 0) continue;
    let room = free[r] ?? 0;
    for (const limit of [ask.cap, ask.holdLimit]) {
      const l = limit?.[r];
      if (l !== undefined) room = Math.min(room, l - (held[r] ?? 0));
    }
    fraction = Math.min(fraction, Math.max(0, room) / a);
  }
  return fraction;
}

/**
 * Amounts scaled by `fraction` and rounded DOWN to 1/1000, so a scaled amount that fits still
 * fits after rounding (and reads well in a reason).
 */
export function scaleDown(amounts: Amounts, fraction: number): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    const v = amounts[r];
    if (v !== undefined) out[r] = Math.floor(v * fraction * 1000 + 1e-6) / 1000;
  }
  return out;
}

/**
 * Books a request lease. The user's own warm leases that overlap it are consumed first: each is
 * reduced by the lease's amounts (dropped when nothing is left), because the fit check counted
 * them as available to this user — so the booking never raises what the pool holds above what
 * it held before, or above capacity where the new lease had to fit.
 *
 * @returns the ledger with the lease added, and how much warm capacity was consumed
 */
export function bookRequestLease(
  ledger: PoolLedger,
  lease: Lease,
): { ledger: PoolLedger; consumedWarm: Amounts } {
  let consumedWarm: Amounts = {};
  const leases: Lease[] = [];
  for (const existing of ledger.leases) {
    const overlaps = existing.startAt < lease.endAt && lease.startAt < existing.endAt;
    if (existing.kind !== "warm" || existing.userId !== lease.userId || !overlaps) {
      leases.push(existing);
      continue;
    }
    const left: Amounts = {};
    for (const r of RESOURCES) {
      const have = existing.amounts[r];
      if (have === undefined) continue;
      const take = Math.min(have, lease.amounts[r] ?? 0);
      left[r] = have - take;
      if (take > 0) consumedWarm = addAmounts(consumedWarm, { [r]: take });
    }
    if (RESOURCES.some((r) => (left[r] ?? 0) > 1e-9)) leases.push({ ...existing, amounts: left });
  }
  leases.push(lease);
  return { ledger: { ...ledger, leases }, consumedWarm };
}

/**
 * Replaces a pool's capacity and warm reservations with those of a new plan, keeping every
 * request lease (granted and delayed work is never taken back by a new plan).
 *
 * Capacity: steps of the ledger before the plan's first interval are kept (so a plan that starts
 * at the next interval boundary does not leave a gap of zero capacity before it), then one step
 * per plan interval. Warm leases: the plan's warm reservations, as leases of kind "warm",
 * each clipped to the capacity left free over its span by request leases and the reservations
 * before it (dropped when nothing is left), so warm capacity never over-commits the pool; a plan
 * that cuts capacity below running request leases leaves those running (admission then grants
 * nothing more until they end). Fair-share level: the first interval's, kept only for the resources where that interval
 * is scarce (its demand exceeds its capacity), so admission enforces fair shares only under
 * scarcity. Expired leases are dropped; the version is bumped for the conditional write.
 *
 * @param ledger the ledger as read (its version is the one to write against)
 * @param plan the pool's new plan
 * @param nowSeconds epoch seconds
 * @returns the ledger to write with `putLedger(result, ledger.version)`
 */
export function applyPlanToLedger(
  ledger: PoolLedger,
  plan: PoolPlan,
  nowSeconds: number,
): PoolLedger {
  const planSteps: CapacityStep[] = sortSteps(
    plan.intervals.map((interval) => ({
      start: interval.start,
      capacity: { ...interval.capacity },
    })),
  );
  const firstPlanStart = planSteps[0]?.start ?? Number.POSITIVE_INFINITY;
  const capacity = [...ledger.capacity.filter((step) => step.start < firstPlanStart), ...planSteps];
  const leases: Lease[] = ledger.leases.filter(
    (lease) => lease.kind === "request" && lease.endAt > nowSeconds,
  );
  for (const [i, w] of plan.warmReservations.entries()) {
    const startAt = Math.max(w.from, nowSeconds);
    if (w.until <= startAt) continue;
    // Warm capacity is a soft promise: it gets what running and delayed work leave free.
    const free = freeOver(buildTimeline({ capacity, leases }, "", startAt), startAt, w.until);
    const amounts: Amounts = {};
    for (const r of RESOURCES) {
      const want = w.amounts[r];
      if (want !== undefined && want > 0) amounts[r] = Math.min(want, free[r] ?? 0);
    }
    if (!RESOURCES.some((r) => (amounts[r] ?? 0) > 1e-9)) continue;
    leases.push({
      leaseId: `warm:${w.userId}:${w.from}:${i}`,
      userId: w.userId,
      kind: "warm",
      amounts,
      startAt,
      endAt: w.until,
    });
  }
  // A DRF plan (its intervals carry rounds) is enforced by its rounds, a per-resource plan by its
  // levels; either only when the first interval is scarce.
  const first = plan.intervals[0];
  const drf = first?.dominantRounds !== undefined;
  const fairShareLevel = drf ? undefined : scarceLevel(plan);
  const dominantFairShare =
    drf && first?.dominantRounds && first.dominantRounds.length > 0 && scarceLevel(plan)
      ? { rounds: first.dominantRounds, capacity: { ...first.capacity } }
      : undefined;
  const {
    fairShareLevel: _previousLevel,
    dominantFairShare: _previousDominant,
    criticalReserve: _previousReserve,
    ...rest
  } = ledger;
  return pruneLedger(
    {
      ...rest,
      version: ledger.version + 1,
      capacity,
      leases,
      planIssuedAt: plan.issuedAt,
      ...(fairShareLevel ? { fairShareLevel: { ...fairShareLevel } } : {}),
      ...(dominantFairShare ? { dominantFairShare } : {}),
      ...(plan.criticalReserve ? { criticalReserve: { ...plan.criticalReserve } } : {}),
      updatedAt: nowSeconds,
    },
    nowSeconds,
  );
}

/**
 * The fair-share level of the plan's first interval, for the resources where that interval is
 * scarce (demand above capacity) — and undefined when none is. Admission enforces fair shares
 * only under scarcity: with room for everyone's demand, a user asking above its footprint takes
 * nobody's share.
 */
function scarceLevel(plan: PoolPlan): Amounts | undefined {
  const first = plan.intervals[0];
  if (!first) return undefined;
  const level: Amounts = {};
  for (const r of RESOURCES) {
    const l = first.fairShareLevel[r];
    if (l !== undefined && (first.demand[r] ?? 0) > (first.capacity[r] ?? 0) + 1e-9) level[r] = l;
  }
  return Object.keys(level).length > 0 ? level : undefined;
}

function sortSteps(steps: readonly CapacityStep[]): CapacityStep[] {
  return [...steps].sort((a, b) => a.start - b.start);
}

/**
 * The largest total over all leases minus capacity, per instant from `fromSeconds` on: zero or
 * less everywhere means the ledger is not over-committed. For checks and tests.
 *
 * @returns the worst (largest) excess of any resource over any instant, in that resource's units
 */
export function worstOverCommit(ledger: PoolLedger, fromSeconds: number): number {
  const points = new Set<number>([fromSeconds]);
  for (const step of ledger.capacity) if (step.start > fromSeconds) points.add(step.start);
  for (const lease of ledger.leases) if (lease.startAt > fromSeconds) points.add(lease.startAt);
  let worst = Number.NEGATIVE_INFINITY;
  for (const t of points) {
    const excess = subtractAmounts(committedAt(ledger, t), capacityAt(ledger, t));
    for (const r of RESOURCES) worst = Math.max(worst, excess[r] ?? 0);
  }
  return worst;
}
