import { describe, expect, it } from "vitest";
import type { ReplayTrace } from "../../../../layers/domain/replay/replay-trace.js";
import { TraceUsageSource } from "../../../../local/replay/trace-usage-source.js";

const START = 1_736_121_600;
const STEP = 300;

function trace(): ReplayTrace {
  const base = {
    tier: "standard",
    pool: "cpu",
    criticality: "normal" as const,
    maxDelaySeconds: 600,
    acceptAlternatives: true,
  };
  return {
    format: "test",
    start: START,
    end: START + 3_600,
    pools: {
      cpu: {
        perTask: { vcpu: 10 },
        provisioningLagSeconds: 120,
        costPerTaskHour: 1,
        minTasks: 0,
        maxTasks: 100,
        alternatives: [],
      },
    },
    users: [
      { userId: "u1", tier: "standard" },
      { userId: "u2", tier: "standard" },
    ],
    requests: [
      {
        ...base,
        requestId: "a",
        userId: "u1",
        amounts: { vcpu: 4 },
        arrival: START + 300,
        durationSeconds: 900,
      },
      {
        ...base,
        requestId: "b",
        userId: "u2",
        amounts: { vcpu: 6 },
        arrival: START + 600,
        durationSeconds: 600,
      },
    ],
    initialLoad: [
      {
        id: "i",
        userId: "u2",
        tier: "standard",
        pool: "cpu",
        amounts: { vcpu: 2 },
        endAt: START + 900,
      },
    ],
    mapping: [],
  };
}

describe("TraceUsageSource", () => {
  it("sums every tenant into the pool's total, interval by interval", () => {
    const t = trace();
    const source = new TraceUsageSource(t, STEP, () => null);
    const totals = [0, 1, 2, 3, 4, 5].map((i) => source.poolUsageAt("cpu", START + i * STEP).vcpu);
    // u2's initial 2 until 900 s; u1's 4 over [300, 1200); u2's 6 over [600, 1200).
    expect(totals).toEqual([2, 6, 12, 10, 0, 0]);
    expect(source.usageAt("u1", "cpu", START + 600).vcpu).toBe(4);
    expect(source.usageAt("u2", "cpu", START + 600).vcpu).toBe(8);
  });

  it("reports pool utilisation from the running tasks against that total", async () => {
    const t = trace();
    const tasks = 2; // 20 vCPU
    const source: TraceUsageSource = new TraceUsageSource(
      t,
      STEP,
      (pool, at) => (100 * (source.poolUsageAt(pool, at).vcpu ?? 0)) / (tasks * 10),
    );
    const load = await source.readPoolLoad(["cpu"], {
      start: START,
      end: START + 4 * STEP,
      intervalSeconds: STEP,
    });
    expect(load.map((r) => r.cpuUtilizationPercent)).toEqual([10, 30, 60, 50]);
  });
});
