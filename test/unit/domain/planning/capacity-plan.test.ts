import { describe, expect, it } from "vitest";
import { applyPlanToLedger, emptyLedger } from "../../../../layers/domain/admission/ledger.js";
import { drfFraction } from "../../../../layers/domain/allocation/fair-share.js";
import { ValidationError } from "../../../../layers/domain/errors.js";
import {
  footprintFromForecast,
  planIntervalStarts,
  planPool,
} from "../../../../layers/domain/planning/capacity-plan.js";
import {
  cpuPool,
  flat,
  INTERVAL,
  planInput,
  poolForecast,
  T0,
  user,
} from "../../../fixtures/plan-inputs.js";

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);

describe("planPool demand", () => {
  it("with highest-tier, provisions the pool forecast at the highest quantile of the tiers with users, plus that tier's headroom", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(30)),
        users: [user("a", flat(1), { tier: "premium" }), user("b", flat(1), { tier: "free" })],
        poolDemand: "highest-tier",
      }),
    );
    // premium: q0.95 = 30, + 20 % headroom = 36 vcpu → 9 tasks of 4.
    expect(plan.intervals[0]?.demand.vcpu).toBeCloseTo(36, 9);
    expect(plan.intervals[0]?.targetTasks).toBe(9);
    expect(plan.intervals[0]?.reason).toContain(
      "pool forecast q0.95 + 20 % headroom, tier premium",
    );
  });

  it("gives each tier its share of expected use at its own quantile and headroom (tier-share, the default)", () => {
    const users = [
      user("a", flat(1), { tier: "premium", expected: { vcpu: flat(6) } }),
      user("b", flat(1), { tier: "standard", expected: { vcpu: flat(2) } }),
    ];
    const input = planInput({ poolForecast: poolForecast(flat(30)), users });
    const shared = planPool(input);
    // premium 75 % of q0.95 = 30 × 1.2, standard 25 % of q0.9 = 27 × 1.1: 27 + 7.425.
    expect(shared.intervals[0]?.demand.vcpu).toBeCloseTo(34.425, 9);
    expect(shared.intervals[0]?.reason).toContain(
      "pool forecast by tier share of expected vcpu: premium 75 % at q0.95 + 20 %, standard 25 % at q0.9 + 10 % headroom",
    );
    // highest-tier provisions all of it at premium's: 36.
    const highest = planPool({ ...input, poolDemand: "highest-tier" });
    expect(highest.intervals[0]?.demand.vcpu).toBeCloseTo(36, 9);
    // Users expecting nothing give no shares: the highest tier's again.
    const idle = users.map((u) => ({ ...u, expected: { vcpu: flat(0) } }));
    const quiet = planPool({ ...input, users: idle });
    expect(quiet.intervals[0]?.demand.vcpu).toBeCloseTo(36, 9);
    expect(quiet.intervals[0]?.reason).toContain("q0.95 + 20 % headroom, tier premium");
  });

  it("ignores the quantiles of tiers that have no users in the pool", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(30)),
        users: [user("b", flat(1), { tier: "standard" })],
      }),
    );
    // standard: q0.9 = 27, + 10 % = 29.7.
    expect(plan.intervals[0]?.demand.vcpu).toBeCloseTo(29.7, 9);
    expect(plan.intervals[0]?.reason).toContain("q0.9 + 10 % headroom, tier standard");
  });

  it("falls back to the sum of the users' footprints with their tiers' headroom when there is no pool forecast, and says so", () => {
    const plan = planPool(
      planInput({
        users: [user("a", flat(10), { tier: "premium" }), user("b", flat(5), { tier: "free" })],
      }),
    );
    // 10 × 1.2 + 5 × 1.0 = 17 vcpu → 5 tasks.
    expect(plan.intervals[0]?.demand.vcpu).toBeCloseTo(17, 9);
    expect(plan.intervals[0]?.targetTasks).toBe(5);
    expect(plan.intervals[0]?.reason).toContain("sum of 2 user footprints");
    expect(plan.intervals[0]?.reason).toContain("no pool forecast");
  });

  it("uses the next higher stored quantile when the planning quantile is missing, and notes it", () => {
    const forecast = poolForecast(flat(30));
    const plan = planPool(
      planInput({
        poolForecast: forecast,
        users: [user("a", flat(1), { tier: "x" })],
        tiers: { x: { forecastQuantile: 0.92, headroomFraction: 0 } },
      }),
    );
    expect(plan.intervals[0]?.demand.vcpu).toBeCloseTo(30, 9);
    expect(plan.intervals[0]?.reason).toContain("q0.92 not in the pool forecast, used q0.95");
  });

  it("never plans below what admitted requests hold, whatever the forecast says", () => {
    const committed = Array.from({ length: 12 }, (_, k) => ({ vcpu: k < 3 ? 50 : 0 }));
    const inputs = {
      poolForecast: poolForecast(flat(2)),
      users: [user("a", flat(1), { tier: "free" })],
    };
    const plan = planPool(planInput({ ...inputs, committed }));
    const forecastOnly = planPool(planInput(inputs));
    // 50 vCPU held over the first three intervals → 13 tasks of 4 there; the forecast after.
    expect(plan.intervals.slice(0, 3).map((i) => i.demand.vcpu)).toEqual([50, 50, 50]);
    expect(plan.intervals[0]?.targetTasks).toBe(13);
    expect(plan.intervals[3]?.demand.vcpu).toBe(forecastOnly.intervals[3]?.demand.vcpu);
    expect(forecastOnly.intervals[0]?.demand.vcpu).toBeLessThan(50);
    expect(plan.intervals[0]?.reason).toContain("raised to what admitted requests hold");
  });

  it("keeps room for the largest recent critical request on top of what admitted requests hold", () => {
    const committed = Array.from({ length: 12 }, (_, k) => ({ vcpu: k < 2 ? 30 : 0 }));
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(2)),
        users: [
          user("ls", flat(1), { tier: "premium", criticalPeak: { vcpu: 12.5 } }),
          user("be", flat(1), { tier: "free", criticalPeak: { vcpu: 20 }, cap: { vcpu: 6 } }),
        ],
        committed,
      }),
    );
    // 30 held + 12.5 × 1.2 (ls, premium headroom 20 %; be's 20 counts only up to its cap of 6)
    // → 45 vcpu, 12 tasks of 4.
    expect(plan.intervals.slice(0, 2).map((i) => i.demand.vcpu)).toEqual([45, 45]);
    expect(plan.intervals[0]?.targetTasks).toBe(12);
    // Nothing held later: the room alone, even where the forecast (2 × 1.2 = 2.4) plans less.
    expect(plan.intervals[5]?.demand.vcpu).toBe(15);
    expect(plan.intervals[0]?.reason).toContain(
      "room for a critical burst of 15 (the largest ls sent recently, 12.5, + its tier's 20 % headroom, within its cap)",
    );
    // The same room is what admission keeps from work that is not critical.
    expect(plan.criticalReserve).toEqual({ vcpu: 15 });
  });

  it("grows a critical burst by its tier's headroom only up to the user's cap", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(2)),
        users: [
          user("ls", flat(1), { tier: "premium", criticalPeak: { vcpu: 10 }, cap: { vcpu: 11 } }),
        ],
      }),
    );
    // 10 × 1.2 = 12, held to the cap of 11.
    expect(plan.intervals[0]?.demand.vcpu).toBe(11);
  });

  it("adds no critical room when no user sent a critical request, and never lowers the forecast", () => {
    const inputs = {
      poolForecast: poolForecast(flat(30)),
      users: [user("a", flat(1), { tier: "premium" })],
    };
    const without = planPool(planInput(inputs));
    const withSmallPeak = planPool(
      planInput({
        ...inputs,
        users: [user("a", flat(1), { tier: "premium", criticalPeak: { vcpu: 4 } })],
      }),
    );
    expect(without.intervals.map((i) => i.demand.vcpu)).toEqual(
      withSmallPeak.intervals.map((i) => i.demand.vcpu),
    );
    expect(without.intervals[0]?.demand.vcpu).toBeCloseTo(36, 9);
    expect(without.criticalReserve).toBeUndefined();
    expect(withSmallPeak.intervals[0]?.reason).not.toContain("critical request");
  });

  it("never plans below the guaranteed minimums the forecast says will be drawn", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(2)),
        users: [
          user("a", flat(10), { tier: "free", guaranteedMinimum: { vcpu: 8 } }),
          user("b", flat(3), { tier: "free", guaranteedMinimum: { vcpu: 8 } }),
        ],
      }),
    );
    // Drawn: min(8, 10) + min(8, 3) = 11 > forecast 2 (q0.8 → uses q0.9 = 1.8).
    expect(plan.intervals[0]?.guaranteed.vcpu).toBe(11);
    expect(plan.intervals[0]?.demand.vcpu).toBe(11);
    expect(plan.intervals[0]?.targetTasks).toBe(3);
    expect(plan.intervals[0]?.reason).toContain("raised to the guaranteed minimums");
  });

  it("repeats the forecast's last value beyond its horizon and says so", () => {
    const plan = planPool(planInput({ poolForecast: poolForecast([4, 4, 40]), horizon: 5 }));
    expect(plan.intervals.map((i) => i.targetTasks)).toEqual([2, 2, 12, 12, 12]);
    expect(plan.intervals[0]?.reason).toContain(
      "the last 2 interval(s) lie beyond the pool forecast",
    );
  });
});

describe("planPool targets", () => {
  it("holds minTasks when demand is lower", () => {
    const plan = planPool(
      planInput({ config: cpuPool({ minTasks: 3 }), poolForecast: poolForecast(flat(0)) }),
    );
    expect(plan.intervals.every((i) => i.targetTasks === 3)).toBe(true);
    expect(plan.intervals[0]?.reason).toContain("held at minTasks 3");
  });

  it("stops at maxTasks and names the unmet demand", () => {
    const plan = planPool(
      planInput({
        config: cpuPool({ maxTasks: 5 }),
        poolForecast: poolForecast(flat(25)),
        users: [user("a", flat(1), { tier: "free" })],
      }),
    );
    // q0.9 of 25 = 22.5 vcpu needs 6 tasks; 5 give 20.
    expect(plan.intervals[0]?.targetTasks).toBe(5);
    expect(plan.intervals[0]?.reason).toContain("maxTasks 5 binds: 2.5 vcpu of demand unmet");
  });

  it("does not add a task for float noise in an exact fit", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(0.1 + 0.2)),
        users: [user("a", flat(0), { tier: "x" })],
        tiers: { x: { forecastQuantile: 0.95, headroomFraction: 39 } },
      }),
    );
    // (0.1 + 0.2) × 40 = 12.000000000000002 → 3 tasks, not 4.
    expect(plan.intervals[0]?.targetTasks).toBe(3);
  });

  it("adds up cost as tasks × price × hours", () => {
    const plan = planPool(planInput({ poolForecast: poolForecast(flat(16)), horizon: 6 }));
    // No users: highest tier quantile overall (premium q0.95 + 20 %) = 19.2 → 5 tasks × 6 × 5 min.
    expect(plan.intervals[0]?.targetTasks).toBe(5);
    expect(plan.costUsd).toBeCloseTo(5 * 6 * 0.2 * (INTERVAL / 3600), 12);
  });
});

describe("planPool scaling steps", () => {
  const rising = [4, 4, 4, 40, 40, 40]; // premium-free plan: no users → q0.95 + 20 %
  it("requests a scale-up exactly one provisioning lag before the interval that needs it", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(rising),
        capacity: { desiredTasks: 2, runningTasks: 2, pendingTasks: 0 },
      }),
    );
    const t3 = T0 + 3 * INTERVAL;
    expect(plan.intervals[3]?.targetTasks).toBe(12);
    const up = plan.scaling.find((s) => s.tasks === 12);
    expect(up?.at).toBe(t3 - 180);
    expect(up?.reason).toContain(`scale up 2 → 12 tasks at ${clock(t3 - 180)}`);
    expect(plan.intervals[3]?.reason).toContain(
      `scale-up requested at ${clock(t3 - 180)} to be ready by ${clock(t3)} (lag 180 s)`,
    );
  });

  it("collapses steps that are already due into one step now", () => {
    // Lag 20 min: the scale-ups for intervals 1–3 are all due before now + 1 min.
    const now = T0 + 60;
    const plan = planPool(
      planInput({
        now,
        config: cpuPool({ provisioningLagSeconds: 1200 }),
        poolForecast: poolForecast([4, 8, 12, 40, 40, 40]),
        capacity: { desiredTasks: 1, runningTasks: 1, pendingTasks: 0 },
      }),
    );
    const first = plan.scaling[0];
    expect(first?.at).toBe(now);
    // Requested now: the largest target whose window [start − lag, end) holds now: interval 3's.
    expect(first?.tasks).toBe(12);
    expect(first?.reason).toContain("now");
    expect(plan.scaling.every((s) => s.at >= now)).toBe(true);
    expect(plan.scaling.filter((s) => s.at === now)).toHaveLength(1);
  });

  it("plans capacity with the running and pending tasks until a scale-up requested now arrives", () => {
    const now = T0 + 240; // 20:54, lag 180 s → new tasks serve from 20:57
    const plan = planPool(
      planInput({
        now,
        poolForecast: poolForecast([4, 40, 40, 40, 40, 40]),
        capacity: { desiredTasks: 3, runningTasks: 2, pendingTasks: 1 },
      }),
    );
    // Interval 1 starts 20:55 < 20:57: only 3 tasks (2 running + 1 pending) serve at its start.
    expect(plan.intervals[1]?.targetTasks).toBe(12);
    expect(plan.intervals[1]?.capacity.vcpu).toBe(12);
    expect(plan.intervals[1]?.reason).toContain("only the 3 running or pending tasks serve");
    // Interval 2 (21:00) is after the lag: full capacity.
    expect(plan.intervals[2]?.capacity.vcpu).toBe(48);
    expect(plan.scaling[0]).toMatchObject({ at: now, tasks: 12 });
  });

  it("does not scale in for a dip shorter than the scale-in delay", () => {
    // Raw targets 12, 2, 2, 12, 12, 12 (with 20 % headroom): the dip lasts 10 min < 15 min delay.
    const plan = planPool(
      planInput({
        poolForecast: poolForecast([40, 5, 5, 40, 40, 40]),
        capacity: { desiredTasks: 12, runningTasks: 12, pendingTasks: 0 },
      }),
    );
    expect(plan.intervals.map((i) => i.targetTasks)).toEqual([12, 12, 12, 12, 12, 12]);
    expect(plan.scaling).toEqual([]);
    expect(plan.intervals[1]?.reason).toContain("demand rises again at");
  });

  it("scales in at the start of the interval once demand stays low for the whole delay", () => {
    const q = [40, 40, 5, 5, 5, 5, 5, 5];
    const plan = planPool(
      planInput({
        horizon: 8,
        poolForecast: poolForecast(q),
        capacity: { desiredTasks: 12, runningTasks: 12, pendingTasks: 0 },
      }),
    );
    expect(plan.intervals.map((i) => i.targetTasks)).toEqual([12, 12, 2, 2, 2, 2, 2, 2]);
    const down = plan.scaling.find((s) => s.tasks === 2);
    expect(down?.at).toBe(T0 + 2 * INTERVAL);
    expect(down?.reason).toContain("scale in 12 → 2 tasks");
    expect(down?.reason).toContain("scale-in delay 900 s");
  });

  it("scales in now when the forecast says the current load is gone for the delay", () => {
    const plan = planPool(
      planInput({
        poolForecast: poolForecast(flat(5)),
        capacity: { desiredTasks: 12, runningTasks: 12, pendingTasks: 0 },
      }),
    );
    expect(plan.scaling).toHaveLength(1);
    expect(plan.scaling[0]).toMatchObject({ at: T0, tasks: 2 });
    expect(plan.scaling[0]?.reason).toContain("scale in 12 → 2 tasks now");
  });

  it("marks steps of a shadow plan as not applied", () => {
    const plan = planPool(planInput({ mode: "shadow", poolForecast: poolForecast(rising) }));
    expect(plan.scaling.length).toBeGreaterThan(0);
    expect(
      plan.scaling.every((s) => s.reason.endsWith("(shadow mode: recorded, not applied)")),
    ).toBe(true);
  });
});

describe("planPool warm reservations", () => {
  it("reserves the predicted increase for a user about to burst and provisions it on top", () => {
    const burst = user("acme", [2, 10, 12, 2, 2, 2], {
      tier: "premium",
      currentUsage: { vcpu: 2 },
    });
    const withWarm = planPool(planInput({ poolForecast: poolForecast(flat(8)), users: [burst] }));
    const without = planPool(
      planInput({
        poolForecast: poolForecast(flat(8)),
        users: [burst],
        warm: { maxReservations: 0 },
      }),
    );
    expect(withWarm.warmReservations).toHaveLength(1);
    const reservation = withWarm.warmReservations[0];
    // Peak 12 over the next 3 intervals vs 2 in use: 10 vcpu from the first interval above the threshold.
    expect(reservation?.amounts.vcpu).toBe(10);
    expect(reservation?.from).toBe(T0 + INTERVAL);
    expect(reservation?.until).toBe(T0 + 3 * INTERVAL);
    expect(reservation?.reason).toContain("vs 2 in use now (+500 %)");
    expect(withWarm.intervals[1]?.warm.vcpu).toBe(10);
    expect(withWarm.intervals[0]?.warm.vcpu).toBe(0);
    // 8 × 1.2 = 9.6 + 10 = 19.6 → 5 tasks instead of 3.
    expect(withWarm.intervals[1]?.targetTasks).toBe(5);
    expect(without.intervals[1]?.targetTasks).toBe(3);
    expect(withWarm.intervals[1]?.reason).toContain("+ 10 vcpu kept warm for 1 user(s)");
  });

  it("does not reserve for growth below the threshold or for crumbs", () => {
    const steady = user("a", [4, 5, 5, 5, 5, 5], { currentUsage: { vcpu: 4 } }); // +25 % < 50 %
    const crumb = user("b", [0, 0.5, 0.5, 0, 0, 0], { currentUsage: { vcpu: 0 } }); // 0.5 < ¼ task
    const plan = planPool(
      planInput({ poolForecast: poolForecast(flat(8)), users: [steady, crumb] }),
    );
    expect(plan.warmReservations).toEqual([]);
  });

  it("keeps at most maxReservations, the largest first", () => {
    const users = [1, 2, 3, 4].map((k) =>
      user(`u${k}`, [0, 4 * k, 0, 0, 0, 0], { currentUsage: { vcpu: 0 } }),
    );
    const plan = planPool(
      planInput({ poolForecast: poolForecast(flat(8)), users, warm: { maxReservations: 2 } }),
    );
    expect(plan.warmReservations.map((r) => r.userId)).toEqual(["u4", "u3"]);
  });

  it("does not reserve above the user's cap", () => {
    const capped = user("a", [0, 40, 0, 0, 0, 0], { currentUsage: { vcpu: 0 }, cap: { vcpu: 6 } });
    const plan = planPool(planInput({ poolForecast: poolForecast(flat(8)), users: [capped] }));
    expect(plan.warmReservations[0]?.amounts.vcpu).toBe(6);
  });
});

describe("planPool fair share", () => {
  it("gives capacity a user cannot use to the others, and records the water level", () => {
    // Capacity 8 (2 tasks at maxTasks 2); footprints 1, 10, 10 at equal weight.
    const plan = planPool(
      planInput({
        config: cpuPool({ maxTasks: 2, minTasks: 2 }),
        poolForecast: poolForecast(flat(21)),
        users: [
          user("small", flat(1), { currentUsage: { vcpu: 1 } }),
          user("big1", flat(10), { currentUsage: { vcpu: 10 } }),
          user("big2", flat(10), { currentUsage: { vcpu: 10 } }),
        ],
        capacity: { desiredTasks: 2, runningTasks: 2, pendingTasks: 0 },
      }),
    );
    // (8 − 1) / 2 = 3.5 each for the big users — not 8/3 as min(share × available, demand) gives.
    expect(plan.intervals[0]?.fairShareLevel.vcpu).toBeCloseTo(3.5, 12);
    const big = plan.notableAllocations.find((a) => a.userId === "big1");
    expect(big?.allocation.vcpu).toBeCloseTo(3.5, 12);
    expect(big?.reason).toContain("vcpu: scarcity, fair share 3.5 of 10");
    expect(plan.notableAllocations.find((a) => a.userId === "small")).toBeUndefined();
    expect(plan.intervals[0]?.reason).toContain("scarce vcpu");
  });

  it("with allocation drf, records the rounds of dominant-resource fair share, and the ledger enforces them", () => {
    const inputs = {
      config: cpuPool({ maxTasks: 2, minTasks: 2 }),
      poolForecast: poolForecast(flat(21)),
      users: [
        user("small", flat(1), { currentUsage: { vcpu: 1 } }),
        user("big1", flat(10), { currentUsage: { vcpu: 10 } }),
        user("big2", flat(10), { currentUsage: { vcpu: 10 } }),
      ],
      capacity: { desiredTasks: 2, runningTasks: 2, pendingTasks: 0 },
    };
    const plan = planPool(planInput({ ...inputs, allocationMethod: "drf" }));
    // One resource: DRF is the max-min water-fill; vCPU runs out in the only round.
    const rounds = plan.intervals[0]?.dominantRounds ?? [];
    expect(rounds).toHaveLength(1);
    expect(rounds[0]?.saturated).toEqual(["vcpu"]);
    // big1's share from the round: weight 1 × level / (10 / 8) of its 10 vCPU = 3.5.
    const { fraction } = drfFraction({ vcpu: 10 }, { weight: 1, guarantee: {} }, rounds, {
      vcpu: 8,
    });
    expect(fraction * 10).toBeCloseTo(3.5, 9);
    const ledger = applyPlanToLedger(emptyLedger("cpu"), plan, T0);
    expect(ledger.dominantFairShare?.rounds).toEqual(rounds);
    expect(ledger.fairShareLevel).toBeUndefined();
    // The per-resource plan leaves the DRF fields out.
    const perResource = planPool(planInput(inputs));
    expect(perResource.intervals[0]?.dominantRounds).toBeUndefined();
    expect(
      applyPlanToLedger(emptyLedger("cpu"), perResource, T0).dominantFairShare,
    ).toBeUndefined();
  });

  it("records users held by a guarantee or a cap, scarcity first, within the limit", () => {
    const plan = planPool(
      planInput({
        config: cpuPool({ maxTasks: 3, minTasks: 3 }),
        poolForecast: poolForecast(flat(50)),
        users: [
          user("guaranteed", flat(20), {
            guaranteedMinimum: { vcpu: 6 },
            currentUsage: { vcpu: 20 },
          }),
          user("capped", flat(20), { cap: { vcpu: 1 }, currentUsage: { vcpu: 1 } }),
          user("short", flat(20), { currentUsage: { vcpu: 20 } }),
        ],
        capacity: { desiredTasks: 3, runningTasks: 3, pendingTasks: 0 },
        maxNotableAllocations: 3,
      }),
    );
    // Capacity 12: capped 1, guaranteed 6, short gets the remaining 5 (level 5 < 6).
    expect(plan.notableAllocations.map((a) => a.userId)).toEqual(["short", "capped", "guaranteed"]);
    expect(plan.notableAllocations[2]?.reason).toContain("guarantee 6 above the fair share 5");
    expect(plan.notableAllocations[1]?.reason).toContain("held at cap 1 of 20 forecast");
    const limited = planPool(
      planInput({
        config: cpuPool({ maxTasks: 3, minTasks: 3 }),
        poolForecast: poolForecast(flat(50)),
        users: [user("x", flat(20)), user("y", flat(20))],
        maxNotableAllocations: 1,
      }),
    );
    expect(limited.notableAllocations).toHaveLength(1);
  });
});

describe("planPool input checks", () => {
  it("rejects a horizon of zero intervals, naming the field", () => {
    expect(() => planPool(planInput({ horizon: 0 }))).toThrow(ValidationError);
    expect(() => planPool(planInput({ horizon: 0 }))).toThrow(/horizon must be a whole number/);
  });

  it("rejects an empty tier policy set", () => {
    expect(() => planPool(planInput({ tiers: {} }))).toThrow(
      /tiers must hold at least one tier policy/,
    );
  });
});

describe("footprintFromForecast", () => {
  it("aligns a user's forecast at its quantile to the plan's intervals and reads current usage from the mean", () => {
    const forecast = { ...poolForecast([1, 2, 3, 4]), userId: "u", start: T0 + INTERVAL };
    const starts = planIntervalStarts(T0 + 10, INTERVAL, 6);
    expect(starts[0]).toBe(T0);
    const { footprint, currentUsage } = footprintFromForecast(
      forecast,
      0.95,
      ["vcpu", "gpu"],
      starts,
    );
    // Before the forecast's start: its first value; after its end: its last.
    expect(footprint.vcpu).toEqual([1, 1, 2, 3, 4, 4]);
    expect(footprint.gpu).toBeUndefined();
    expect(currentUsage.vcpu).toBeCloseTo(0.8, 12);
  });
});
