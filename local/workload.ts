import type { AdmissionRequestInput } from "../layers/domain/admission.js";
import type { Criticality, ShaperConfig, User } from "../layers/domain/config.js";
import { poolResources, userPools } from "../layers/domain/config.js";
import type { Amounts, Resource } from "../layers/domain/resources.js";

/**
 * The built-in workload of `npm start`: a seeded generator with per-user daily patterns, bursts
 * and tiers. Written for the local demo, not taken from a trace. Every value is a pure function
 * of (seed, user, pool, time), so any window can be read in any order and two runs with the same
 * seed see the same workload.
 */

const DAY_SECONDS = 86_400;

/** Per-tier shape of demand: base vCPU level, daily swing (0–1), burst odds per interval. */
const TIER_PROFILES: Record<
  string,
  { baseVcpu: number; swing: number; burstOdds: number; nightOff: boolean }
> = {
  premium: { baseVcpu: 12, swing: 0.5, burstOdds: 0.03, nightOff: false },
  standard: { baseVcpu: 5, swing: 0.6, burstOdds: 0.05, nightOff: false },
  free: { baseVcpu: 2, swing: 0.8, burstOdds: 0.08, nightOff: true },
};
const DEFAULT_PROFILE = { baseVcpu: 6, swing: 0.5, burstOdds: 0.05, nightOff: false };

/** Memory per vCPU the synthetic users ask for, in GiB. */
const GIB_PER_VCPU = 4;

/** A 32-bit hash of the arguments, as a float in [0, 1). */
export function hashUnit(...parts: (string | number)[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const s = String(part);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ 0x2f, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4_294_967_296;
}

export interface WorkloadOptions {
  readonly seed: number;
  /** Multiplies every user's demand (1 = the profiles above). */
  readonly intensity?: number;
}

export class SyntheticWorkload {
  private readonly intensity: number;

  constructor(
    private readonly config: ShaperConfig,
    private readonly options: WorkloadOptions,
  ) {
    this.intensity = options.intensity ?? 1;
  }

  /** What the user used of the pool in the interval starting at `intervalStart` (epoch s). */
  usage(user: User, pool: string, intervalStart: number): Amounts {
    const poolConfig = this.config.pools[pool];
    if (!poolConfig || !userPools(user, this.config).includes(pool)) return {};
    const vcpu = this.vcpuDemand(user, pool, intervalStart);
    const out: Amounts = {};
    for (const r of poolResources(poolConfig)) out[r] = this.scaleResource(r, vcpu, pool);
    return out;
  }

  /** Whether the metrics agent of this user reported for the interval (about 1 % gaps, like real agents). */
  reported(user: User, pool: string, intervalStart: number): boolean {
    return hashUnit(this.options.seed, "gap", user.userId, pool, intervalStart) > 0.01;
  }

  /**
   * Requests the user sends in the interval, with offsets (seconds into the interval). Sizes follow
   * the user's demand level, so a busy hour brings more and bigger asks.
   */
  requests(
    user: User,
    pool: string,
    intervalStart: number,
    intervalSeconds: number,
  ): Array<{ offsetSeconds: number; body: AdmissionRequestInput }> {
    const poolConfig = this.config.pools[pool];
    if (!poolConfig || !userPools(user, this.config).includes(pool)) return [];
    const level = this.vcpuDemand(user, pool, intervalStart);
    if (level <= 0) return [];
    // Requests hold 20–80 % of the user's level for 1–6 intervals (3.5 on average), so about
    // 1 / (0.5 × 3.5) requests per interval keep the user's leased amount near its usage level.
    const expected = 1 / (0.5 * 3.5);
    const count = poisson(
      expected,
      hashUnit(this.options.seed, "n", user.userId, pool, intervalStart),
    );
    const out: Array<{ offsetSeconds: number; body: AdmissionRequestInput }> = [];
    for (let i = 0; i < count; i++) {
      const u = (k: string) => hashUnit(this.options.seed, k, user.userId, pool, intervalStart, i);
      const vcpu = Math.max(1, Math.round(level * (0.2 + 0.6 * u("size"))));
      const amounts: Amounts = {};
      for (const r of poolResources(poolConfig)) amounts[r] = this.scaleResource(r, vcpu, pool);
      const criticality: Criticality =
        user.tier === "premium" ? "critical" : u("crit") < 0.3 ? "deferrable" : "normal";
      out.push({
        offsetSeconds: Math.floor(u("at") * intervalSeconds),
        body: {
          requestId: `${user.userId}-${pool}-${intervalStart}-${i}`,
          userId: user.userId,
          pool,
          amounts,
          durationSeconds: 300 * (1 + Math.floor(u("dur") * 6)),
          criticality,
        },
      });
    }
    return out.sort((a, b) => a.offsetSeconds - b.offsetSeconds);
  }

  private vcpuDemand(user: User, pool: string, t: number): number {
    const profile = TIER_PROFILES[user.tier] ?? DEFAULT_PROFILE;
    const phase = hashUnit(this.options.seed, "phase", user.userId) * 0.25 * DAY_SECONDS;
    const dayFraction = ((t - phase) % DAY_SECONDS) / DAY_SECONDS;
    // Peak in the (user-shifted) afternoon, trough at night.
    const daily = 1 + profile.swing * Math.sin(2 * Math.PI * (dayFraction - 0.375));
    if (profile.nightOff && daily < 0.6) return 0;
    const noise = 0.85 + 0.3 * hashUnit(this.options.seed, "noise", user.userId, pool, t);
    // Bursts last three intervals: the burst starts at an interval whose hash says so.
    let burst = 1;
    for (let k = 0; k < 3; k++) {
      if (hashUnit(this.options.seed, "burst", user.userId, pool, t - k * 300) < profile.burstOdds)
        burst = 2.5;
    }
    const poolFactor = pool === "gpu" ? 0.5 : 1;
    return Math.max(0, profile.baseVcpu * daily * noise * burst * poolFactor * this.intensity);
  }

  private scaleResource(resource: Resource, vcpu: number, pool: string): number {
    const round = (x: number) => Math.round(x * 100) / 100;
    switch (resource) {
      case "vcpu":
        return round(vcpu);
      case "memoryGiB":
        return round(vcpu * GIB_PER_VCPU);
      case "gpu":
        return pool === "gpu" ? Math.max(0, Math.round(vcpu / 8)) : 0;
    }
  }
}

/** Inverse-CDF Poisson draw from one uniform. */
function poisson(mean: number, u: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  while (u > cdf && k < 50) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}
