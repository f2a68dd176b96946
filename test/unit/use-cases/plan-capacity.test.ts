import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPlanStore } from "../../../layers/adapters/local/in-memory-plan-store.js";
import { InMemoryPolicyStore } from "../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { SimulatedEcsCluster } from "../../../layers/adapters/local/simulated-ecs-cluster.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import type { Lease } from "../../../layers/domain/admission.js";
import type { ShaperConfigInput } from "../../../layers/domain/config.js";
import { ConflictError, DependencyError, NotFoundError } from "../../../layers/domain/errors.js";
import type { Forecast } from "../../../layers/domain/forecast.js";
import type { PoolPlan, ScalingStep } from "../../../layers/domain/plan.js";
import { type Amounts, RESOURCES } from "../../../layers/domain/resources.js";
import type { CapacityScaler, ScalingTarget } from "../../../layers/ports/capacity-scaler.js";
import {
  committedPerInterval,
  type PlanCapacityDeps,
  planCapacity,
} from "../../../layers/use-cases/plan-capacity.js";
import { testConfig } from "../../fixtures/config.js";
import { storedForecast, T0 } from "../../fixtures/plan-inputs.js";

const NOW = T0 + 30;
const H = 12;
const flat = (v: number) => Array.from({ length: H }, () => v);
/** Rises from 8 to 60 vcpu in the fourth interval. */
const rising = [8, 8, 8, 60, 60, 60, 60, 60, 60, 60, 60, 60];

async function setup(overrides: Partial<ShaperConfigInput> = {}, forecasts: Forecast[] = []) {
  const config = testConfig(overrides);
  const clock = new ManualClock(NOW);
  const forecastStore = new InMemoryForecastStore({ pageSize: 2 });
  await forecastStore.putForecasts(
    forecasts.length > 0
      ? forecasts
      : [
          storedForecast({
            pool: "cpu",
            start: T0,
            perResource: { vcpu: rising, memoryGiB: rising.map((v) => v * 2) },
          }),
          storedForecast({
            pool: "cpu",
            userId: "acme",
            tier: "premium",
            start: T0,
            perResource: { vcpu: flat(6), memoryGiB: flat(12) },
          }),
          storedForecast({
            pool: "cpu",
            userId: "globex",
            start: T0,
            perResource: { vcpu: flat(2), memoryGiB: flat(4) },
          }),
          storedForecast({
            pool: "gpu",
            start: T0,
            perResource: { vcpu: flat(8), memoryGiB: flat(64), gpu: flat(1) },
          }),
          storedForecast({
            pool: "gpu",
            userId: "hooli",
            tier: "free",
            start: T0,
            perResource: { vcpu: flat(8), memoryGiB: flat(64), gpu: flat(1) },
          }),
        ],
  );
  const scaler = new SimulatedEcsCluster(clock, config.pools);
  const deps = {
    config: new StaticConfigSource(config),
    policies: new InMemoryPolicyStore(),
    forecasts: forecastStore,
    users: new InMemoryUserRegistry(config.users),
    scaler: scaler as CapacityScaler,
    plans: new InMemoryPlanStore(),
    admissions: new InMemoryAdmissionStore(),
  } satisfies PlanCapacityDeps;
  return { config, clock, scaler, deps };
}

describe("planCapacity", () => {
  it("applies the per-user cap a forecast carries, without reading the user registry", async () => {
    const capped = {
      ...storedForecast({
        pool: "cpu",
        userId: "zed",
        tier: "free",
        start: T0,
        perResource: { vcpu: flat(30), memoryGiB: flat(60) },
      }),
      limits: { cap: { vcpu: 3, memoryGiB: 6 } },
    };
    const { deps } = await setup({}, [
      storedForecast({
        pool: "cpu",
        start: T0,
        perResource: { vcpu: flat(30), memoryGiB: flat(60) },
      }),
      capped,
    ]);
    await planCapacity(deps, { time: NOW });
    const plan = (await deps.plans.getLatestPlan("cpu")) as PoolPlan;
    const zed = plan.notableAllocations.find((a) => a.userId === "zed");
    expect(zed?.allocation.vcpu).toBeLessThanOrEqual(3);
    expect(zed?.reason).toMatch(/cap/);
  });

  it("plans every pool, actuates the scale-ups, stores the plans and writes them into the ledgers", async () => {
    // The whole pool at its highest tier's quantile, so the figures below are simple to follow.
    const { scaler, deps } = await setup({ planning: { poolDemand: "highest-tier" } });
    const { plans, outcomes } = await planCapacity(deps, { time: NOW });
    expect(plans.map((p) => p.pool).sort()).toEqual(["cpu", "gpu"]);

    const cpu = (await deps.plans.getLatestPlan("cpu")) as PoolPlan;
    expect(cpu.actuation?.status).toBe("applied");
    // Users: acme (premium, q0.95) and globex (standard, from the registry) → planning quantile 0.95.
    expect(cpu.intervals[0]?.reason).toContain("pool forecast q0.95 + 20 % headroom, tier premium");
    // Rising demand: q0.95 of 60 = 87 vcpu × 1.2 = 104.4 → 27 tasks from the fourth interval.
    expect(cpu.intervals[3]?.targetTasks).toBe(27);
    const up = cpu.scaling.find((s) => s.tasks === 27) as ScalingStep;
    expect(up.at).toBe(T0 + 3 * 300 - 180);
    const scheduled = scaler.listActions("cpu").filter((a) => a.kind === "scheduled");
    expect(scheduled.map((a) => a.stepAt)).toContain(up.at);
    expect(outcomes.find((o) => o.pool === "cpu")?.usersPlanned).toBe(2);

    const ledger = await deps.admissions.getLedger("cpu");
    expect(ledger.version).toBe(1);
    expect(ledger.planIssuedAt).toBe(NOW);
    expect(ledger.capacity.map((s) => s.start)).toEqual(cpu.intervals.map((i) => i.start));
    expect(ledger.capacity[3]?.capacity.vcpu).toBe(cpu.intervals[3]?.capacity.vcpu);
  });

  it("raises the desired count at once when the current interval needs more tasks", async () => {
    const { scaler, deps, clock } = await setup({}, [
      storedForecast({
        pool: "cpu",
        start: T0,
        perResource: { vcpu: flat(40), memoryGiB: flat(40) },
      }),
      storedForecast({ pool: "gpu", start: T0, perResource: { gpu: flat(0) } }),
    ]);
    const { outcomes } = await planCapacity(deps, { time: NOW });
    // No users: highest tier quantile overall (premium): 40 × 1.45 × 1.2 = 69.6 vcpu → 18 tasks.
    expect(outcomes.find((o) => o.pool === "cpu")?.scaledNowTo).toBe(18);
    expect(
      scaler.listActions("cpu").some((a) => a.kind === "scale-now" && a.desiredAfter === 18),
    ).toBe(true);
    clock.advance(180);
    expect(scaler.capacityAt("cpu", clock.nowSeconds()).vcpu).toBe(72);
  });

  it("scales the simulated service in at once when the forecast says the load is gone for the delay", async () => {
    const { scaler, deps, config } = await setup({}, [
      storedForecast({
        pool: "cpu",
        start: T0,
        perResource: { vcpu: flat(1), memoryGiB: flat(1) },
      }),
      storedForecast({ pool: "gpu", start: T0, perResource: { gpu: flat(0) } }),
    ]);
    const cpu = {
      pool: "cpu",
      cluster: "shaper-test",
      service: "cpu-pool",
      minTasks: 2,
      maxTasks: 64,
    };
    await scaler.apply(cpu, [], 20);
    const { plans } = await planCapacity(deps, { time: NOW });
    const plan = plans.find((p) => p.pool === "cpu") as PoolPlan;
    expect(plan.scaling[0]).toMatchObject({ at: NOW, tasks: config.pools.cpu?.minTasks });
    expect((await scaler.describe(cpu)).desiredTasks).toBe(2);
  });

  it("records warm reservations as warm leases of the users in the ledger", async () => {
    const burst = [1, 1, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1];
    const { deps } = await setup({}, [
      storedForecast({
        pool: "cpu",
        start: T0,
        perResource: { vcpu: flat(20), memoryGiB: flat(20) },
      }),
      storedForecast({
        pool: "cpu",
        userId: "acme",
        tier: "premium",
        start: T0,
        perResource: { vcpu: burst, memoryGiB: burst },
      }),
    ]);
    const { plans } = await planCapacity(deps, { time: NOW });
    const cpu = plans.find((p) => p.pool === "cpu") as PoolPlan;
    expect(cpu.warmReservations.map((w) => w.userId)).toEqual(["acme"]);
    const ledger = await deps.admissions.getLedger("cpu");
    const warm = ledger.leases.filter((l) => l.kind === "warm");
    expect(warm).toHaveLength(1);
    expect(warm[0]).toMatchObject({ userId: "acme", startAt: cpu.warmReservations[0]?.from });
  });

  it("uses the policies in force over the config's tier values", async () => {
    const { deps } = await setup({ planning: { poolDemand: "highest-tier" } });
    await deps.policies.putPolicies(
      {
        version: 1,
        updatedAt: NOW,
        tiers: {
          premium: { forecastQuantile: 0.99, headroomFraction: 0 },
          standard: { forecastQuantile: 0.9, headroomFraction: 0.1 },
          free: { forecastQuantile: 0.8, headroomFraction: 0 },
        },
      },
      [],
      0,
    );
    const { plans } = await planCapacity(deps, { time: NOW });
    const cpu = plans.find((p) => p.pool === "cpu") as PoolPlan;
    // q0.99 of 8 = 8 × 1.49 = 11.92, no headroom.
    expect(cpu.intervals[0]?.demand.vcpu).toBeCloseTo(11.92, 9);
    expect(cpu.intervals[0]?.reason).toContain("q0.99 + 0 % headroom");
  });

  it("plans each tier's share of the pool at its own quantile by default (tier-share)", async () => {
    const { deps } = await setup();
    const { plans } = await planCapacity(deps, { time: NOW });
    const cpu = plans.find((p) => p.pool === "cpu") as PoolPlan;
    expect(cpu.intervals[0]?.reason).toContain("pool forecast by tier share of expected vcpu:");
  });

  it("in shadow mode records the plan and the ledger but changes no capacity", async () => {
    const { scaler, deps } = await setup({ mode: "shadow" });
    const { plans } = await planCapacity(deps, { time: NOW });
    for (const plan of plans) expect(plan.actuation?.status).toBe("shadow");
    expect(scaler.listActions()).toEqual([]);
    expect((await deps.admissions.getLedger("cpu")).version).toBe(1);
    expect(await deps.plans.getLatestPlan("gpu")).toBeDefined();
  });

  it("keeps the plan with a failed actuation and still plans the other pool when the scaler refuses", async () => {
    const { deps, scaler } = await setup();
    const refusing: CapacityScaler = {
      describe: (t) => scaler.describe(t),
      apply: async (t: ScalingTarget, steps, scaleNowTo) => {
        if (t.pool === "cpu")
          throw new DependencyError("Application Auto Scaling", "ValidationException: nope", {
            retryable: false,
          });
        return scaler.apply(t, steps, scaleNowTo);
      },
    };
    const { plans } = await planCapacity({ ...deps, scaler: refusing }, { time: NOW });
    const cpu = plans.find((p) => p.pool === "cpu");
    expect(cpu?.actuation?.status).toBe("failed");
    expect(cpu?.actuation?.detail).toContain("ValidationException: nope");
    expect(cpu?.actuation?.detail).toContain("retried next cycle");
    expect((await deps.plans.getLatestPlan("cpu"))?.actuation?.status).toBe("failed");
    expect(plans.find((p) => p.pool === "gpu")?.actuation?.status).not.toBe("failed");
    expect((await deps.admissions.getLedger("cpu")).version).toBe(1);
  });

  it("plans from zero tasks and applies nothing when the service cannot be described", async () => {
    const { deps } = await setup();
    let applied = 0;
    const missing: CapacityScaler = {
      describe: async (t) => {
        throw new NotFoundError(
          `ECS service "${t.service}" in cluster "${t.cluster}" was not found`,
        );
      },
      apply: async () => {
        applied++;
      },
    };
    const { plans } = await planCapacity({ ...deps, scaler: missing }, { time: NOW });
    expect(applied).toBe(0);
    const cpu = plans.find((p) => p.pool === "cpu") as PoolPlan;
    expect(cpu.actuation?.status).toBe("failed");
    expect(cpu.actuation?.detail).toContain(
      'ECS service "cpu-pool" in cluster "shaper-test" was not found',
    );
    expect(cpu.currentTasks).toBe(0);
    // Nothing serves until the lag has passed after the scale-up requested now.
    expect(cpu.intervals[0]?.capacity.vcpu).toBe(0);
  });

  it("reads the tier from the registry when the forecast has none, and leaves out unknown users", async () => {
    const { deps } = await setup({}, [
      storedForecast({ pool: "cpu", start: T0, perResource: { vcpu: flat(8) } }),
      storedForecast({ pool: "cpu", userId: "globex", start: T0, perResource: { vcpu: flat(2) } }),
      storedForecast({ pool: "cpu", userId: "ghost", start: T0, perResource: { vcpu: flat(2) } }),
      storedForecast({
        pool: "cpu",
        userId: "stale",
        tier: "free",
        start: T0 - 86_400,
        perResource: { vcpu: flat(2) },
      }),
    ]);
    const { outcomes } = await planCapacity(deps, { time: NOW });
    const cpu = outcomes.find((o) => o.pool === "cpu");
    expect(cpu?.usersPlanned).toBe(1);
    expect(cpu?.skippedUserCount).toBe(2);
    expect(cpu?.skippedUsers.map((s) => s.userId).sort()).toEqual(["ghost", "stale"]);
    // The only user is standard (from the registry): q0.9 + 10 %.
    expect(cpu?.plan.intervals[0]?.reason).toContain("q0.9 + 10 % headroom, tier standard");
  });

  it("falls back to the users' footprints when the pool has no forecast, and says so", async () => {
    const { deps } = await setup({}, [
      storedForecast({
        pool: "cpu",
        userId: "acme",
        tier: "premium",
        start: T0,
        perResource: { vcpu: flat(10) },
      }),
    ]);
    const { plans } = await planCapacity(deps, { time: NOW });
    const cpu = plans.find((p) => p.pool === "cpu") as PoolPlan;
    // acme at q0.95: 14.5 × 1.2 = 17.4 vcpu.
    expect(cpu.intervals[0]?.demand.vcpu).toBeCloseTo(17.4, 9);
    expect(cpu.intervals[0]?.reason).toContain("no pool forecast");
  });

  it("re-reads and retries the ledger when admission wrote it meanwhile", async () => {
    const { deps } = await setup();
    let conflicts = 1;
    const admissions = {
      getLedger: (pool: string) => deps.admissions.getLedger(pool),
      putLedger: async (...args: Parameters<InMemoryAdmissionStore["putLedger"]>) => {
        if (conflicts-- > 0) return "conflict" as const;
        return deps.admissions.putLedger(...args);
      },
    };
    await planCapacity({ ...deps, admissions }, { time: NOW });
    expect((await deps.admissions.getLedger("cpu")).version).toBe(1);
    expect((await deps.admissions.getLedger("gpu")).version).toBe(1);
  });

  it("plans the other pools, then fails naming the pool whose ledger kept conflicting", async () => {
    const { deps } = await setup();
    const admissions = {
      getLedger: (pool: string) => deps.admissions.getLedger(pool),
      putLedger: async (...args: Parameters<InMemoryAdmissionStore["putLedger"]>) =>
        args[0].pool === "cpu" ? ("conflict" as const) : deps.admissions.putLedger(...args),
    };
    const run = planCapacity({ ...deps, admissions, ledgerAttempts: 3 }, { time: NOW });
    await expect(run).rejects.toThrow(ConflictError);
    await expect(run).rejects.toThrow(/ledger of pool cpu changed under every one of 3 attempts/);
    expect((await deps.admissions.getLedger("gpu")).version).toBe(1);
    expect(await deps.plans.getLatestPlan("cpu")).toBeDefined();
  });

  it("rewrites the same plan when the run is retried with the same time", async () => {
    // Shadow mode keeps the simulated service unchanged between the two runs.
    const { deps } = await setup({ mode: "shadow" });
    const first = await planCapacity(deps, { time: NOW });
    const second = await planCapacity(deps, { time: NOW });
    expect(second.plans).toEqual(first.plans);
    expect((deps.plans as InMemoryPlanStore).history("cpu")).toHaveLength(1);
    expect((await deps.admissions.getLedger("cpu")).version).toBe(2);
  });
});

describe("committedPerInterval", () => {
  const starts = Array.from({ length: 6 }, (_, k) => T0 + k * 300);

  /** The definition, lease by lease and interval by interval. */
  function reference(leases: readonly Lease[]): Amounts[] {
    return starts.map((start) => {
      const out: Amounts = {};
      for (const lease of leases) {
        if (lease.kind !== "request" || lease.startAt >= start + 300 || lease.endAt <= start) {
          continue;
        }
        for (const r of RESOURCES) {
          const v = lease.amounts[r];
          if (v !== undefined) out[r] = (out[r] ?? 0) + v;
        }
      }
      return out;
    });
  }

  it("sums, per interval, the request leases overlapping it (warm reservations do not count)", () => {
    const lease = fc.record({
      kind: fc.constantFrom("request", "warm"),
      startAt: fc.integer({ min: T0 - 600, max: T0 + 2_100 }),
      length: fc.integer({ min: 1, max: 2_400 }),
      amounts: fc.record(
        { vcpu: fc.integer({ min: 0, max: 64 }), gpu: fc.integer({ min: 0, max: 8 }) },
        { requiredKeys: [] },
      ),
    });
    fc.assert(
      fc.property(fc.array(lease, { maxLength: 30 }), (drawn) => {
        const leases = drawn.map(
          (l, i): Lease => ({
            leaseId: `l${i}`,
            userId: "u",
            kind: l.kind as Lease["kind"],
            amounts: l.amounts,
            startAt: l.startAt,
            endAt: l.startAt + l.length,
          }),
        );
        expect(committedPerInterval(leases, starts, 300)).toEqual(reference(leases));
      }),
      { numRuns: 300 },
    );
  });
});
