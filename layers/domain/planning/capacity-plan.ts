import {
  BOUND_BY,
  type DominantRound,
  dominantResourceFairShare,
  type FairShareResult,
  fairShare,
} from "../allocation/fair-share.js";
import { type Pool, poolResources, quantileKey } from "../config.js";
import { ValidationError } from "../errors.js";
import type { Forecast, ResourceForecast } from "../forecast.js";
import type {
  AllocationEntry,
  PlanInterval,
  PoolPlan,
  ScalingStep,
  WarmReservation,
} from "../plan.js";
import type { TierPolicy } from "../policy.js";
import type { Amounts, Resource } from "../resources.js";
import { intervalStartOf } from "../time.js";

/**
 * The capacity plan of one pool: from the pool's forecast, its users' footprints and the ECS
 * service's current task counts to a task target per interval, the scaling steps that reach it in
 * time, warm reservations for users predicted to burst, and the fair-share water level that
 * admission uses. Pure: time arrives as `now`, nothing is read or written.
 *
 * The rules, in the order they apply (each interval and step says in its `reason` which applied):
 * 1. Demand per interval = Σ over the tiers with users in the pool of the tier's share of the
 *    users' expected use over the horizon × the pool's aggregate forecast at the tier's quantile ×
 *    (1 + the tier's headroom): a pool cannot provision per tier, but each tier's part of the
 *    pool's demand is held to its own safety level. With `poolDemand: "highest-tier"`, or when no
 *    user expects any use, the whole forecast is taken at the highest `forecastQuantile` among
 *    the tiers with users (the most demanding tier's), with that tier's headroom. With no pool
 *    forecast for a resource, demand is the sum of the users' footprints, each × (1 + its tier's
 *    headroom) — said in the reason.
 * 2. Demand is never below the guaranteed minimums the forecast says will be drawn,
 *    Σ min(guarantee, cap, footprint).
 * 2b. Room for a critical burst: demand is never below what admitted requests hold
 *    (`committed`) plus the largest critical burst any one user of the pool sent recently
 *    (`criticalPeak`: the most its critical requests asked within one provisioning lag plus an
 *    interval, remembered for `forecast.criticalPeakDays` after its last critical request), grown
 *    by the user's tier's headroom (the next burst may be larger than the last: on alibaba-gpu one
 *    more critical pod fitted), within the user's cap. Critical requests may not wait, and they
 *    come in lumps (a few pods, an instance) that a forecast of the pool's total smooths away;
 *    without this room a quiet pool is planned down to where the next critical request cannot
 *    fit, and capacity added once a burst is admitted serves only a lag later. The room is also
 *    the plan's `criticalReserve`: admission keeps it from deferrable work and from normal work's
 *    delays (decide.ts, rule 0), or work that can wait would take it first.
 * 3. Warm reservations: a user predicted to burst — whose expected demand (the forecast mean, or the
 *    footprint when no mean is given) in the next `warm.intervals` intervals exceeds what it uses
 *    now (the forecast's mean for the current interval) by more than `warm.minIncreaseFraction`
 *    of it, and by at least `warm.minIncreaseTaskFraction` of one task — gets its footprint's
 *    excess over current use reserved from the first such interval to the end of that window; the
 *    pool provisions reservations on top of demand. At most `warm.maxReservations`, largest first.
 * 4. Raw target = clamp(⌈max over resources of need / perTask⌉, minTasks, maxTasks); when maxTasks
 *    binds, the reason names the unmet demand.
 * 5. Scale-in delay: the target falls below the previous interval's only as far as the largest raw
 *    target over [t, t + scaleInDelaySeconds]; so the plan scales in only when the forecast says
 *    demand stays low for the whole delay, and a short dip never removes tasks. (Rises are not
 *    pulled forward by this window; the provisioning lag does that, rule 6.)
 * 6. Steps: tasks for interval k must be requested from (start − provisioningLagSeconds) until the
 *    interval ends, so the requested count at time s is the largest target whose window
 *    [start − lag, end) holds s. Scale-ups therefore land exactly one lag before their interval
 *    (like AWS predictive scaling's scheduling buffer) and scale-ins at the start of the interval
 *    that no longer needs the tasks. Steps already due collapse into one step at `now`.
 * 7. Capacity per interval = targetTasks × perTask, except that an interval starting before
 *    now + lag can only count the tasks already running or pending when it must scale up
 *    (tasks requested now serve only after the lag): min(target, running + pending) tasks.
 * 8. Fair-share level per interval: weighted max-min fair share of that capacity over the users'
 *    footprints (guarantees, caps, weights); notable allocations are the first interval's users
 *    held by a guarantee, a cap or scarcity.
 * 9. Cost = Σ targetTasks × costPerTaskHour × intervalSeconds / 3600.
 */

/** Task counts of the pool's ECS service when the plan is made (the CapacityScaler's answer). */
export interface CurrentCapacity {
  readonly desiredTasks: number;
  readonly runningTasks: number;
  readonly pendingTasks: number;
}

/** What the plan provisions for one user of the pool. */
export interface UserFootprint {
  readonly userId: string;
  readonly tier: string;
  /** Priority weight in the fair share (the tier's). */
  readonly weight: number;
  /** Effective guarantee per resource (user override, else tier). */
  readonly guaranteedMinimum: Amounts;
  /** Effective cap per resource; undefined or a missing resource means no cap. */
  readonly cap: Amounts | undefined;
  /**
   * Footprint per resource, one value per plan interval (see {@link planIntervalStarts}): the
   * user's forecast at its tier's quantile (see {@link footprintFromForecast}). Missing = 0.
   */
  readonly footprint: Partial<Record<Resource, readonly number[]>>;
  /** What the user uses now, per resource (forecast mean for the current interval, or recent usage). */
  readonly currentUsage: Amounts;
  /**
   * The forecast's mean per resource and plan interval. When given, a warm reservation needs the
   * MEAN to rise (a predicted burst), not just the footprint quantile to sit above current use —
   * an upper quantile is above the mean for every noisy user, burst or not.
   */
  readonly expected?: Partial<Record<Resource, readonly number[]>>;
  /** The largest critical burst of the user recently, per resource (rule 2b). */
  readonly criticalPeak?: Amounts;
}

export interface WarmReservationOptions {
  /** A user's footprint must exceed its current usage by more than this fraction of it. */
  readonly minIncreaseFraction: number;
  /** …and by at least this fraction of one task's capacity of the resource (ignores crumbs). */
  readonly minIncreaseTaskFraction: number;
  /** Intervals ahead a reservation looks; it lasts until the end of this window. */
  readonly intervals: number;
  /** Most reservations per pool and plan, largest first. */
  readonly maxReservations: number;
}

export const DEFAULT_WARM_RESERVATIONS: WarmReservationOptions = {
  minIncreaseFraction: 0.5,
  minIncreaseTaskFraction: 0.25,
  intervals: 3,
  maxReservations: 100,
};

/** Most notable allocations recorded per plan, by default. */
export const DEFAULT_MAX_NOTABLE_ALLOCATIONS = 50;

export interface PlanPoolInput {
  readonly pool: string;
  readonly config: Pool;
  /** The pool's aggregate forecast (userId undefined); absent → sum of user footprints. */
  readonly poolForecast?: Forecast | undefined;
  readonly users: readonly UserFootprint[];
  /** Forecast quantile and headroom per tier in force (policies, else the config's tier values). */
  readonly tiers: Readonly<Record<string, TierPolicy>>;
  readonly capacity: CurrentCapacity;
  /**
   * Per plan interval, what admitted requests hold in it (the ledger's request leases): demand is
   * never planned below it, since admitted work cannot be taken back.
   */
  readonly committed?: readonly Amounts[];
  /** How scarce capacity is shared (config `allocation.method`). @default "per-resource" */
  readonly allocationMethod?: "per-resource" | "drf";
  /** How demand takes the tiers' quantiles (config `planning.poolDemand`, rule 1). @default "tier-share" */
  readonly poolDemand?: "tier-share" | "highest-tier";
  /** Epoch seconds. */
  readonly now: number;
  readonly intervalSeconds: number;
  /** Intervals planned, from the interval holding `now`. */
  readonly horizon: number;
  /** `shadow` plans are recorded, not applied; step reasons say so. */
  readonly mode: "active" | "shadow";
  readonly warm?: Partial<WarmReservationOptions>;
  readonly maxNotableAllocations?: number;
}

/** The room kept for a critical burst: how much, and whose burst (as sent, and its tier's headroom). */
interface CriticalRoom {
  readonly amount: number;
  readonly userId?: string;
  readonly peak?: number;
  readonly headroom?: number;
}

/**
 * The room to keep for critical bursts of a resource (rule 2b): the largest of the pool's users'
 * recent critical bursts, each grown by its tier's headroom, within their caps.
 */
function criticalRoom(
  users: readonly UserFootprint[],
  resource: Resource,
  tiers: Readonly<Record<string, TierPolicy>>,
): CriticalRoom {
  let best: CriticalRoom = { amount: 0 };
  for (const u of users) {
    const peak = u.criticalPeak?.[resource];
    if (peak === undefined) continue;
    const headroom = tiers[u.tier]?.headroomFraction ?? 0;
    const size = Math.min(
      amount(peak) * (1 + headroom),
      u.cap?.[resource] ?? Number.POSITIVE_INFINITY,
    );
    if (size > best.amount) best = { amount: size, userId: u.userId, peak: amount(peak), headroom };
  }
  return best;
}

/** Starts of the plan's intervals: the interval holding `now`, then `horizon − 1` more. */
export function planIntervalStarts(
  now: number,
  intervalSeconds: number,
  horizon: number,
): number[] {
  const first = intervalStartOf(now, intervalSeconds);
  return Array.from({ length: horizon }, (_, k) => first + k * intervalSeconds);
}

/** A forecast series aligned to plan intervals, with where its values came from. */
export interface AlignedSeries {
  readonly values: number[];
  /** Quantile level used, or "mean" when the forecast had no quantiles. */
  readonly levelUsed: number | "mean";
  /** Plan intervals past the forecast's last interval (they repeat its last value). */
  readonly beyondHorizon: number;
}

/**
 * One resource's forecast at a quantile, aligned to plan interval starts. Uses the exact level
 * when stored, else the next higher stored level (safer), else the highest stored; intervals
 * before the forecast's start take its first value, after its end its last. Negative or
 * non-finite values count as 0.
 *
 * @param forecast the forecast (user or pool)
 * @param resource which resource
 * @param level quantile level wanted, e.g. 0.95
 * @param starts plan interval starts, epoch seconds
 * @returns the aligned values, or undefined when the forecast lacks the resource
 */
export function forecastSeries(
  forecast: Forecast,
  resource: Resource,
  level: number,
  starts: readonly number[],
): AlignedSeries | undefined {
  const rf = forecast.byResource[resource];
  if (!rf) return undefined;
  const { series, levelUsed } = pickQuantile(rf, level);
  let beyondHorizon = 0;
  const values = starts.map((t) => {
    if (forecastIndex(forecast, t) >= series.length) beyondHorizon++;
    return alignedValue(forecast, series, t);
  });
  return { values, levelUsed, beyondHorizon };
}

/** Index of the forecast interval holding `t` (may be out of range). */
function forecastIndex(forecast: Forecast, t: number): number {
  const step = forecast.intervalSeconds > 0 ? forecast.intervalSeconds : 1;
  return Math.floor((t - forecast.start) / step);
}

/** The series value for the interval holding `t`, clamped to the series; ≥ 0 and finite. */
function alignedValue(forecast: Forecast, series: readonly number[], t: number): number {
  if (series.length === 0) return 0;
  const index = Math.min(Math.max(forecastIndex(forecast, t), 0), series.length - 1);
  return amount(series[index]);
}

function pickQuantile(
  rf: ResourceForecast,
  level: number,
): { series: readonly number[]; levelUsed: number | "mean" } {
  // The configured levels are keyed exactly (quantileKey): no search for the common case.
  const key = quantileKey(level);
  const exactSeries = rf.quantiles[key];
  if (exactSeries !== undefined) return { series: exactSeries, levelUsed: Number(key) };
  const levels = Object.keys(rf.quantiles)
    .map((key) => ({ key, level: Number(key) }))
    .filter((q) => Number.isFinite(q.level))
    .sort((a, b) => a.level - b.level);
  const exact = levels.find((q) => Math.abs(q.level - level) < 1e-9);
  const chosen = exact ?? levels.find((q) => q.level > level) ?? levels[levels.length - 1];
  if (!chosen) return { series: rf.mean, levelUsed: "mean" };
  return { series: rf.quantiles[chosen.key] ?? [], levelUsed: chosen.level };
}

/**
 * A user's footprint (forecast at its tier's quantile) and current usage (forecast mean for the
 * first plan interval) per resource, aligned to the plan's intervals.
 *
 * @param forecast the user's forecast for the pool
 * @param level the tier's forecast quantile
 * @param resources the pool's resources
 * @param starts plan interval starts (see {@link planIntervalStarts})
 */
export function footprintFromForecast(
  forecast: Forecast,
  level: number,
  resources: readonly Resource[],
  starts: readonly number[],
): {
  footprint: Partial<Record<Resource, number[]>>;
  currentUsage: Amounts;
  expected: Partial<Record<Resource, number[]>>;
} {
  const footprint: Partial<Record<Resource, number[]>> = {};
  const expected: Partial<Record<Resource, number[]>> = {};
  const currentUsage: Amounts = {};
  for (const r of resources) {
    const q = forecastSeries(forecast, r, level, starts);
    const rf = forecast.byResource[r];
    if (!q || !rf) continue;
    footprint[r] = q.values;
    expected[r] = starts.map((start) => alignedValue(forecast, rf.mean, start));
    currentUsage[r] = starts.length > 0 ? alignedValue(forecast, rf.mean, starts[0] as number) : 0;
  }
  return { footprint, currentUsage, expected };
}

interface PlanningPolicy {
  readonly tier: string;
  readonly quantile: number;
  readonly headroom: number;
  readonly fromUsers: boolean;
}

/**
 * Makes the plan of one pool. See the module comment for the rules.
 *
 * @param input pool, forecasts, footprints, current task counts, time and horizon
 * @returns the plan, every interval and step with a reason a person can read
 * @throws ValidationError when the interval, horizon or time is not usable or no tier policy exists
 */
export function planPool(input: PlanPoolInput): PoolPlan {
  checkInput(input);
  const { config: pool, now, intervalSeconds, horizon, users } = input;
  const resources = poolResources(pool);
  const starts = planIntervalStarts(now, intervalSeconds, horizon);
  const policy = planningPolicy(input);
  const warmOptions = { ...DEFAULT_WARM_RESERVATIONS, ...input.warm };
  const lag = pool.provisioningLagSeconds;

  // 1–2. Demand per resource and interval, never below the guarantees drawn.
  const demand = new Map<Resource, Float64Array>();
  const guaranteed = new Map<Resource, Float64Array>();
  const sourceNotes: string[] = [];
  const fallbackResources: Resource[] = [];
  const floorRaised = new Map<Resource, boolean[]>();
  const mixes = new Map<Resource, TierMix[]>();
  const criticalReserve: Amounts = {};
  for (const r of resources) {
    const mix = tierMix(input, r, policy);
    const parts = input.poolForecast
      ? mix.map((m) => ({
          m,
          series: forecastSeries(input.poolForecast as Forecast, r, m.quantile, starts),
        }))
      : [];
    const series = parts[0]?.series;
    const values = new Float64Array(horizon);
    if (series) {
      mixes.set(r, mix);
      for (const { m, series: part } of parts) {
        if (!part) continue;
        for (let k = 0; k < horizon; k++) {
          values[k] =
            (values[k] as number) + m.share * (part.values[k] as number) * (1 + m.headroom);
        }
        if (part.levelUsed !== m.quantile) {
          sourceNotes.push(
            part.levelUsed === "mean"
              ? `${r}: the pool forecast has no quantiles, used its mean`
              : `${r}: q${m.quantile} not in the pool forecast, used q${part.levelUsed}`,
          );
        }
      }
      if (series.beyondHorizon > 0) {
        sourceNotes.push(
          `${r}: the last ${series.beyondHorizon} interval(s) lie beyond the pool forecast and repeat its last value`,
        );
      }
    } else {
      fallbackResources.push(r);
      for (const u of users) {
        const fp = u.footprint[r];
        if (!fp) continue;
        const h = input.tiers[u.tier]?.headroomFraction ?? 0;
        for (let k = 0; k < horizon; k++)
          values[k] = (values[k] as number) + amount(fp[k]) * (1 + h);
      }
    }
    const drawn = new Float64Array(horizon);
    for (const u of users) {
      const g = Math.min(u.guaranteedMinimum[r] ?? 0, u.cap?.[r] ?? Number.POSITIVE_INFINITY);
      if (g <= 0) continue;
      const fp = u.footprint[r];
      if (!fp) continue;
      for (let k = 0; k < horizon; k++)
        drawn[k] = (drawn[k] as number) + Math.min(g, amount(fp[k]));
    }
    const raised: boolean[] = [];
    for (let k = 0; k < horizon; k++) {
      raised.push((drawn[k] as number) > (values[k] as number));
      if ((drawn[k] as number) > (values[k] as number)) values[k] = drawn[k] as number;
    }
    const held = input.committed;
    const room = criticalRoom(users, r, input.tiers);
    if (room.amount > 0) criticalReserve[r] = room.amount;
    let floored = 0;
    let roomed = 0;
    for (let k = 0; k < horizon; k++) {
      const c = held?.[k]?.[r] ?? 0;
      if (c + room.amount > (values[k] as number)) {
        values[k] = c + room.amount;
        if (c > 0 && room.amount === 0) floored++;
        else roomed++;
      }
    }
    if (floored > 0) {
      sourceNotes.push(
        `${r}: raised to what admitted requests hold in ${floored} interval(s) (the forecast was below it)`,
      );
    }
    if (roomed > 0) {
      sourceNotes.push(
        `${r}: raised in ${roomed} interval(s) to what admitted requests hold plus room for a critical burst of ${fmt(room.amount)} (the largest ${room.userId} sent recently, ${fmt(room.peak ?? 0)}, + its tier's ${fmt((room.headroom ?? 0) * 100)} % headroom, within its cap)`,
      );
    }
    demand.set(r, values);
    guaranteed.set(r, drawn);
    floorRaised.set(r, raised);
  }
  const sourcePhrase = demandSourcePhrase(input, policy, mixes, resources, fallbackResources);

  // 3. Warm reservations, provisioned on top of demand.
  const reservations = warmReservations(input, starts, resources, warmOptions);
  const warm = new Map<Resource, Float64Array>();
  for (const r of resources) warm.set(r, new Float64Array(horizon));
  const warmUsers = new Array<number>(horizon).fill(0);
  for (const res of reservations) {
    for (let k = 0; k < horizon; k++) {
      const t = starts[k] as number;
      if (t < res.from || t >= res.until) continue;
      warmUsers[k] = (warmUsers[k] as number) + 1;
      for (const r of resources) {
        const w = warm.get(r) as Float64Array;
        w[k] = (w[k] as number) + (res.amounts[r] ?? 0);
      }
    }
  }

  // 4. Raw targets.
  const rawNeeded: number[] = [];
  const raw: number[] = [];
  const binding: (Resource | undefined)[] = [];
  for (let k = 0; k < horizon; k++) {
    let tasks = 0;
    let bind: Resource | undefined;
    for (const r of resources) {
      const need = at(demand.get(r), k) + at(warm.get(r), k);
      // The tolerance keeps float noise (38.000000001 / 4) from adding a task.
      const t = Math.max(0, Math.ceil(need / (pool.perTask[r] as number) - 1e-9));
      if (bind === undefined || t > tasks) {
        tasks = Math.max(tasks, t);
        bind = r;
      }
    }
    rawNeeded.push(tasks);
    binding.push(bind);
    raw.push(clamp(tasks, pool.minTasks, pool.maxTasks));
  }

  // 5. Targets with the scale-in delay.
  const current = input.capacity;
  const startTarget = clamp(current.desiredTasks, pool.minTasks, pool.maxTasks);
  const target: number[] = [];
  const heldUntil: (number | undefined)[] = [];
  for (let k = 0; k < horizon; k++) {
    let windowMax = raw[k] as number;
    let peakAt: number | undefined;
    // A scale-in for interval k happens at its start (at `now` for the current interval) and
    // needs demand low until delay seconds later: intervals starting up to then count.
    const windowEnd = Math.max(starts[k] as number, now) + pool.scaleInDelaySeconds;
    for (let j = k + 1; j < horizon && (starts[j] as number) <= windowEnd; j++) {
      if ((raw[j] as number) > windowMax) {
        windowMax = raw[j] as number;
        peakAt = starts[j];
      }
    }
    const previous = k === 0 ? startTarget : (target[k - 1] as number);
    const t = Math.max(raw[k] as number, Math.min(previous, windowMax));
    target.push(t);
    heldUntil.push(t > (raw[k] as number) ? peakAt : undefined);
  }

  // 6. Requested tasks over time and the steps that change it.
  const intervalEnd = (k: number) =>
    k === horizon - 1 ? Number.POSITIVE_INFINITY : (starts[k] as number) + intervalSeconds;
  const requestedAt = (s: number): { tasks: number; interval: number } => {
    let best = { tasks: -1, interval: 0 };
    for (let k = 0; k < horizon; k++) {
      const t = target[k] as number;
      if (s >= (starts[k] as number) - lag && s < intervalEnd(k) && t > best.tasks)
        best = { tasks: t, interval: k };
    }
    return best.tasks < 0 ? { tasks: target[0] as number, interval: 0 } : best;
  };
  const changePoints = [...new Set(starts.flatMap((t) => [t - lag, t, t + intervalSeconds]))]
    .filter((p) => p > now)
    .sort((a, b) => a - b);
  const scaling: ScalingStep[] = [];
  const shadowNote = input.mode === "shadow" ? " (shadow mode: recorded, not applied)" : "";
  let last = current.desiredTasks;
  const nowRequest = requestedAt(now);
  if (nowRequest.tasks !== last) {
    scaling.push({
      at: now,
      tasks: nowRequest.tasks,
      reason: stepReason(last, nowRequest.tasks, now, nowRequest.interval, true) + shadowNote,
    });
    last = nowRequest.tasks;
  }
  for (const p of changePoints) {
    const req = requestedAt(p);
    if (req.tasks === last) continue;
    scaling.push({
      at: p,
      tasks: req.tasks,
      reason: stepReason(last, req.tasks, p, req.interval, false) + shadowNote,
    });
    last = req.tasks;
  }

  function stepReason(
    from: number,
    to: number,
    when: number,
    interval: number,
    isNow: boolean,
  ): string {
    const start = starts[interval] as number;
    if (to > from) {
      const ready = isNow ? now + lag : when + lag;
      const dueNote = isNow && start - lag < now ? `was due at ${clock(start - lag)}; ` : "";
      const lateNote =
        ready > start
          ? `ready by ${clock(ready)}, after the interval starts`
          : `ready by ${clock(start)}`;
      return `scale up ${from} → ${to} tasks ${isNow ? "now" : `at ${clock(when)}`} (${dueNote}lag ${lag} s) so they serve ${clock(start)}–${clock(start + intervalSeconds)}, ${lateNote}: ${needPhrase(interval)}`;
    }
    const horizonEnd = (starts[horizon - 1] as number) + intervalSeconds;
    const lowUntil = Math.min(when + pool.scaleInDelaySeconds, horizonEnd);
    return `scale in ${from} → ${to} tasks ${isNow ? "now" : `at ${clock(when)}`}: the forecast keeps demand within ${to} tasks until ${clock(lowUntil)} (scale-in delay ${pool.scaleInDelaySeconds} s)`;
  }

  function needPhrase(k: number): string {
    const needs = resources.map((r) => {
      const total = at(demand.get(r), k) + at(warm.get(r), k);
      return `${fmt(total)} ${r}`;
    });
    return `needs ${needs.join(", ")} → ${target[k]} tasks`;
  }

  // 7. Capacity per interval.
  const onHand = current.runningTasks + current.pendingTasks;
  const servingTasks: number[] = [];
  for (let k = 0; k < horizon; k++) {
    const t = target[k] as number;
    servingTasks.push((starts[k] as number) < now + lag ? Math.min(t, onHand) : t);
  }

  // 8. Fair share per interval.
  const n = users.length;
  const weight = new Float64Array(n);
  const guaranteeOf = new Map<Resource, Float64Array>();
  const capOf = new Map<Resource, Float64Array>();
  for (const r of resources) {
    guaranteeOf.set(r, new Float64Array(n));
    capOf.set(r, new Float64Array(n));
  }
  users.forEach((u, i) => {
    weight[i] = u.weight;
    for (const r of resources) {
      (guaranteeOf.get(r) as Float64Array)[i] = u.guaranteedMinimum[r] ?? 0;
      (capOf.get(r) as Float64Array)[i] = u.cap?.[r] ?? Number.POSITIVE_INFINITY;
    }
  });
  const demandAt = new Float64Array(n);
  let firstShares: Map<Resource, FairShareResult> | undefined;
  const intervals: PlanInterval[] = [];
  for (let k = 0; k < horizon; k++) {
    const capacity: Amounts = {};
    const level: Amounts = {};
    const shares = new Map<Resource, FairShareResult>();
    for (const r of resources) {
      const cap = (servingTasks[k] as number) * (pool.perTask[r] as number);
      capacity[r] = cap;
      for (let i = 0; i < n; i++)
        demandAt[i] = amount((users[i] as UserFootprint).footprint[r]?.[k]);
      const share = fairShare({
        demand: demandAt,
        weight,
        guarantee: guaranteeOf.get(r),
        cap: capOf.get(r),
        capacity: cap,
      });
      shares.set(r, share);
      level[r] = share.level;
    }
    if (k === 0) firstShares = shares;
    let dominantRounds: readonly DominantRound[] | undefined;
    if (input.allocationMethod === "drf") {
      const drfDemand: Partial<Record<Resource, Float64Array>> = {};
      for (const r of resources) {
        const row = new Float64Array(n);
        for (let i = 0; i < n; i++) row[i] = amount((users[i] as UserFootprint).footprint[r]?.[k]);
        drfDemand[r] = row;
      }
      const drf = dominantResourceFairShare({
        weight,
        demand: drfDemand,
        guarantee: Object.fromEntries(guaranteeOf),
        cap: Object.fromEntries(capOf),
        capacity,
      });
      dominantRounds = drf.rounds ?? [];
    }
    intervals.push({
      start: starts[k] as number,
      demand: toAmounts(resources, (r) => at(demand.get(r), k)),
      guaranteed: toAmounts(resources, (r) => at(guaranteed.get(r), k)),
      warm: toAmounts(resources, (r) => at(warm.get(r), k)),
      targetTasks: target[k] as number,
      capacity,
      fairShareLevel: level,
      ...(dominantRounds !== undefined ? { dominantRounds } : {}),
      reason: intervalReason(k, shares),
    });
  }

  function intervalReason(k: number, shares: Map<Resource, FairShareResult>): string {
    const start = starts[k] as number;
    const parts: string[] = [];
    const demandText = resources.map((r) => `${fmt(at(demand.get(r), k))} ${r}`).join(", ");
    parts.push(
      `${clock(start)}–${clock(start + intervalSeconds)}: demand ${demandText} (${sourcePhrase})`,
    );
    const raisedBy = resources.filter((r) => floorRaised.get(r)?.[k]);
    if (raisedBy.length > 0) {
      parts.push(
        `raised to the guaranteed minimums the forecast says will be drawn (${raisedBy
          .map((r) => `${fmt(at(guaranteed.get(r), k))} ${r}`)
          .join(", ")})`,
      );
    }
    if ((warmUsers[k] as number) > 0) {
      const warmText = resources
        .filter((r) => at(warm.get(r), k) > 0)
        .map((r) => `${fmt(at(warm.get(r), k))} ${r}`)
        .join(", ");
      parts.push(`+ ${warmText} kept warm for ${warmUsers[k]} user(s)`);
    }
    const bind = binding[k];
    const perTaskText = resources.map((r) => `${fmt(pool.perTask[r] ?? 0)} ${r}`).join(", ");
    const needed = rawNeeded[k] as number;
    let targetText = `→ ${target[k]} tasks of ${perTaskText}`;
    if (bind && needed > 0) {
      const need = at(demand.get(bind), k) + at(warm.get(bind), k);
      targetText += ` (${bind} binds: ${fmt(need)} / ${fmt(pool.perTask[bind] ?? 0)} → ${needed})`;
    }
    parts.push(targetText);
    if (needed > pool.maxTasks) {
      const unmet = resources
        .map((r) => ({
          r,
          v: at(demand.get(r), k) + at(warm.get(r), k) - pool.maxTasks * (pool.perTask[r] ?? 0),
        }))
        .filter((x) => x.v > 0)
        .map((x) => `${fmt(x.v)} ${x.r}`)
        .join(", ");
      parts.push(`maxTasks ${pool.maxTasks} binds: ${unmet} of demand unmet`);
    } else if (needed < pool.minTasks && (target[k] as number) === pool.minTasks) {
      parts.push(`held at minTasks ${pool.minTasks}`);
    }
    const held = heldUntil[k];
    if (held !== undefined) {
      parts.push(
        `kept above the ${raw[k]} tasks demand needs: demand rises again at ${clock(held)}, within the scale-in delay (${pool.scaleInDelaySeconds} s)`,
      );
    }
    const previous = k === 0 ? current.desiredTasks : (target[k - 1] as number);
    const t = target[k] as number;
    if (t > previous) {
      const due = start - lag;
      if (due > now) {
        parts.push(
          `scale-up requested at ${clock(due)} to be ready by ${clock(start)} (lag ${lag} s)`,
        );
      } else {
        parts.push(
          `scale-up requested now (${clock(now)}), ready by ${clock(now + lag)} (lag ${lag} s)`,
        );
      }
    } else if (t < previous) {
      parts.push(`scale-in at ${clock(Math.max(start, now))}`);
    }
    if ((servingTasks[k] as number) < t) {
      parts.push(
        `until ${clock(now + lag)} only the ${onHand} running or pending tasks serve, so capacity is planned with ${servingTasks[k]}`,
      );
    }
    const scarce = resources.filter((r) => {
      const s = shares.get(r);
      return s !== undefined && s.allocated < s.demanded * (1 - 1e-9);
    });
    if (scarce.length > 0) {
      parts.push(
        `scarce ${scarce.join(", ")}: fair-share level ${scarce
          .map((r) => `${fmt(shares.get(r)?.level ?? 0)} ${r}/weight`)
          .join(
            ", ",
          )}${scarce.some((r) => shares.get(r)?.guaranteesScaled) ? " (guarantees scaled down)" : ""}`,
      );
    }
    if (k === 0 && sourceNotes.length > 0) parts.push(sourceNotes.join("; "));
    return parts.join("; ");
  }

  // Notable allocations in the first interval.
  const notableAllocations = notable(
    input,
    resources,
    firstShares ?? new Map(),
    starts[0] as number,
    input.maxNotableAllocations ?? DEFAULT_MAX_NOTABLE_ALLOCATIONS,
  );

  // 9. Cost.
  const costUsd = target.reduce(
    (sum, t) => sum + t * pool.costPerTaskHour * (intervalSeconds / 3600),
    0,
  );

  return {
    pool: input.pool,
    issuedAt: now,
    intervalSeconds,
    currentTasks: current.runningTasks,
    intervals,
    scaling,
    warmReservations: reservations,
    notableAllocations,
    costUsd,
    ...(Object.keys(criticalReserve).length > 0 ? { criticalReserve } : {}),
  };
}

function checkInput(input: PlanPoolInput): void {
  const problems: { field: string; message: string }[] = [];
  if (!Number.isInteger(input.intervalSeconds) || input.intervalSeconds <= 0)
    problems.push({
      field: "intervalSeconds",
      message: "must be a positive whole number of seconds",
    });
  if (!Number.isInteger(input.horizon) || input.horizon < 1)
    problems.push({ field: "horizon", message: "must be a whole number of intervals ≥ 1" });
  if (!Number.isFinite(input.now))
    problems.push({ field: "now", message: "must be finite epoch seconds" });
  if (Object.keys(input.tiers).length === 0)
    problems.push({ field: "tiers", message: "must hold at least one tier policy" });
  const c = input.capacity;
  for (const [field, v] of Object.entries(c)) {
    if (!Number.isFinite(v) || v < 0)
      problems.push({ field: `capacity.${field}`, message: "must be a task count ≥ 0" });
  }
  if (problems.length > 0) {
    throw new ValidationError(
      `Cannot plan pool ${input.pool}: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}.`,
      problems,
    );
  }
}

/** The tier whose quantile the pool plans for: the highest among tiers with users (else all). */
function planningPolicy(input: PlanPoolInput): PlanningPolicy {
  const withUsers = [...new Set(input.users.map((u) => u.tier))].filter((t) => input.tiers[t]);
  const fromUsers = withUsers.length > 0;
  const candidates = (fromUsers ? withUsers : Object.keys(input.tiers)).sort();
  let best: PlanningPolicy | undefined;
  for (const tier of candidates) {
    const p = input.tiers[tier] as TierPolicy;
    if (
      !best ||
      p.forecastQuantile > best.quantile ||
      (p.forecastQuantile === best.quantile && p.headroomFraction > best.headroom)
    ) {
      best = { tier, quantile: p.forecastQuantile, headroom: p.headroomFraction, fromUsers };
    }
  }
  return best as PlanningPolicy;
}

/** One tier's part of a pool's demand: its share of the users' expected use, quantile, headroom. */
interface TierMix {
  readonly tier: string;
  readonly share: number;
  readonly quantile: number;
  readonly headroom: number;
}

/**
 * How a pool's demand for `resource` is made of its tiers (rule 1). With `tier-share` (the
 * default), each tier with expected use in the horizon gets its share of the pool forecast at
 * its own quantile and headroom. With `highest-tier`, or without expected use (no users, or all
 * idle), the whole pool takes the highest tier's `policy`.
 */
function tierMix(input: PlanPoolInput, resource: Resource, policy: PlanningPolicy): TierMix[] {
  const whole = [
    { tier: policy.tier, share: 1, quantile: policy.quantile, headroom: policy.headroom },
  ];
  if (input.poolDemand === "highest-tier") return whole;
  const byTier = new Map<string, number>();
  let total = 0;
  for (const u of input.users) {
    if (!input.tiers[u.tier]) continue;
    const use = u.expected?.[resource] ?? u.footprint[resource];
    if (!use) continue;
    let sum = 0;
    for (const v of use) sum += amount(v);
    if (sum <= 0) continue;
    byTier.set(u.tier, (byTier.get(u.tier) ?? 0) + sum);
    total += sum;
  }
  if (total <= 0) return whole;
  return [...byTier.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([tier, sum]) => {
      const p = input.tiers[tier] as TierPolicy;
      return {
        tier,
        share: sum / total,
        quantile: p.forecastQuantile,
        headroom: p.headroomFraction,
      };
    });
}

function demandSourcePhrase(
  input: PlanPoolInput,
  policy: PlanningPolicy,
  mixes: ReadonlyMap<Resource, readonly TierMix[]>,
  resources: readonly Resource[],
  fallback: readonly Resource[],
): string {
  const [shown, mix] = [...mixes.entries()][0] ?? [];
  const one = mix?.[0] ?? policy;
  const forecastPart =
    mix && mix.length > 1
      ? `pool forecast by tier share of expected ${shown}: ${mix.map((m) => `${m.tier} ${fmt(m.share * 100)} % at q${m.quantile} + ${fmt(m.headroom * 100)} %`).join(", ")} headroom`
      : `pool forecast q${one.quantile} + ${fmt(one.headroom * 100)} % headroom, tier ${one.tier}${policy.fromUsers ? "" : " (no users: highest tier quantile)"}`;
  const sumPart = `sum of ${input.users.length} user footprints at their tiers' quantiles + their tiers' headroom`;
  if (fallback.length === 0) return forecastPart;
  const why = input.poolForecast
    ? `no pool forecast for ${fallback.join(", ")}`
    : "no pool forecast";
  if (fallback.length === resources.length) return `${sumPart}; ${why}`;
  return `${forecastPart}; ${fallback.join(", ")}: ${sumPart} (${why})`;
}

function warmReservations(
  input: PlanPoolInput,
  starts: readonly number[],
  resources: readonly Resource[],
  options: WarmReservationOptions,
): WarmReservation[] {
  const window = Math.max(0, Math.min(Math.floor(options.intervals), starts.length));
  if (window === 0 || options.maxReservations <= 0) return [];
  const users = input.users;
  // Numbers first for every user; reasons only for the few reservations kept.
  const size = new Float64Array(users.length);
  for (let i = 0; i < users.length; i++) {
    size[i] =
      warmFor(input, users[i] as UserFootprint, starts, resources, options, window)?.size ?? -1;
  }
  const kept = topK(
    users.length,
    options.maxReservations,
    (i) => (size[i] as number) >= 0,
    (a, b) => (size[b] as number) - (size[a] as number) || compareIds(users, a, b),
  );
  return kept.map(
    (i) =>
      (
        warmFor(input, users[i] as UserFootprint, starts, resources, options, window, true) as {
          reservation: WarmReservation;
        }
      ).reservation,
  );
}

/** A user's warm reservation, if it qualifies: its size (in tasks) and, when asked, the whole of it. */
function warmFor(
  input: PlanPoolInput,
  u: UserFootprint,
  starts: readonly number[],
  resources: readonly Resource[],
  options: WarmReservationOptions,
  window: number,
  withReservation = false,
): { size: number; reservation?: WarmReservation } | undefined {
  const pool = input.config;
  const amounts: Amounts = {};
  let firstK = -1;
  let size = 0;
  const details: string[] = [];
  for (const r of resources) {
    const fp = u.footprint[r];
    if (!fp) continue;
    const mean = u.expected?.[r];
    const cap = u.cap?.[r] ?? Number.POSITIVE_INFINITY;
    const current = Math.max(0, u.currentUsage[r] ?? 0);
    const minIncrease = options.minIncreaseTaskFraction * (pool.perTask[r] ?? 0);
    let peak = 0;
    let peakK = -1;
    let qualifiesAt = -1;
    for (let k = 0; k < window; k++) {
      const v = Math.min(amount(fp[k]), cap);
      if (v > peak) {
        peak = v;
        peakK = k;
      }
      const rise = (mean ? Math.min(amount(mean[k]), cap) : v) - current;
      const qualifies =
        rise > 0 && rise > current * options.minIncreaseFraction && rise >= minIncrease;
      if (qualifies && qualifiesAt < 0) qualifiesAt = k;
    }
    const excess = peak - current;
    if (excess <= 0) continue;
    amounts[r] = excess;
    if (qualifiesAt < 0) continue;
    firstK = firstK < 0 ? qualifiesAt : Math.min(firstK, qualifiesAt);
    size = Math.max(size, excess / (pool.perTask[r] as number));
    if (withReservation) {
      details.push(
        `${r} footprint peaks at ${fmt(peak)} by ${clock(starts[peakK] as number)} vs ${fmt(current)} in use now (${current > 0 ? `+${fmt((excess / current) * 100)} %` : "from idle"})`,
      );
    }
  }
  if (firstK < 0) return undefined;
  if (!withReservation) return { size };
  const from = starts[firstK] as number;
  const until = (starts[window - 1] as number) + input.intervalSeconds;
  const quantile = input.tiers[u.tier]?.forecastQuantile;
  return {
    size,
    reservation: {
      userId: u.userId,
      amounts,
      from,
      until,
      reason: `${details.join("; ")} (tier ${u.tier}${quantile === undefined ? "" : ` footprint q${quantile}`}): ${fmtAmounts(amounts)} kept warm ${clock(from)}–${clock(until)}`,
    },
  };
}

/** Rank of a notable user: 0 scarcity, 1 cap, 2 guarantee, 3 not notable. */
const NOT_NOTABLE = 3;

function notable(
  input: PlanPoolInput,
  resources: readonly Resource[],
  shares: Map<Resource, FairShareResult>,
  start: number,
  limit: number,
): AllocationEntry[] {
  const users = input.users;
  if (limit <= 0 || users.length === 0) return [];
  const pool = input.config;
  // Numbers first for every user; reasons only for the entries kept.
  const rank = new Uint8Array(users.length).fill(NOT_NOTABLE);
  const shortfall = new Float64Array(users.length);
  for (const r of resources) {
    const s = shares.get(r);
    if (!s) continue;
    for (let i = 0; i < users.length; i++) {
      const b = BOUND_BY[s.bound[i] as number];
      if (b === "demand") continue;
      const u = users[i] as UserFootprint;
      const a = s.allocation[i] as number;
      let rk: number = NOT_NOTABLE;
      if (b === "share") {
        const wanted = Math.min(
          amount(u.footprint[r]?.[0]),
          u.cap?.[r] ?? Number.POSITIVE_INFINITY,
        );
        // A shortfall of float noise is not scarcity.
        if (wanted - a <= 1e-9 * Math.max(1, wanted)) continue;
        shortfall[i] = (shortfall[i] as number) + (wanted - a) / (pool.perTask[r] as number);
        rk = 0;
      } else {
        rk = b === "cap" ? 1 : 2;
      }
      if (rk < (rank[i] as number)) rank[i] = rk;
    }
  }
  const kept = topK(
    users.length,
    limit,
    (i) => (rank[i] as number) < NOT_NOTABLE,
    (a, b) =>
      (rank[a] as number) - (rank[b] as number) ||
      (shortfall[b] as number) - (shortfall[a] as number) ||
      compareIds(users, a, b),
  );
  return kept.map((i) => notableEntry(users[i] as UserFootprint, i, resources, shares, start));
}

function notableEntry(
  u: UserFootprint,
  i: number,
  resources: readonly Resource[],
  shares: Map<Resource, FairShareResult>,
  start: number,
): AllocationEntry {
  const notes: string[] = [];
  const allocation: Amounts = {};
  const footprint: Amounts = {};
  for (const r of resources) {
    const s = shares.get(r);
    if (!s) continue;
    const a = s.allocation[i] as number;
    const fp = amount(u.footprint[r]?.[0]);
    allocation[r] = a;
    footprint[r] = fp;
    const bound = BOUND_BY[s.bound[i] as number];
    const wanted = Math.min(fp, u.cap?.[r] ?? Number.POSITIVE_INFINITY);
    if (bound === "share" && wanted - a > 1e-9 * Math.max(1, wanted)) {
      notes.push(
        `${r}: scarcity, fair share ${fmt(a)} of ${fmt(wanted)} (weight ${fmt(u.weight)} × level ${fmt(s.level)})`,
      );
    } else if (bound === "cap") {
      notes.push(`${r}: held at cap ${fmt(a)} of ${fmt(fp)} forecast`);
    } else if (bound === "guarantee") {
      notes.push(
        s.guaranteesScaled
          ? `${r}: guarantee scaled to ${fmt(a)} (×${fmt(s.guaranteeScale)}: guarantees exceed the capacity)`
          : `${r}: guarantee ${fmt(a)} above the fair share ${fmt(u.weight * s.level)}`,
      );
    }
  }
  return {
    userId: u.userId,
    tier: u.tier,
    allocation,
    footprint,
    reason: `${clock(start)}: ${notes.join("; ")}`,
  };
}

/**
 * The `limit` best indices in [0, n) among those `include`d, best first by `compare` (negative =
 * a is better). Keeps a sorted array of at most `limit`: O(n log limit) comparisons, no sort of n.
 */
function topK(
  n: number,
  limit: number,
  include: (i: number) => boolean,
  compare: (a: number, b: number) => number,
): number[] {
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!include(i)) continue;
    if (kept.length === limit && compare(i, kept[kept.length - 1] as number) >= 0) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(kept[mid] as number, i) <= 0) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, i);
    if (kept.length > limit) kept.pop();
  }
  return kept;
}

function compareIds(users: readonly UserFootprint[], a: number, b: number): number {
  const x = (users[a] as UserFootprint).userId;
  const y = (users[b] as UserFootprint).userId;
  return x < y ? -1 : x > y ? 1 : 0;
}

function amount(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}

function at(values: Float64Array | undefined, k: number): number {
  return values ? (values[k] as number) : 0;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : Math.min(v, hi);
}

function toAmounts(resources: readonly Resource[], value: (r: Resource) => number): Amounts {
  const out: Amounts = {};
  for (const r of resources) out[r] = value(r);
  return out;
}

/** `38.2`, `4`, `0.25`: at most two decimals, for reasons. */
function fmt(v: number): string {
  return String(Number(v.toFixed(2)));
}

function fmtAmounts(a: Amounts): string {
  return Object.entries(a)
    .map(([r, v]) => `${fmt(v ?? 0)} ${r}`)
    .join(", ");
}

/** `20:52` (UTC), or `20:52:30` when the seconds matter. */
function clock(epochSeconds: number): string {
  const iso = new Date(Math.floor(epochSeconds) * 1000).toISOString();
  return iso.slice(17, 19) === "00" ? iso.slice(11, 16) : iso.slice(11, 19);
}
