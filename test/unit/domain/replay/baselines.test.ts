import { describe, expect, it } from "vitest";
import {
  meanTasks,
  runOracle,
  runPatent,
  runQuota,
  runReactive,
} from "../../../../layers/domain/replay/baselines.js";
import type { RequestFate } from "../../../../layers/domain/replay/policy-run.js";
import type { ReplayRequest, ReplayTrace } from "../../../../layers/domain/replay/replay-trace.js";
import { scoredFromOf, scoreRun } from "../../../../layers/domain/replay/score.js";

const START = 1_736_121_600;

function request(
  id: string,
  arrival: number,
  vcpu: number,
  durationSeconds: number,
  extra: Partial<ReplayRequest> = {},
): ReplayRequest {
  return {
    requestId: id,
    userId: "u1",
    tier: "standard",
    pool: "cpu",
    amounts: { vcpu },
    arrival: START + arrival,
    durationSeconds,
    criticality: "normal",
    maxDelaySeconds: 600,
    acceptAlternatives: true,
    ...extra,
  };
}

function trace(requests: ReplayRequest[], initialVcpu = 7, spanSeconds = 3_600): ReplayTrace {
  return {
    format: "test",
    start: START,
    end: START + spanSeconds,
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
      { userId: "u2", tier: "premium" },
    ],
    requests: [...requests].sort((a, b) => a.arrival - b.arrival),
    initialLoad: [
      {
        id: "i1",
        userId: "u1",
        tier: "standard",
        pool: "cpu",
        amounts: { vcpu: initialVcpu },
        endAt: START + spanSeconds,
      },
    ],
    mapping: [],
  };
}

describe("reactive", () => {
  it("starts at 70 % utilisation, denies what does not fit, and scales out only after the lag", () => {
    // 7 vCPU held → 1 task (10 vCPU). A 5 vCPU ask does not fit; after it the pool scales to
    // ceil(7 / 7) = 1 … a 2 vCPU ask fits (9 ≤ 10), then 1.5 more does not (10.5 > 10).
    const t = trace([
      request("a", 10, 5, 600),
      request("b", 20, 2, 600),
      request("c", 90, 1.5, 600),
      request("d", 200, 1, 600),
    ]);
    const run = runReactive(t);
    expect(run.fates.map((f) => f.kind)).toEqual(["denied", "now", "denied", "now"]);
    // At the 60 s tick 9 vCPU are held → 2 tasks wanted; they serve from 60 + 120 = 180 s.
    expect(run.capacity.cpu?.times.slice(0, 2)).toEqual([START, START + 180]);
    expect(run.capacity.cpu?.tasks.slice(0, 2)).toEqual([1, 2]);
  });

  it("scales in only after five minutes below target", () => {
    const t = trace([request("a", 10, 2, 60)], 5, 1_800);
    const run = runReactive(t);
    const curve = run.capacity.cpu;
    // 7 held at 60 s? No: the 2 vCPU ask ends at 70 s; 5 held needs 1 task all along.
    expect(curve?.tasks).toEqual([1]);
    // 4 vCPU over [10, 310) → 9 held → 2 tasks asked at the 60 s tick (ready at 180 s); back to
    // 5 held at 310 s → 1 task wanted, below target from the 360 s tick, scaled in at 660 s.
    const busy = runReactive(trace([request("a", 10, 4, 300)], 5, 1_800));
    expect(busy.capacity.cpu?.times).toEqual([START, START + 180, START + 660]);
    expect(busy.capacity.cpu?.tasks).toEqual([1, 2, 1]);
    expect(busy.scalingActions.cpu).toBe(2);
  });
});

describe("reactive from zero", () => {
  it("counts denied asks as load, so an empty pool scales out to what users asked for", () => {
    const t = {
      ...trace([request("a", 10, 5, 600), request("b", 400, 5, 600)], 0),
      initialLoad: [],
    };
    const run = runReactive(t);
    // No task at the start: a is denied; the 60 s tick sees 5 vCPU asked → 1 task, ready at 180 s.
    expect(run.fates.map((f) => f.kind)).toEqual(["denied", "now"]);
    expect(run.capacity.cpu?.times.slice(0, 2)).toEqual([START, START + 180]);
    expect(run.capacity.cpu?.tasks.slice(0, 2)).toEqual([0, 1]);
  });
});

describe("patent", () => {
  it("denies below 5 % availability even when the request fits", () => {
    // 1 task of 10 vCPU; 6.9 + 2.7 held → 4 % available: a 0.1 vCPU ask fits but is denied.
    const t = trace([request("fill", 5, 2.7, 600), request("a", 6, 0.1, 60)], 6.9);
    expect(runPatent(t).fates.map((f) => f.kind)).toEqual(["now", "denied"]);
    expect(runReactive(t).fates.map((f) => f.kind)).toEqual(["now", "now"]);
  });

  it("grants at or above 20 % availability", () => {
    const run = runPatent(trace([request("a", 5, 1, 60)], 7));
    expect(run.fates[0]?.kind).toBe("now");
  });
});

describe("quota", () => {
  it("holds each user to the tier-weight share of the static capacity", () => {
    const t = trace([
      request("premium-fits", 5, 2, 600, { userId: "u2", tier: "premium" }),
      request("standard-over", 6, 1, 600),
    ]);
    const reactive = runReactive(t);
    const run = runQuota(t, reactive, { premium: 4, standard: 2 });
    // One task (10 vCPU): u2 may hold 10 × 4/6 = 6.67, u1 10 × 2/6 = 3.33 and already holds 7.
    expect(run.fates.map((f) => f.kind)).toEqual(["now", "denied"]);
    expect(meanTasks(run.capacity.cpu ?? { times: [], tasks: [] }, t.start, t.end)).toBe(
      Math.ceil(meanTasks(reactive.capacity.cpu ?? { times: [], tasks: [] }, t.start, t.end)),
    );
  });
});

describe("oracle", () => {
  it("grants everything with exactly the whole tasks the demand needs", () => {
    const t = trace([request("a", 100, 5, 600), request("b", 200, 20, 100)]);
    const run = runOracle(t);
    expect(run.fates.every((f) => f.kind === "now")).toBe(true);
    // 7 → 12 (2 tasks) at 100 s → 32 (4 tasks) at 200 s → 12 (2 tasks) at 300 s → 7 (1) at
    // 700 s → nothing when the initial load ends with the trace.
    expect(run.capacity.cpu?.times).toEqual([
      START,
      START + 100,
      START + 200,
      START + 300,
      START + 700,
      START + 3_600,
    ]);
    expect(run.capacity.cpu?.tasks).toEqual([1, 2, 4, 2, 1, 0]);
  });
});

describe("scoreRun", () => {
  it("scores only after the warm-up and integrates capacity over the scored span", () => {
    const t = trace([
      request("warm", 100, 1, 60),
      request("late-critical", 2_000, 50, 60, { criticality: "critical", maxDelaySeconds: 0 }),
      request("late", 2_100, 1, 60),
    ]);
    const run = runOracle(t);
    const score = scoreRun(t, run);
    expect(scoredFromOf(t)).toBe(START + 720);
    expect(score.requests).toBe(2);
    expect(score.grantedNow).toBe(2);
    expect(score.criticalGrantedNowRate).toBe(1);
    expect(score.guaranteeViolations).toBe(0);
    // 1 task all along except 6 tasks over [2000, 2060): (2880 − 60) × 1 + 60 × 6 task-seconds.
    expect(score.capacityHours).toBeCloseTo(((2_820 + 360) * 10) / 3600, 9);
    expect(score.cost).toBeCloseTo((2_820 + 360) / 3600, 9);
    const reactive = scoreRun(t, runReactive(t));
    expect(reactive.denied).toBe(1);
    expect(reactive.guaranteeViolations).toBe(1);
    expect(reactive.byTier.standard?.denied).toBe(1);
    expect(reactive.fairness).toBeCloseTo(0.5 ** 2 / (1 * 0.25), 9);
  });

  it("groups denials by reason with numbers blanked, most frequent first, critical counted apart", () => {
    const t = trace([
      request("a", 1_000, 1, 60, { criticality: "critical", maxDelaySeconds: 0 }),
      request("b", 1_100, 1, 60),
      request("c", 1_200, 1, 60),
      request("d", 1_300, 1, 60),
      request("warm", 100, 1, 60),
    ]);
    const index = (id: string) => t.requests.findIndex((r) => r.requestId === id);
    const fates: RequestFate[] = t.requests.map(() => ({ kind: "now" }));
    fates[index("a")] = { kind: "denied", reason: "reject: pool cpu has 2.5 vCPU free" };
    fates[index("b")] = { kind: "denied", reason: "started 650 s late" };
    fates[index("c")] = { kind: "denied", reason: "reject: pool cpu has 1,024 vCPU free" };
    fates[index("warm")] = { kind: "denied", reason: "warm-up denial is not scored" };
    const score = scoreRun(t, {
      name: "shaper",
      fates,
      capacity: {},
      scalingActions: {},
      wallSeconds: 0,
    });
    expect(score.denied).toBe(3);
    expect(score.deniedReasons).toEqual([
      {
        kind: "reject: pool cpu has # vCPU free",
        count: 2,
        critical: 1,
        example: "reject: pool cpu has 2.5 vCPU free",
      },
      { kind: "started # s late", count: 1, critical: 0, example: "started 650 s late" },
    ]);
  });
});
