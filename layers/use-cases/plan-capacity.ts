import { applyPlanToLedger } from "../domain/admission/ledger.js";
import type { Lease } from "../domain/admission.js";
import {
  effectiveLimits,
  type Pool,
  poolResources,
  type ShaperConfig,
  type User,
} from "../domain/config.js";
import { ConflictError, DependencyError, isShaperError } from "../domain/errors.js";
import type { Forecast } from "../domain/forecast.js";
import type { ActuationResult, PoolPlan } from "../domain/plan.js";
import {
  type CurrentCapacity,
  footprintFromForecast,
  planIntervalStarts,
  planPool,
  type UserFootprint,
} from "../domain/planning/capacity-plan.js";
import type { PolicySet, TierPolicy } from "../domain/policy.js";
import { type Amounts, RESOURCES, type Resource } from "../domain/resources.js";
import type { AdmissionStore } from "../ports/admission-store.js";
import type { CapacityScaler, ScalingTarget } from "../ports/capacity-scaler.js";
import type { ConfigSource } from "../ports/config-source.js";
import type { ForecastStore } from "../ports/forecast-store.js";
import type { PlanStore } from "../ports/plan-store.js";
import type { PolicyStore } from "../ports/policy-store.js";
import type { UserRegistry } from "../ports/user-registry.js";

/** Attempts to write a pool's ledger when admission keeps changing it underneath. */
export const DEFAULT_LEDGER_ATTEMPTS = 8;
/** Skipped users listed by name per pool (the rest are counted). */
const MAX_LISTED_SKIPS = 20;

/** What planning capacity needs. */
export interface PlanCapacityDeps {
  readonly config: ConfigSource;
  readonly policies: Pick<PolicyStore, "getPolicies">;
  readonly forecasts: Pick<ForecastStore, "getPoolForecast" | "listUserForecasts">;
  /** Read only for users whose forecast does not carry the tier (cached per run). */
  readonly users: Pick<UserRegistry, "getUser">;
  readonly scaler: CapacityScaler;
  readonly plans: PlanStore;
  readonly admissions: Pick<AdmissionStore, "getLedger" | "putLedger">;
  /** @default DEFAULT_LEDGER_ATTEMPTS */
  readonly ledgerAttempts?: number;
}

/** A user left out of a pool's plan, and why. */
export interface SkippedUser {
  readonly userId: string;
  readonly why: string;
}

export interface PoolPlanOutcome {
  readonly pool: string;
  readonly plan: PoolPlan;
  /** Future steps handed to the scaler (0 in shadow mode or when actuation failed early). */
  readonly scheduledSteps: number;
  /** Desired count raised to this at once, when it was. */
  readonly scaledNowTo?: number;
  readonly usersPlanned: number;
  readonly skippedUsers: readonly SkippedUser[];
  readonly skippedUserCount: number;
}

export interface PlanCapacityResult {
  readonly plans: PoolPlan[];
  readonly outcomes: PoolPlanOutcome[];
}

/**
 * The scheduled plan of the shape stage: for every configured pool, reads the pool forecast and
 * the pool's user forecasts, turns them into footprints at each tier's quantile (policies in
 * force, else the config's tier values), reads the ECS service's task counts, makes the plan
 * (`planPool`), actuates it unless the config's mode is `shadow` (scheduled scale-ups and an
 * immediate raise through the CapacityScaler), stores it, and applies it to the pool's admission
 * ledger (capacity steps, warm leases, fair-share level) with optimistic concurrency.
 *
 * An actuation failure (AAS or ECS refusing, a service that does not exist) does not stop the
 * run: the plan is stored with `actuation: { status: "failed", detail }`, its ledger is still
 * updated, and the next cycle tries again. Any other failure of a pool (a store down) is
 * collected; the other pools are still planned, then the run fails naming every failed pool so
 * the scheduler retries it (a rerun with the same time rewrites the same plans).
 *
 * @param deps config, policies, forecasts, users, scaler, plan store and admission store
 * @param input.time the run's time, epoch seconds (the scheduled event's `time`)
 * @returns every pool's plan, with what was actuated and which users were left out
 * @throws the pool's error when one pool failed (after all pools were tried), or a
 *   DependencyError naming every failed pool when several did
 * @example
 * const { plans } = await planCapacity(
 *   { config, policies, forecasts, users, scaler, plans: planStore, admissions },
 *   { time: clock.nowSeconds() },
 * );
 * console.log(plans.map((p) => `${p.pool}: ${p.intervals[0]?.reason}`).join("\n"));
 */
export async function planCapacity(
  deps: PlanCapacityDeps,
  input: { readonly time: number },
): Promise<PlanCapacityResult> {
  const config = await deps.config.load();
  const policySet = await deps.policies.getPolicies();
  const tiers = tierPolicies(config, policySet);
  const userCache = new Map<string, Promise<User | undefined>>();
  const configUsers = new Map(config.users.map((u) => [u.userId, u]));
  const outcomes: PoolPlanOutcome[] = [];
  const failures: { pool: string; error: unknown }[] = [];

  for (const [name, pool] of Object.entries(config.pools)) {
    try {
      outcomes.push(
        await planOnePool(deps, config, tiers, { name, pool }, input.time, {
          userCache,
          configUsers,
        }),
      );
    } catch (error) {
      failures.push({ pool: name, error });
    }
  }

  if (failures.length === 1) throw (failures[0] as { error: unknown }).error;
  if (failures.length > 1) {
    const retryable = failures.every(
      (f) => !(f.error instanceof DependencyError) || f.error.retryable,
    );
    throw new DependencyError(
      "shape/plan",
      `Planning failed for ${failures.length} pools: ${failures
        .map((f) => `${f.pool}: ${describeError(f.error)}`)
        .join("; ")}. The other pools were planned; the run should be retried.`,
      {
        retryable,
        cause: failures[0]?.error,
        details: { pools: failures.map((f) => f.pool) },
      },
    );
  }
  return { plans: outcomes.map((o) => o.plan), outcomes };
}

/** Tier knobs in force: the policy set's, else the config's. */
function tierPolicies(
  config: ShaperConfig,
  policySet: PolicySet | undefined,
): Record<string, TierPolicy> {
  const out: Record<string, TierPolicy> = {};
  for (const [name, tier] of Object.entries(config.tiers)) {
    out[name] = policySet?.tiers[name] ?? {
      forecastQuantile: tier.forecastQuantile,
      headroomFraction: tier.headroomFraction,
    };
  }
  return out;
}

interface RunCaches {
  readonly userCache: Map<string, Promise<User | undefined>>;
  readonly configUsers: Map<string, User>;
}

async function planOnePool(
  deps: PlanCapacityDeps,
  config: ShaperConfig,
  tiers: Record<string, TierPolicy>,
  { name, pool }: { name: string; pool: Pool },
  now: number,
  caches: RunCaches,
): Promise<PoolPlanOutcome> {
  const starts = planIntervalStarts(now, config.intervalSeconds, config.horizonIntervals);
  const resources = poolResources(pool);
  const horizonEnd = (starts[starts.length - 1] as number) + config.intervalSeconds;

  const storedPoolForecast = await deps.forecasts.getPoolForecast(name);
  const poolForecast =
    storedPoolForecast && overlapsPlan(storedPoolForecast) ? storedPoolForecast : undefined;

  const users: UserFootprint[] = [];
  const skipped: SkippedUser[] = [];
  let skippedCount = 0;
  const skip = (userId: string, why: string) => {
    skippedCount++;
    if (skipped.length < MAX_LISTED_SKIPS) skipped.push({ userId, why });
  };
  for await (const page of deps.forecasts.listUserForecasts(name)) {
    for (const forecast of page) {
      const userId = forecast.userId;
      if (userId === undefined) continue;
      if (!overlapsPlan(forecast)) {
        skip(userId, "its latest forecast does not reach into the plan's horizon (stale)");
        continue;
      }
      const who = await resolveUser(deps, caches, forecast, userId);
      if (!who) {
        skip(userId, "not in the user registry or the config, and the forecast names no tier");
        continue;
      }
      const tier = config.tiers[who.tier];
      const policy = tiers[who.tier];
      if (!tier || !policy) {
        skip(userId, `tier "${who.tier}" is not configured`);
        continue;
      }
      const limits = effectiveLimits(who, tier);
      const { footprint, currentUsage, expected } = footprintFromForecast(
        forecast,
        policy.forecastQuantile,
        resources,
        starts,
      );
      users.push({
        userId,
        tier: who.tier,
        weight: tier.weight,
        guaranteedMinimum: limits.guaranteedMinimum,
        cap: limits.cap,
        footprint,
        currentUsage,
        expected,
        ...(forecast.criticalPeak ? { criticalPeak: forecast.criticalPeak.amounts } : {}),
      });
    }
  }

  const target: ScalingTarget = {
    pool: name,
    cluster: pool.ecs.cluster,
    service: pool.ecs.service,
    minTasks: pool.minTasks,
    maxTasks: pool.maxTasks,
  };
  let capacity: CurrentCapacity;
  let describeFailure: string | undefined;
  try {
    capacity = await deps.scaler.describe(target);
  } catch (error) {
    // Nothing is known to serve: plan from zero so admission does not promise capacity that may
    // not exist; actuation is skipped and retried next cycle.
    describeFailure = describeError(error);
    capacity = { desiredTasks: 0, runningTasks: 0, pendingTasks: 0 };
  }

  // Work already admitted holds its capacity: the plan never provisions less than it.
  const committed = committedPerInterval(
    (await deps.admissions.getLedger(name)).leases,
    starts,
    config.intervalSeconds,
  );
  const plan = planPool({
    pool: name,
    config: pool,
    poolForecast,
    users,
    tiers,
    capacity,
    committed,
    allocationMethod: config.allocation.method,
    poolDemand: config.planning.poolDemand,
    now,
    intervalSeconds: config.intervalSeconds,
    horizon: config.horizonIntervals,
    mode: config.mode,
  });

  const future = plan.scaling.filter((s) => s.at > now);
  const nowStep = plan.scaling.find((s) => s.at <= now);
  const scaleNowTo = nowStep && nowStep.tasks > capacity.desiredTasks ? nowStep.tasks : undefined;
  let actuation: ActuationResult;
  let scheduledSteps = 0;
  let scaledNowTo: number | undefined;
  if (describeFailure !== undefined) {
    actuation = {
      status: config.mode === "shadow" ? "shadow" : "failed",
      detail: `could not read the service's task counts (${describeFailure}); planned from 0 running tasks${config.mode === "shadow" ? "" : " and applied nothing; retried next cycle"}`,
    };
  } else if (config.mode === "shadow") {
    actuation = {
      status: "shadow",
      detail: `shadow mode: ${future.length} scheduled step(s)${scaleNowTo === undefined ? "" : ` and a raise to ${scaleNowTo} tasks now`} recorded, not applied`,
    };
  } else {
    try {
      // All steps: the scaler schedules the future ones; the collapsed "now" step is for backends
      // that follow the plan both ways (the simulated cluster scales in with it; AAS ignores it).
      await deps.scaler.apply(target, plan.scaling, scaleNowTo);
      scheduledSteps = future.length;
      scaledNowTo = scaleNowTo;
      const parts = [
        `${future.length} scheduled step(s) in place${future[0] ? ` (next: ${future[0].tasks} tasks at ${future[0].at})` : ""}`,
      ];
      if (scaleNowTo !== undefined)
        parts.push(`desired count raised ${capacity.desiredTasks} → ${scaleNowTo} now`);
      actuation = {
        status: future.length === 0 && scaleNowTo === undefined ? "unchanged" : "applied",
        detail: `${parts.join("; ")}; stale shaper actions removed`,
      };
    } catch (error) {
      actuation = {
        status: "failed",
        detail: `${describeError(error)}; the plan is kept and actuation is retried next cycle`,
      };
    }
  }
  const stored: PoolPlan = { ...plan, actuation };
  await deps.plans.putPlan(stored);
  await updateLedger(deps, name, stored, now);

  return {
    pool: name,
    plan: stored,
    scheduledSteps,
    ...(scaledNowTo === undefined ? {} : { scaledNowTo }),
    usersPlanned: users.length,
    skippedUsers: skipped,
    skippedUserCount: skippedCount,
  };

  /** Whether a forecast reaches into the plan's horizon (a stale one does not). */
  function overlapsPlan(forecast: Forecast): boolean {
    const end = forecast.start + forecast.horizon * forecast.intervalSeconds;
    return end > (starts[0] as number) && forecast.start < horizonEnd;
  }
}

/** The user's tier and limits: the forecast's tier (+ config overrides), else the registry's user. */
async function resolveUser(
  deps: PlanCapacityDeps,
  caches: RunCaches,
  forecast: Forecast,
  userId: string,
): Promise<User | undefined> {
  const fromConfig = caches.configUsers.get(userId);
  if (forecast.tier !== undefined) {
    // The forecast carries the tier and the user's own limits, so 1,000,000 users need no
    // registry reads.
    return { userId, tier: forecast.tier, ...forecast.limits };
  }
  let pending = caches.userCache.get(userId);
  if (!pending) {
    pending = deps.users.getUser(userId);
    caches.userCache.set(userId, pending);
  }
  return (await pending) ?? fromConfig;
}

/**
 * Per plan interval, the amounts request leases hold at some point in it (the sum over leases
 * overlapping the interval: an upper bound of the peak, exact for leases spanning it).
 *
 * @param starts the plan's interval starts, `intervalSeconds` apart (`planIntervalStarts`)
 */
export function committedPerInterval(
  leases: readonly Lease[],
  starts: readonly number[],
  intervalSeconds: number,
): Amounts[] {
  // Sums in one typed array per resource, each lease added only to the intervals it overlaps:
  // this runs over every live lease at every plan, and a pool can hold thousands of them.
  const n = starts.length;
  const first = starts[0] ?? 0;
  const sums = RESOURCES.map(() => new Float64Array(n));
  const held = RESOURCES.map(() => new Uint8Array(n));
  // Most leases (long-running work) span every interval: summed once, then added to each.
  const spanning = new Float64Array(RESOURCES.length);
  const spanned = new Uint8Array(RESOURCES.length);
  for (const lease of leases) {
    if (lease.kind !== "request") continue;
    // Interval k overlaps [startAt, endAt) when startAt < its end and endAt > its start.
    const from = Math.max(0, Math.floor((lease.startAt - first) / intervalSeconds));
    const to = Math.min(n, Math.ceil((lease.endAt - first) / intervalSeconds));
    if (from >= to) continue;
    const all = from === 0 && to === n;
    for (let j = 0; j < RESOURCES.length; j++) {
      const amount = lease.amounts[RESOURCES[j] as Resource];
      if (amount === undefined) continue;
      if (all) {
        spanning[j] = (spanning[j] as number) + amount;
        spanned[j] = 1;
        continue;
      }
      const sum = sums[j] as Float64Array;
      const has = held[j] as Uint8Array;
      for (let k = from; k < to; k++) {
        sum[k] = (sum[k] as number) + amount;
        has[k] = 1;
      }
    }
  }
  return starts.map((_, k) => {
    const out: Amounts = {};
    RESOURCES.forEach((resource, j) => {
      const some = (held[j] as Uint8Array)[k] === 1;
      if (spanned[j] === 1) {
        out[resource] =
          (spanning[j] as number) + (some ? ((sums[j] as Float64Array)[k] as number) : 0);
      } else if (some) {
        out[resource] = (sums[j] as Float64Array)[k] as number;
      }
    });
    return out;
  });
}

/** Writes the plan into the pool's ledger, re-reading when admission changed it meanwhile. */
async function updateLedger(
  deps: PlanCapacityDeps,
  pool: string,
  plan: PoolPlan,
  now: number,
): Promise<void> {
  const attempts = deps.ledgerAttempts ?? DEFAULT_LEDGER_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const ledger = await deps.admissions.getLedger(pool);
    const next = applyPlanToLedger(ledger, plan, now);
    if ((await deps.admissions.putLedger(next, ledger.version)) === "committed") return;
  }
  throw new ConflictError(
    `The ledger of pool ${pool} changed under every one of ${attempts} attempts to apply the plan issued at ${plan.issuedAt}. Admission traffic kept winning; the plan is stored and the next cycle applies it again.`,
    { details: { pool, attempts } },
  );
}

function describeError(error: unknown): string {
  if (isShaperError(error)) return `${error.name}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
