import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPlanStore } from "../../../layers/adapters/local/in-memory-plan-store.js";
import { InMemoryPolicyStore } from "../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { SimulatedEcsCluster } from "../../../layers/adapters/local/simulated-ecs-cluster.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import { DependencyError } from "../../../layers/domain/errors.js";
import type { CapacityScaler } from "../../../layers/ports/capacity-scaler.js";
import { type PlanCapacityDeps, planCapacity } from "../../../layers/use-cases/plan-capacity.js";
import { testConfig } from "../../fixtures/config.js";
import { storedForecast, T0 } from "../../fixtures/plan-inputs.js";

/**
 * Application Auto Scaling and ECS failing for a whole cycle (throttled, unreachable): the plan
 * is kept and says its actuation failed, the run goes on, and the next cycle — with the services
 * answering again — actuates the plan it makes then. Nothing is lost between the two.
 */

const H = 12;
/** Demand that needs more than the minimum tasks at once: 60 vcpu = 15 tasks of 4 vcpu. */
const high = Array.from({ length: H }, () => 60);

async function world() {
  const config = testConfig();
  const clock = new ManualClock(T0 + 30);
  const forecasts = new InMemoryForecastStore();
  await forecasts.putForecasts([
    storedForecast({
      pool: "cpu",
      start: T0,
      perResource: { vcpu: high, memoryGiB: high.map((v) => v * 2) },
    }),
  ]);
  const cluster = new SimulatedEcsCluster(clock, config.pools);
  let outage = true;
  const calls = { apply: 0 };
  /** The cluster behind an Application Auto Scaling that throttles every change while `outage` lasts. */
  const scaler: CapacityScaler = {
    describe: (target) => cluster.describe(target),
    apply: async (target, steps, scaleNowTo) => {
      calls.apply++;
      if (outage) {
        throw new DependencyError(
          "Application Auto Scaling",
          "ThrottlingException: Rate exceeded",
          { retryable: true },
        );
      }
      return cluster.apply(target, steps, scaleNowTo);
    },
  };
  const deps: PlanCapacityDeps = {
    config: new StaticConfigSource(config),
    policies: new InMemoryPolicyStore(),
    forecasts,
    users: new InMemoryUserRegistry(config.users),
    scaler,
    plans: new InMemoryPlanStore(),
    admissions: new InMemoryAdmissionStore(),
  };
  return {
    config,
    clock,
    cluster,
    deps,
    calls,
    restore: () => {
      outage = false;
    },
  };
}

describe("Application Auto Scaling / ECS errors (faults)", () => {
  it("keeps every plan with its actuation failed while AWS throttles, and actuates on the next cycle", async () => {
    const { config, clock, cluster, deps, calls, restore } = await world();
    const cpu = config.pools.cpu;
    if (!cpu) throw new Error("the fixture has a cpu pool");
    const target = {
      pool: "cpu",
      cluster: cpu.ecs.cluster,
      service: cpu.ecs.service,
      minTasks: cpu.minTasks,
      maxTasks: cpu.maxTasks,
    };
    const desiredBefore = (await cluster.describe(target)).desiredTasks;

    // The run does not throw: every pool is planned and stored, failures recorded on the plans.
    const first = await planCapacity(deps, { time: clock.nowSeconds() });
    expect(first.plans.map((p) => p.pool).sort()).toEqual(["cpu", "gpu"]);
    for (const plan of first.plans) {
      expect(plan.actuation?.status).toBe("failed");
      expect(plan.actuation?.detail).toMatch(/ThrottlingException/);
      expect((await deps.plans.getLatestPlan(plan.pool))?.actuation?.status).toBe("failed");
    }
    // The plan still reaches admission: the ledger carries its capacity.
    expect((await deps.admissions.getLedger("cpu")).capacity.length).toBeGreaterThan(0);
    expect((await cluster.describe(target)).desiredTasks).toBe(desiredBefore);
    expect(calls.apply).toBe(2);

    restore();
    clock.advance(config.intervalSeconds);
    const second = await planCapacity(deps, { time: clock.nowSeconds() });
    const cpuPlan = second.plans.find((p) => p.pool === "cpu");
    expect(cpuPlan?.actuation?.status).toBe("applied");
    expect((await deps.plans.getLatestPlan("cpu"))?.actuation?.status).toBe("applied");
    expect((await cluster.describe(target)).desiredTasks).toBeGreaterThan(desiredBefore);
  });
});
