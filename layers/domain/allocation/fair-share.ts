import { ValidationError } from "../errors.js";
import { type Amounts, RESOURCES, type Resource } from "../resources.js";

/**
 * Priority-weighted max-min fair share with guaranteed minimums and caps (water-filling).
 *
 * For one resource, user i has demand d, weight w > 0, guarantee g and cap c. With
 * d' = min(d, c) and g' = min(g, d'), the allocation at water level λ is
 *
 *     a(λ) = min(d', max(g', w·λ))
 *
 * and the level is chosen so that Σ a(λ) = capacity (or every d' is met). Each a(λ) is a
 * non-decreasing, continuous, piecewise-linear function of λ whose only breakpoints are g'/w
 * (where the user starts to rise above the guarantee) and d'/w (where the user is satisfied), so
 * the level is found exactly: order the 2n breakpoints far enough to find the segment where the
 * sum crosses the capacity (a quickselect-style partial sort, see `waterLevel`), then solve the
 * linear equation on that segment. No bisection on floats; O(n) expected, over typed arrays.
 *
 * Unlike `min(share × available, demand)`, capacity a user cannot use (demand or cap below the
 * share) raises the level and so goes to the others: nothing is left idle while someone is short.
 *
 * When the guarantees alone exceed the capacity (Σ g' > capacity), every guarantee is scaled by
 * capacity / Σ g' and the result says so (`guaranteesScaled`); the level is then 0.
 *
 * The level reported is the smallest one that yields the allocation: when every demand fits it is
 * max(d'/w) over the users whose guarantee does not already cover their demand (any higher level
 * changes nothing), so it stays finite and can be stored.
 */

/** What bound a user's allocation, by index into this list (the `bound` array holds indexes). */
export const BOUND_BY = ["demand", "cap", "guarantee", "share"] as const;
export type BoundBy = (typeof BOUND_BY)[number];
/** The user got all it asked for (d ≤ c). */
export const BOUND_DEMAND = 0;
/** The user got its cap, below what it asked for. */
export const BOUND_CAP = 1;
/** The user got its guarantee (scaled down when `guaranteesScaled`), above its weighted share. */
export const BOUND_GUARANTEE = 2;
/** The user got its weighted share w·λ, below its demand and cap: scarcity. */
export const BOUND_SHARE = 3;

/** One resource's allocation problem. Arrays are indexed by user; all have the same length. */
export interface FairShareProblem {
  /** What each user would use, in the resource's unit; finite, ≥ 0. */
  readonly demand: ArrayLike<number>;
  /** Priority weight of each user; finite, > 0. */
  readonly weight: ArrayLike<number>;
  /** Guaranteed minimum of each user; finite, ≥ 0. Absent means none. */
  readonly guarantee?: ArrayLike<number> | undefined;
  /** Most each user may hold; ≥ 0, `Infinity` for no cap. Absent means no caps. */
  readonly cap?: ArrayLike<number> | undefined;
  /** What there is to share, in the resource's unit; finite, ≥ 0. */
  readonly capacity: number;
}

export interface FairShareOptions {
  /**
   * Rounds of the level search that use pseudo-random pivots before it switches to exact medians.
   * Only tests change it (to exercise the median path); the result does not depend on it.
   * @default 48
   */
  readonly randomPivotRounds?: number;
}

export interface FairShareResult {
  /** Allocation per user, in the resource's unit. Σ ≤ capacity up to float rounding. */
  readonly allocation: Float64Array;
  /** Water level λ (resource units per unit of weight). */
  readonly level: number;
  /** Per user, an index into {@link BOUND_BY}. */
  readonly bound: Uint8Array;
  /** True when Σ min(g, demand, cap) exceeded the capacity and guarantees were scaled down. */
  readonly guaranteesScaled: boolean;
  /** Factor the guarantees were multiplied by (1 unless `guaranteesScaled`). */
  readonly guaranteeScale: number;
  /** Σ allocation. */
  readonly allocated: number;
  /** Σ min(demand, cap): what the users could use. `allocated < demanded` means scarcity. */
  readonly demanded: number;
  /** Capacity nobody could use (every user got min(demand, cap)); 0 under scarcity. */
  readonly idle: number;
}

/**
 * Allocates one resource by weighted max-min fair share with guarantees and caps.
 *
 * @param problem demands, weights, guarantees, caps and the capacity (one resource, same unit)
 * @param options tuning of the level search (tests only)
 * @returns allocations, the water level, what bound each user and whether guarantees were scaled
 * @throws ValidationError when arrays differ in length or hold a negative, non-finite or (for
 *   weights) non-positive value, naming the first bad index
 * @example
 * const r = fairShare({ demand: [10, 2], weight: [1, 1], capacity: 8 });
 * // r.allocation = [6, 2]: the 2 the second user cannot use goes to the first; r.level = 6
 */
export function fairShare(
  problem: FairShareProblem,
  options: FairShareOptions = {},
): FairShareResult {
  const n = problem.demand.length;
  const capacity = problem.capacity;
  checkProblem(problem, n);

  const weight = new Float64Array(n);
  const dEff = new Float64Array(n);
  const gEff = new Float64Array(n);
  const capBinds = new Uint8Array(n);
  let sumD = 0;
  let sumG = 0;
  const { demand, guarantee, cap } = problem;
  for (let i = 0; i < n; i++) {
    const d = demand[i] as number;
    const c = cap === undefined ? Number.POSITIVE_INFINITY : (cap[i] as number);
    const dp = Math.min(d, c);
    if (c < d) capBinds[i] = 1;
    const g = guarantee === undefined ? 0 : (guarantee[i] as number);
    const gp = Math.min(g, dp);
    weight[i] = problem.weight[i] as number;
    dEff[i] = dp;
    gEff[i] = gp;
    sumD += dp;
    sumG += gp;
  }

  const allocation = new Float64Array(n);
  const bound = new Uint8Array(n);

  // Everyone fits: each user gets min(demand, cap); the level is the smallest that gives that.
  if (sumD <= capacity) {
    let level = 0;
    for (let i = 0; i < n; i++) {
      const dp = dEff[i] as number;
      allocation[i] = dp;
      bound[i] = capBinds[i] === 1 ? BOUND_CAP : BOUND_DEMAND;
      // A user whose guarantee covers its demand is satisfied at any level.
      if ((gEff[i] as number) >= dp) continue;
      const ratio = dp / (weight[i] as number);
      if (ratio > level) level = ratio;
    }
    return {
      allocation,
      level,
      bound,
      guaranteesScaled: false,
      guaranteeScale: 1,
      allocated: sumD,
      demanded: sumD,
      idle: capacity - sumD,
    };
  }

  // Not even the guarantees fit: scale them down proportionally and say so.
  if (sumG > capacity) {
    const scale = capacity / sumG;
    let allocated = 0;
    for (let i = 0; i < n; i++) {
      const gp = gEff[i] as number;
      const a = gp * scale;
      allocation[i] = a;
      allocated += a;
      bound[i] = gp > 0 ? BOUND_GUARANTEE : BOUND_SHARE;
    }
    return {
      allocation,
      level: 0,
      bound,
      guaranteesScaled: true,
      guaranteeScale: scale,
      allocated,
      demanded: sumD,
      idle: 0,
    };
  }

  // Σ g' ≤ capacity < Σ d': the level lies where the (piecewise-linear) sum crosses the capacity.
  // When the guarantees use the capacity exactly, nobody rises above them: the level is 0.
  const level =
    sumG >= capacity
      ? 0
      : waterLevel(
          weight,
          dEff,
          gEff,
          capacity,
          options.randomPivotRounds ?? DEFAULT_RANDOM_PIVOT_ROUNDS,
        );
  let allocated = 0;
  for (let i = 0; i < n; i++) {
    const w = weight[i] as number;
    const dp = dEff[i] as number;
    const gp = gEff[i] as number;
    const share = w * level;
    let a: number;
    if (share >= dp) {
      a = dp;
      bound[i] = capBinds[i] === 1 ? BOUND_CAP : BOUND_DEMAND;
    } else if (gp >= share && gp > 0) {
      // Held up by the guarantee (possibly all the way to its demand).
      a = gp;
      bound[i] = BOUND_GUARANTEE;
    } else {
      a = share;
      bound[i] = BOUND_SHARE;
    }
    allocation[i] = a;
    allocated += a;
  }
  return {
    allocation,
    level,
    bound,
    guaranteesScaled: false,
    guaranteeScale: 1,
    allocated,
    demanded: sumD,
    idle: 0,
  };
}

/**
 * The smallest λ with Σ a(λ) ≥ capacity, given Σ g' < capacity < Σ d'.
 *
 * Σ a(λ) is monotone and linear between breakpoints, so the crossing is bracketed by breakpoints
 * and solved exactly on its segment. The bracket is narrowed quickselect-style: take a breakpoint
 * inside (lo, hi) as pivot, evaluate the sum there, keep the half that holds the crossing. Users
 * whose breakpoints all lie outside the bracket are folded into constants — saturated (d'),
 * held at the guarantee (g'), or rising linearly (w·λ) across the whole bracket — so each round
 * touches only users with a breakpoint still inside. That is a partial sort of the breakpoints:
 * O(n) expected work with pseudo-random pivots; should an input defeat them, later rounds take
 * the exact median of the sorted remaining breakpoints (O(n log n) worst case). Deterministic:
 * the pivot sequence depends only on the input. On the final segment, with no breakpoint
 * inside, the sum is base + slope·λ and λ = (capacity − base) / slope.
 */
function waterLevel(
  weight: Float64Array,
  dEff: Float64Array,
  gEff: Float64Array,
  capacity: number,
  randomPivotRounds: number,
): number {
  const n = weight.length;
  // Breakpoints: where each user leaves its guarantee (g'/w) and where it is satisfied (d'/w).
  const lowPoint = new Float64Array(n);
  const highPoint = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = weight[i] as number;
    lowPoint[i] = (gEff[i] as number) / w;
    highPoint[i] = (dEff[i] as number) / w;
  }
  const active = new Int32Array(n);
  let count = n;
  for (let i = 0; i < n; i++) active[i] = i;
  // The crossing lies in (lo, hi]: sum(lo) < capacity ≤ sum(hi).
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  let base = 0;
  let slope = 0;
  let seed = 0x9e3779b9;
  let rounds = 0;
  for (;;) {
    // Fold users with no breakpoint strictly inside (lo, hi) into base and slope.
    let kept = 0;
    for (let k = 0; k < count; k++) {
      const i = active[k] as number;
      const low = lowPoint[i] as number;
      const high = highPoint[i] as number;
      if (high <= lo) base += dEff[i] as number;
      else if (low >= hi) base += gEff[i] as number;
      else if (low <= lo && high >= hi) slope += weight[i] as number;
      else active[kept++] = i;
    }
    count = kept;
    if (count === 0) break;
    let pivot: number;
    if (++rounds <= randomPivotRounds) {
      // A pseudo-random user still inside, and one of its breakpoints that lies inside.
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const pick = active[seed % count] as number;
      const low = lowPoint[pick] as number;
      pivot = low > lo ? low : (highPoint[pick] as number);
    } else {
      pivot = medianInside(active, count, lowPoint, highPoint, lo, hi);
    }
    let sum = base + slope * pivot;
    for (let k = 0; k < count; k++) {
      const i = active[k] as number;
      const share = (weight[i] as number) * pivot;
      const gp = gEff[i] as number;
      const dp = dEff[i] as number;
      sum += share <= gp ? gp : Math.min(share, dp);
    }
    if (sum >= capacity) hi = pivot;
    else lo = pivot;
  }
  // Rounding can leave Σ d' a few ulps above the capacity with no crossing found: every user
  // is then saturated at lo (the largest breakpoint), which is the level.
  if (slope <= 0) return Number.isFinite(hi) ? hi : lo;
  const level = (capacity - base) / slope;
  return level < lo ? lo : Math.min(level, hi);
}

/** Rounds with pseudo-random pivots before switching to exact medians (≈ 2·log2(1e6) rounds). */
const DEFAULT_RANDOM_PIVOT_ROUNDS = 48;

/** Median of the breakpoints of active users that lie strictly inside (lo, hi). */
function medianInside(
  active: Int32Array,
  count: number,
  lowPoint: Float64Array,
  highPoint: Float64Array,
  lo: number,
  hi: number,
): number {
  const inside = new Float64Array(2 * count);
  let m = 0;
  for (let k = 0; k < count; k++) {
    const i = active[k] as number;
    const low = lowPoint[i] as number;
    const high = highPoint[i] as number;
    if (low > lo && low < hi) inside[m++] = low;
    if (high > lo && high < hi) inside[m++] = high;
  }
  const sorted = inside.subarray(0, m).sort();
  return sorted[m >>> 1] as number;
}

function checkProblem(problem: FairShareProblem, n: number): void {
  const { capacity } = problem;
  if (!Number.isFinite(capacity) || capacity < 0) {
    throw new ValidationError(
      `Fair share: capacity ${capacity} is not a finite amount ≥ 0. Pass the capacity to share, in the resource's unit.`,
      [{ field: "capacity", message: "must be finite and ≥ 0" }],
    );
  }
  const lengthOk = (name: string, values: ArrayLike<number> | undefined) => {
    if (values !== undefined && values.length !== n) {
      throw new ValidationError(
        `Fair share: ${name} has ${values.length} entries but demand has ${n}. Expected one entry per user in every array.`,
        [{ field: name, message: `must have ${n} entries` }],
      );
    }
  };
  lengthOk("weight", problem.weight);
  lengthOk("guarantee", problem.guarantee);
  lengthOk("cap", problem.cap);
  const bad = (field: string, i: number, value: number, expected: string) =>
    new ValidationError(
      `Fair share: ${field}[${i}] is ${value}; expected ${expected}. Fix the input for user index ${i}.`,
      [{ field: `${field}.${i}`, message: `must be ${expected}` }],
    );
  const { demand, weight, guarantee, cap } = problem;
  for (let i = 0; i < n; i++) {
    const d = demand[i] as number;
    if (!(d >= 0) || d === Number.POSITIVE_INFINITY) throw bad("demand", i, d, "finite and ≥ 0");
    const w = weight[i] as number;
    if (!(w > 0) || w === Number.POSITIVE_INFINITY) throw bad("weight", i, w, "finite and > 0");
    if (guarantee !== undefined) {
      const g = guarantee[i] as number;
      if (!(g >= 0) || g === Number.POSITIVE_INFINITY)
        throw bad("guarantee", i, g, "finite and ≥ 0");
    }
    if (cap !== undefined) {
      const c = cap[i] as number;
      if (!(c >= 0)) throw bad("cap", i, c, "≥ 0 (Infinity for no cap)");
    }
  }
}

/** Several resources shared among the same users. Per-resource arrays are indexed by user. */
export interface MultiResourceProblem {
  /** Priority weight of each user (one per user, shared by all resources). */
  readonly weight: ArrayLike<number>;
  /** Demand per resource; a resource without an array is not allocated. */
  readonly demand: Partial<Record<Resource, ArrayLike<number>>>;
  readonly guarantee?: Partial<Record<Resource, ArrayLike<number>>>;
  /** Caps per resource (`Infinity` for none); a resource without an array has no caps. */
  readonly cap?: Partial<Record<Resource, ArrayLike<number>>>;
  /** Capacity per resource; a missing resource has capacity 0. */
  readonly capacity: Amounts;
}

/**
 * How several resources are shared. `per-resource` runs {@link fairShare} on each resource on
 * its own. `drf` is weighted dominant-resource fairness (Ghodsi et al., NSDI 2011), which couples
 * the resources of one user: see {@link dominantResourceFairShare}.
 */
export type MultiResourceMethod = "per-resource" | "drf";

export interface MultiResourceAllocation {
  readonly method: MultiResourceMethod;
  /** One result per resource that had a demand array. */
  readonly byResource: Partial<Record<Resource, FairShareResult>>;
  /** `drf` only: each user's dominant share (its largest share of any resource's capacity). */
  readonly dominantShare?: Float64Array;
  /** `drf` only: the final level (dominant share per unit of weight) progressive filling reached. */
  readonly dominantLevel?: number;
  /**
   * `drf` only: the rounds in which resources ran out, in order — each with its level and the
   * resources that saturated. A user's level is that of the first round saturating a resource
   * its bundle uses (none: it got its whole bundle); {@link drfFraction} turns that back into
   * the user's allocation, so admission can apply the plan's shares user by user.
   */
  readonly rounds?: readonly DominantRound[];
}

/** One round of progressive filling that exhausted resources. */
export interface DominantRound {
  readonly level: number;
  readonly saturated: readonly Resource[];
}

/**
 * The fraction of its bundle a user gets under weighted DRF, from the rounds of the allocation:
 * min(1, max(γ, w·λ / D)) where λ is the level of the first round saturating a resource the
 * bundle uses, D the bundle's dominant share of `capacity`, γ the share of the bundle the
 * guarantee covers. The same bundle, guarantee, cap and weight as the allocation saw give the
 * same fraction (up to rounding).
 *
 * @param bundle the user's demand per resource (before caps)
 * @param user weight, guarantee and cap per resource
 * @param rounds the rounds of the allocation
 * @param capacity the capacity the allocation shared
 * @returns the fraction of the capped bundle, and the capped bundle
 */
export function drfFraction(
  bundle: Amounts,
  user: {
    readonly weight: number;
    readonly guarantee: Amounts;
    readonly cap?: Amounts | undefined;
  },
  rounds: readonly DominantRound[],
  capacity: Amounts,
): { readonly fraction: number; readonly bundle: Amounts } {
  let kappa = 1;
  for (const r of RESOURCES) {
    const d = bundle[r] ?? 0;
    const c = user.cap?.[r];
    if (d > 0 && c !== undefined && c < d) kappa = Math.min(kappa, c / d);
  }
  const capped: Amounts = {};
  let dominant = 0;
  let gamma = 1;
  let any = false;
  for (const r of RESOURCES) {
    const d = (bundle[r] ?? 0) * kappa;
    if (d <= 0) continue;
    capped[r] = d;
    any = true;
    const c = capacity[r] ?? 0;
    dominant = Math.max(dominant, c > 0 ? d / c : Number.POSITIVE_INFINITY);
    gamma = Math.min(gamma, (user.guarantee[r] ?? 0) / d);
  }
  if (!any) return { fraction: 1, bundle: capped };
  // A bundle needing a resource the pool has none of gets its guarantee only.
  if (!Number.isFinite(dominant)) return { fraction: gamma, bundle: capped };
  const round = rounds.find((x) => x.saturated.some((r) => (capped[r] ?? 0) > 0));
  if (!round) return { fraction: 1, bundle: capped };
  return {
    fraction: Math.min(1, Math.max(gamma, (user.weight * round.level) / dominant)),
    bundle: capped,
  };
}

/**
 * Allocates several resources among the same users.
 *
 * @param problem weights, and demands/guarantees/caps/capacity per resource
 * @param options.method how resources are combined @default "per-resource"
 * @returns one {@link FairShareResult} per resource with demand
 * @throws ValidationError as {@link fairShare}
 * @example
 * const out = allocateFairShare({
 *   weight: [2, 1],
 *   demand: { vcpu: [8, 8] },
 *   capacity: { vcpu: 9 },
 * });
 * // out.byResource.vcpu.allocation = [6, 3]
 */
export function allocateFairShare(
  problem: MultiResourceProblem,
  options: { readonly method?: MultiResourceMethod } = {},
): MultiResourceAllocation {
  const method = options.method ?? "per-resource";
  if (method === "drf") return dominantResourceFairShare(problem);
  const byResource: Partial<Record<Resource, FairShareResult>> = {};
  for (const r of RESOURCES) {
    const demand = problem.demand[r];
    if (demand === undefined) continue;
    byResource[r] = fairShare({
      demand,
      weight: problem.weight,
      guarantee: problem.guarantee?.[r],
      cap: problem.cap?.[r],
      capacity: problem.capacity[r] ?? 0,
    });
  }
  return { method, byResource };
}

/** Relative tolerance when comparing levels of different resources. */
const LEVEL_TOLERANCE = 1e-12;

/**
 * Weighted dominant-resource fairness with guarantees and caps, by progressive filling (fluid).
 *
 * Each user asks for a bundle d (its demands across resources); what it gets is a fraction f of
 * that bundle, the same on every resource, so a user that needs 4 GiB per vCPU gets memory and
 * vCPU in that ratio. Its dominant share is f × D, D = max over resources of d[r] / capacity[r].
 * A cap on any resource caps the whole bundle (f ≤ min c[r]/d[r]); a guarantee covers the largest
 * fraction of the bundle it covers on every resource (γ = min g[r]/d[r]). At level λ,
 *
 *     f(λ) = min(1, max(γ, w·λ / D))
 *
 * — the user's dominant share rises with its weight until the bundle is met. On each resource this
 * is the single-resource water-fill of {@link fairShare} with weight w·d[r]/D, so each resource's
 * exhaustion level is found exactly by it; the smallest one saturates first. Users drawing on a
 * saturated resource stop there; the others keep rising in the next round with what is left, so
 * capacity one user cannot use goes to users who can (as max-min does). At most one round per
 * resource. When the guarantees alone exceed a resource, every guarantee fraction is scaled by the
 * same factor (so bundles stay bundles) and the result says so.
 *
 * @param problem weights, and demands/guarantees/caps/capacity per resource
 * @returns per resource the allocation and what bound each user (as {@link fairShare}), plus the
 *   dominant share of each user and the final level
 * @throws ValidationError as {@link fairShare}
 * @example
 * // The DRF paper's example: 9 CPUs, 18 GB; A's tasks need <1 CPU, 4 GB>, B's <3 CPU, 1 GB>.
 * const out = dominantResourceFairShare({
 *   weight: [1, 1],
 *   demand: { vcpu: [10, 30], memoryGiB: [40, 10] },
 *   capacity: { vcpu: 9, memoryGiB: 18 },
 * });
 * // A gets <3, 12>, B <6, 2>: both dominant shares are 2/3.
 */
export function dominantResourceFairShare(problem: MultiResourceProblem): MultiResourceAllocation {
  const resources = RESOURCES.filter((r) => problem.demand[r] !== undefined);
  const n = problem.weight.length;
  for (const r of resources) {
    checkProblem(
      {
        demand: problem.demand[r] as ArrayLike<number>,
        weight: problem.weight,
        guarantee: problem.guarantee?.[r],
        cap: problem.cap?.[r],
        capacity: problem.capacity[r] ?? 0,
      },
      n,
    );
  }
  const m = resources.length;
  const capacity = Float64Array.from(resources, (r) => problem.capacity[r] ?? 0);
  // Effective bundles: demand capped as a whole, one row per resource.
  const bundle = resources.map(() => new Float64Array(n));
  const capBinds = new Uint8Array(n);
  const gamma = new Float64Array(n);
  const dominant = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let kappa = 1;
    for (let k = 0; k < m; k++) {
      const r = resources[k] as Resource;
      const d = (problem.demand[r] as ArrayLike<number>)[i] as number;
      const c = problem.cap?.[r]?.[i] ?? Number.POSITIVE_INFINITY;
      if (d > 0 && c < d) kappa = Math.min(kappa, c / d);
    }
    if (kappa < 1) capBinds[i] = 1;
    let g = 1;
    let dom = 0;
    let any = false;
    for (let k = 0; k < m; k++) {
      const r = resources[k] as Resource;
      const d = ((problem.demand[r] as ArrayLike<number>)[i] as number) * kappa;
      (bundle[k] as Float64Array)[i] = d;
      if (d <= 0) continue;
      any = true;
      const guarantee = problem.guarantee?.[r]?.[i] ?? 0;
      g = Math.min(g, guarantee / d);
      const cap = capacity[k] as number;
      dom = Math.max(dom, cap > 0 ? d / cap : Number.POSITIVE_INFINITY);
    }
    gamma[i] = any ? g : 0;
    dominant[i] = dom;
  }

  const fraction = new Float64Array(n);
  const frozen = new Uint8Array(n);
  const rounds: DominantRound[] = [];
  const bound = new Uint8Array(n);
  let guaranteeScale = 1;
  // Guarantees first: if they do not fit some resource, scale every guarantee fraction alike.
  for (let k = 0; k < m; k++) {
    let sum = 0;
    const row = bundle[k] as Float64Array;
    for (let i = 0; i < n; i++) sum += (gamma[i] as number) * (row[i] as number);
    if (sum > (capacity[k] as number))
      guaranteeScale = Math.min(guaranteeScale, (capacity[k] as number) / sum);
  }
  let level = 0;
  if (guaranteeScale < 1) {
    // Nobody rises above its guarantee: a round at level 0 saturating every resource says so.
    rounds.push({ level: 0, saturated: [...resources] });
    for (let i = 0; i < n; i++) {
      fraction[i] = (gamma[i] as number) * guaranteeScale;
      bound[i] = (gamma[i] as number) > 0 ? BOUND_GUARANTEE : BOUND_SHARE;
    }
  } else {
    // A user with a resource of zero capacity in its bundle can only have its guarantee (0).
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(dominant[i] as number)) {
        frozen[i] = 1;
        fraction[i] = gamma[i] as number;
        bound[i] = BOUND_SHARE;
      } else if ((dominant[i] as number) === 0) {
        frozen[i] = 1;
        bound[i] = capBinds[i] === 1 ? BOUND_CAP : BOUND_DEMAND;
      }
    }
    const remaining = Float64Array.from(capacity);
    for (let round = 0; round <= m; round++) {
      const active: number[] = [];
      for (let i = 0; i < n; i++) if (frozen[i] === 0) active.push(i);
      if (active.length === 0) break;
      // Each resource's exhaustion level over the active users and what is left of it.
      const levels = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
      const exhausts = new Uint8Array(m);
      for (let k = 0; k < m; k++) {
        const row = bundle[k] as Float64Array;
        const demand: number[] = [];
        const weight: number[] = [];
        const guarantee: number[] = [];
        for (const i of active) {
          const d = row[i] as number;
          if (d <= 0) continue;
          demand.push(d);
          weight.push(((problem.weight[i] as number) * d) / (dominant[i] as number));
          guarantee.push((gamma[i] as number) * d);
        }
        if (demand.length === 0) continue;
        const result = fairShare({
          demand,
          weight,
          guarantee,
          capacity: Math.max(0, remaining[k] as number),
        });
        levels[k] = result.level;
        exhausts[k] = result.allocated < result.demanded ? 1 : 0;
      }
      // Only a resource that runs out constrains the level; if none does, everyone is served.
      let lambda = Number.POSITIVE_INFINITY;
      for (let k = 0; k < m; k++) {
        if (exhausts[k] === 1) lambda = Math.min(lambda, levels[k] as number);
      }
      const anySaturated = Number.isFinite(lambda);
      if (anySaturated) level = Math.max(level, lambda);
      else
        for (let k = 0; k < m; k++)
          if (Number.isFinite(levels[k] as number)) level = Math.max(level, levels[k] as number);
      const saturated = new Uint8Array(m);
      for (let k = 0; k < m; k++) {
        if (exhausts[k] === 1 && (levels[k] as number) <= lambda * (1 + LEVEL_TOLERANCE))
          saturated[k] = 1;
      }
      if (anySaturated) {
        rounds.push({ level: lambda, saturated: resources.filter((_, k) => saturated[k] === 1) });
      }
      for (const i of active) {
        const w = problem.weight[i] as number;
        const f = Math.min(1, Math.max(gamma[i] as number, (w * lambda) / (dominant[i] as number)));
        fraction[i] = f;
        let blocked = false;
        for (let k = 0; k < m; k++) {
          if (saturated[k] === 1 && ((bundle[k] as Float64Array)[i] as number) > 0) blocked = true;
        }
        if (f >= 1) {
          frozen[i] = 1;
          bound[i] = capBinds[i] === 1 ? BOUND_CAP : BOUND_DEMAND;
        } else if (blocked || !anySaturated) {
          frozen[i] = 1;
          bound[i] =
            (gamma[i] as number) >= (w * lambda) / (dominant[i] as number) &&
            (gamma[i] as number) > 0
              ? BOUND_GUARANTEE
              : BOUND_SHARE;
        }
      }
      // What the users frozen now hold leaves the capacity the others rise into.
      for (const i of active) {
        if (frozen[i] === 0) continue;
        for (let k = 0; k < m; k++) {
          remaining[k] =
            (remaining[k] as number) -
            (fraction[i] as number) * ((bundle[k] as Float64Array)[i] as number);
        }
      }
      if (!anySaturated) break;
    }
  }

  const byResource: Partial<Record<Resource, FairShareResult>> = {};
  const dominantShare = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = dominant[i] as number;
    dominantShare[i] = Number.isFinite(d) ? (fraction[i] as number) * d : 0;
  }
  resources.forEach((r, k) => {
    const row = bundle[k] as Float64Array;
    const allocation = new Float64Array(n);
    let allocated = 0;
    let demanded = 0;
    for (let i = 0; i < n; i++) {
      const a = (fraction[i] as number) * (row[i] as number);
      allocation[i] = a;
      allocated += a;
      demanded += row[i] as number;
    }
    byResource[r] = {
      allocation,
      level,
      bound: Uint8Array.from(bound),
      guaranteesScaled: guaranteeScale < 1,
      guaranteeScale,
      allocated,
      demanded,
      idle: Math.max(0, (capacity[k] as number) - allocated),
    };
  });
  return { method: "drf", byResource, dominantShare, dominantLevel: level, rounds };
}
