import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { SimulatedEcsCluster } from "../../../layers/adapters/local/simulated-ecs-cluster.js";
import { NotFoundError } from "../../../layers/domain/errors.js";
import type { ScalingTarget } from "../../../layers/ports/capacity-scaler.js";
import { testConfig } from "../../fixtures/config.js";

const T0 = 1_795_812_600;
const config = testConfig();
// cpu pool: 4 vcpu / 16 GiB per task, min 2, max 64, lag 180 s.
const cpu: ScalingTarget = {
  pool: "cpu",
  cluster: "shaper-test",
  service: "cpu-pool",
  minTasks: 2,
  maxTasks: 64,
};

function setup(initialTasks?: Record<string, number>) {
  const clock = new ManualClock(T0);
  const cluster = new SimulatedEcsCluster(
    clock,
    config.pools,
    initialTasks ? { initialTasks } : {},
  );
  return { clock, cluster };
}

describe("SimulatedEcsCluster", () => {
  it("starts each pool with its minimum tasks serving", async () => {
    const { cluster } = setup();
    expect(await cluster.describe(cpu)).toEqual({
      desiredTasks: 2,
      runningTasks: 2,
      pendingTasks: 0,
    });
    expect(cluster.capacityAt("cpu", T0)).toEqual({ vcpu: 8, memoryGiB: 32 });
  });

  it("serves tasks asked for now only after the provisioning lag", async () => {
    const { clock, cluster } = setup();
    await cluster.apply(cpu, [], 6);
    expect(await cluster.describe(cpu)).toEqual({
      desiredTasks: 6,
      runningTasks: 2,
      pendingTasks: 4,
    });
    clock.advance(179);
    expect((await cluster.describe(cpu)).runningTasks).toBe(2);
    clock.advance(1);
    expect(await cluster.describe(cpu)).toEqual({
      desiredTasks: 6,
      runningTasks: 6,
      pendingTasks: 0,
    });
    expect(cluster.capacityAt("cpu", T0 + 180).vcpu).toBe(24);
  });

  it("fires scheduled steps when the clock passes them, with the lag counted from the step", async () => {
    const { clock, cluster } = setup();
    await cluster.apply(cpu, [{ at: T0 + 120, tasks: 10, reason: "burst at 20:55" }], undefined);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(2);
    clock.advance(600);
    // Fired at T0 + 120, serving from T0 + 300, even though nobody looked until T0 + 600.
    expect(cluster.tasksAt("cpu", T0 + 299)).toMatchObject({ runningTasks: 2, pendingTasks: 8 });
    expect(cluster.tasksAt("cpu", T0 + 300)).toMatchObject({ runningTasks: 10, pendingTasks: 0 });
    const fired = cluster.listActions("cpu").filter((a) => a.kind === "fired");
    expect(fired).toEqual([
      expect.objectContaining({ at: T0 + 120, tasks: 10, desiredBefore: 2, desiredAfter: 10 }),
    ]);
  });

  it("scales in at once, stopping pending tasks before running ones", async () => {
    const { clock, cluster } = setup({ cpu: 8 });
    await cluster.apply(
      cpu,
      [
        { at: T0 + 60, tasks: 12, reason: "up" },
        { at: T0 + 120, tasks: 6, reason: "down" },
      ],
      undefined,
    );
    clock.advance(120);
    // At T0 + 120: the 4 pending tasks from the scale-up stop, then 2 of the 8 running.
    expect(await cluster.describe(cpu)).toEqual({
      desiredTasks: 6,
      runningTasks: 6,
      pendingTasks: 0,
    });
    expect(cluster.tasksAt("cpu", T0 + 90)).toEqual({
      desiredTasks: 12,
      runningTasks: 8,
      pendingTasks: 4,
    });
  });

  it("replaces scheduled steps on every apply and records the cancelled ones", async () => {
    const { clock, cluster } = setup();
    await cluster.apply(cpu, [{ at: T0 + 300, tasks: 20, reason: "old plan" }], undefined);
    await cluster.apply(cpu, [{ at: T0 + 300, tasks: 5, reason: "new plan" }], undefined);
    clock.advance(600);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(5);
    const kinds = cluster.listActions("cpu").map((a) => a.kind);
    expect(kinds).toEqual([
      "registered",
      "scheduled",
      "registered",
      "cancelled",
      "scheduled",
      "fired",
    ]);
  });

  it("fires steps that are already due when they arrive", async () => {
    const { cluster } = setup();
    await cluster.apply(cpu, [{ at: T0 - 30, tasks: 7, reason: "late" }], undefined);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(7);
  });

  it("scales in at once with a step that is already due, and ignores one that changes nothing", async () => {
    const { cluster } = setup({ cpu: 8 });
    await cluster.apply(cpu, [{ at: T0, tasks: 3, reason: "load gone" }], undefined);
    expect(await cluster.describe(cpu)).toEqual({
      desiredTasks: 3,
      runningTasks: 3,
      pendingTasks: 0,
    });
    await cluster.apply(cpu, [{ at: T0, tasks: 3, reason: "same again" }], undefined);
    expect(cluster.listActions("cpu").filter((a) => a.kind === "fired")).toHaveLength(1);
  });

  it("never scales below the registered minimum nor above the maximum", async () => {
    const { clock, cluster } = setup();
    await cluster.apply(
      { ...cpu, minTasks: 3, maxTasks: 8 },
      [{ at: T0 + 10, tasks: 50, reason: "too many" }],
      100,
    );
    expect((await cluster.describe(cpu)).desiredTasks).toBe(8);
    clock.advance(20);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(8);
    await cluster.apply(
      { ...cpu, minTasks: 3, maxTasks: 8 },
      [{ at: T0 + 30, tasks: 0, reason: "none" }],
      undefined,
    );
    clock.advance(20);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(3);
  });

  it("projects future capacity from the scheduled steps without changing the present", async () => {
    const { cluster } = setup();
    await cluster.apply(cpu, [{ at: T0 + 100, tasks: 4, reason: "up" }], undefined);
    expect(cluster.capacityAt("cpu", T0 + 280).vcpu).toBe(16);
    expect(cluster.capacityAt("cpu", T0 + 279).vcpu).toBe(8);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(2);
    expect(cluster.listActions("cpu").some((a) => a.kind === "fired")).toBe(false);
  });

  it("does not raise the desired count when scaleNowTo is not above it", async () => {
    const { cluster } = setup({ cpu: 6 });
    await cluster.apply(cpu, [], 4);
    expect((await cluster.describe(cpu)).desiredTasks).toBe(6);
    expect(cluster.listActions("cpu").some((a) => a.kind === "scale-now")).toBe(false);
  });

  it("answers an unknown pool with NotFoundError naming it", async () => {
    const { cluster } = setup();
    await expect(cluster.describe({ ...cpu, pool: "tpu" })).rejects.toThrow(NotFoundError);
    expect(() => cluster.capacityAt("tpu", T0)).toThrow(
      /Pool "tpu" is not part of the simulated ECS cluster/,
    );
  });
});
