import { describe, expect, it } from "vitest";
import {
  applyPlanToLedger,
  bookRequestLease,
  buildTimeline,
  capacityAt,
  committedAt,
  earliestStart,
  emptyLedger,
  freeOver,
  largestFittingFraction,
  pruneLedger,
  scaleDown,
  worstOverCommit,
} from "../../../../layers/domain/admission/ledger.js";
import type { Lease, PoolLedger } from "../../../../layers/domain/admission.js";
import type { PoolPlan } from "../../../../layers/domain/plan.js";

// Hand-made ledgers: times are small offsets from T so the arithmetic is easy to follow.
const T = 1_795_000_000;

function lease(partial: Partial<Lease> & Pick<Lease, "userId" | "amounts">): Lease {
  return {
    leaseId: partial.leaseId ?? `l-${partial.userId}-${partial.startAt ?? T}`,
    kind: partial.kind ?? "request",
    startAt: partial.startAt ?? T,
    endAt: partial.endAt ?? T + 600,
    ...partial,
  };
}

function ledger(partial: Partial<PoolLedger> = {}): PoolLedger {
  return {
    pool: "cpu",
    version: 3,
    capacity: [{ start: T - 300, capacity: { vcpu: 16, memoryGiB: 64 } }],
    leases: [],
    updatedAt: T - 10,
    ...partial,
  };
}

describe("capacityAt", () => {
  it("holds each step until the next and the last step for ever; zero before the first", () => {
    const l = ledger({
      capacity: [
        { start: T + 300, capacity: { vcpu: 24 } },
        { start: T, capacity: { vcpu: 8 } },
      ],
    });
    expect(capacityAt(l, T - 1)).toEqual({});
    expect(capacityAt(l, T)).toEqual({ vcpu: 8 });
    expect(capacityAt(l, T + 299)).toEqual({ vcpu: 8 });
    expect(capacityAt(l, T + 300)).toEqual({ vcpu: 24 });
    expect(capacityAt(l, T + 10 * 86_400)).toEqual({ vcpu: 24 });
    expect(capacityAt(emptyLedger("cpu"), T)).toEqual({});
  });
});

describe("pruneLedger", () => {
  it("drops leases that ended and steps superseded before now, keeping the step in force", () => {
    const l = ledger({
      capacity: [
        { start: T - 600, capacity: { vcpu: 4 } },
        { start: T - 300, capacity: { vcpu: 8 } },
        { start: T + 300, capacity: { vcpu: 12 } },
      ],
      leases: [
        lease({ userId: "a", amounts: { vcpu: 1 }, startAt: T - 100, endAt: T }),
        lease({ userId: "b", amounts: { vcpu: 1 }, startAt: T - 100, endAt: T + 1 }),
      ],
    });
    const pruned = pruneLedger(l, T);
    expect(pruned.capacity.map((s) => s.start)).toEqual([T - 300, T + 300]);
    expect(pruned.leases.map((x) => x.userId)).toEqual(["b"]);
    expect(pruned.version).toBe(3);
  });
});

describe("committedAt and free capacity", () => {
  const l = ledger({
    leases: [
      lease({ userId: "acme", amounts: { vcpu: 4 } }),
      lease({ userId: "acme", kind: "warm", amounts: { vcpu: 2 }, leaseId: "w-acme" }),
      lease({ userId: "globex", kind: "warm", amounts: { vcpu: 3 }, leaseId: "w-globex" }),
    ],
  });

  it("counts every lease, or leaves out the asking user's own warm lease", () => {
    expect(committedAt(l, T)).toEqual({ vcpu: 9 });
    expect(committedAt(l, T, { forUserId: "acme" })).toEqual({ vcpu: 7 });
    expect(committedAt(l, T, { forUserId: "acme", ignoreOthersWarm: true })).toEqual({ vcpu: 4 });
    expect(committedAt(l, T + 600)).toEqual({});
  });

  it("gives each user the capacity minus requests and other users' warm leases", () => {
    expect(freeOver(buildTimeline(l, "acme", T), T, T + 60).vcpu).toBe(16 - 4 - 3);
    expect(freeOver(buildTimeline(l, "globex", T), T, T + 60).vcpu).toBe(16 - 4 - 2);
    expect(freeOver(buildTimeline(l, "hooli", T), T, T + 60).vcpu).toBe(16 - 9);
  });

  it("takes the smallest free amount over the whole span", () => {
    const later = ledger({
      leases: [lease({ userId: "x", amounts: { vcpu: 10 }, startAt: T + 100, endAt: T + 200 })],
    });
    const timeline = buildTimeline(later, "acme", T);
    expect(freeOver(timeline, T, T + 100).vcpu).toBe(16);
    expect(freeOver(timeline, T, T + 101).vcpu).toBe(6);
    expect(freeOver(timeline, T + 200, T + 900).vcpu).toBe(16);
  });
});

describe("earliestStart", () => {
  it("finds the first lease end after which the ask fits for its whole duration", () => {
    const l = ledger({
      leases: [
        lease({ userId: "x", amounts: { vcpu: 12 }, startAt: T - 60, endAt: T + 120 }),
        lease({ userId: "y", amounts: { vcpu: 12 }, startAt: T + 300, endAt: T + 900 }),
      ],
    });
    const timeline = buildTimeline(l, "acme", T);
    const ask = { userId: "acme", amounts: { vcpu: 8 }, durationSeconds: 60 };
    // Fits in the gap [T+120, T+300) for 60 s.
    expect(earliestStart(timeline, ask, T)).toBe(T + 120);
    // 300 s does not fit in the gap: wait until y's lease ends.
    expect(earliestStart(timeline, { ...ask, durationSeconds: 300 }, T)).toBe(T + 900);
    expect(earliestStart(timeline, { ...ask, durationSeconds: 300 }, T, T + 600)).toBeUndefined();
  });

  it("waits for a capacity step that adds room, and finds nothing when no step ever does", () => {
    const l = ledger({
      capacity: [
        { start: T - 300, capacity: { vcpu: 4 } },
        { start: T + 600, capacity: { vcpu: 32 } },
      ],
    });
    const timeline = buildTimeline(l, "acme", T);
    expect(
      earliestStart(timeline, { userId: "acme", amounts: { vcpu: 16 }, durationSeconds: 60 }, T),
    ).toBe(T + 600);
    expect(
      earliestStart(timeline, { userId: "acme", amounts: { vcpu: 64 }, durationSeconds: 60 }, T),
    ).toBeUndefined();
  });

  it("respects the user's cap against its own request leases", () => {
    const l = ledger({
      leases: [lease({ userId: "acme", amounts: { vcpu: 6 }, startAt: T - 60, endAt: T + 240 })],
    });
    const timeline = buildTimeline(l, "acme", T);
    const ask = { userId: "acme", amounts: { vcpu: 4 }, durationSeconds: 60, cap: { vcpu: 8 } };
    expect(earliestStart(timeline, ask, T)).toBe(T + 240);
  });
});

describe("largestFittingFraction and scaleDown", () => {
  it("is limited by the scarcest resource and rounds down so the result still fits", () => {
    const l = ledger({ leases: [lease({ userId: "x", amounts: { vcpu: 13, memoryGiB: 4 } })] });
    const timeline = buildTimeline(l, "acme", T);
    const ask = { userId: "acme", amounts: { vcpu: 9, memoryGiB: 30 }, durationSeconds: 60 };
    const fraction = largestFittingFraction(timeline, ask, T);
    expect(fraction).toBeCloseTo(3 / 9, 9);
    const smaller = scaleDown(ask.amounts, fraction);
    expect(smaller.vcpu).toBeLessThanOrEqual(3);
    expect(smaller.memoryGiB).toBeLessThanOrEqual(10);
    expect(smaller.memoryGiB).toBeGreaterThan(9.99);
  });
});

describe("bookRequestLease", () => {
  it("consumes the user's own overlapping warm lease first and leaves others alone", () => {
    const l = ledger({
      leases: [
        lease({ userId: "acme", kind: "warm", amounts: { vcpu: 6 }, leaseId: "w-acme" }),
        lease({
          userId: "acme",
          kind: "warm",
          amounts: { vcpu: 6 },
          leaseId: "w-acme-later",
          startAt: T + 600,
          endAt: T + 900,
        }),
        lease({ userId: "globex", kind: "warm", amounts: { vcpu: 6 }, leaseId: "w-globex" }),
      ],
    });
    const booked = bookRequestLease(
      l,
      lease({ userId: "acme", amounts: { vcpu: 4 }, leaseId: "r1", startAt: T, endAt: T + 300 }),
    );
    expect(booked.consumedWarm).toEqual({ vcpu: 4 });
    const byId = Object.fromEntries(booked.ledger.leases.map((x) => [x.leaseId, x.amounts.vcpu]));
    expect(byId).toEqual({ "w-acme": 2, "w-acme-later": 6, "w-globex": 6, r1: 4 });
    expect(committedAt(booked.ledger, T)).toEqual({ vcpu: 12 });
  });

  it("drops a warm lease the booking uses up entirely", () => {
    const l = ledger({
      leases: [lease({ userId: "acme", kind: "warm", amounts: { vcpu: 3 }, leaseId: "w" })],
    });
    const booked = bookRequestLease(
      l,
      lease({ userId: "acme", amounts: { vcpu: 8 }, leaseId: "r" }),
    );
    expect(booked.ledger.leases.map((x) => x.leaseId)).toEqual(["r"]);
    expect(booked.consumedWarm).toEqual({ vcpu: 3 });
  });
});

function plan(partial: Partial<PoolPlan> = {}): PoolPlan {
  return {
    pool: "cpu",
    issuedAt: T,
    intervalSeconds: 300,
    currentTasks: 2,
    intervals: [
      {
        start: T + 300,
        demand: { vcpu: 40, memoryGiB: 10 },
        guaranteed: {},
        warm: { vcpu: 4 },
        targetTasks: 8,
        capacity: { vcpu: 32, memoryGiB: 128 },
        fairShareLevel: { vcpu: 3, memoryGiB: 9 },
        reason: "demand above max tasks",
      },
      {
        start: T + 600,
        demand: { vcpu: 10 },
        guaranteed: {},
        warm: {},
        targetTasks: 3,
        capacity: { vcpu: 12, memoryGiB: 48 },
        fairShareLevel: { vcpu: 5 },
        reason: "quiet",
      },
    ],
    scaling: [],
    warmReservations: [
      { userId: "acme", amounts: { vcpu: 4 }, from: T + 300, until: T + 600, reason: "burst" },
    ],
    notableAllocations: [],
    costUsd: 1,
    ...partial,
  };
}

describe("applyPlanToLedger", () => {
  const before = ledger({
    planIssuedAt: T - 300,
    fairShareLevel: { vcpu: 1 },
    leases: [
      lease({ userId: "globex", amounts: { vcpu: 2 }, leaseId: "r-globex", endAt: T + 900 }),
      lease({ userId: "hooli", kind: "warm", amounts: { vcpu: 2 }, leaseId: "w-old" }),
      lease({
        userId: "x",
        amounts: { vcpu: 2 },
        leaseId: "r-ended",
        startAt: T - 600,
        endAt: T - 1,
      }),
    ],
  });
  const after = applyPlanToLedger(before, plan(), T);

  it("replaces capacity from the plan's first interval on, keeping the step in force until then", () => {
    expect(after.capacity).toEqual([
      { start: T - 300, capacity: { vcpu: 16, memoryGiB: 64 } },
      { start: T + 300, capacity: { vcpu: 32, memoryGiB: 128 } },
      { start: T + 600, capacity: { vcpu: 12, memoryGiB: 48 } },
    ]);
  });

  it("replaces warm leases with the plan's reservations and keeps live request leases", () => {
    expect(after.leases.map((l) => [l.leaseId, l.kind, l.userId])).toEqual([
      ["r-globex", "request", "globex"],
      [`warm:acme:${T + 300}:0`, "warm", "acme"],
    ]);
    const warm = after.leases.find((l) => l.kind === "warm");
    expect([warm?.startAt, warm?.endAt, warm?.amounts]).toEqual([T + 300, T + 600, { vcpu: 4 }]);
  });

  it("clips warm reservations to the room request leases leave, and drops those with none", () => {
    const busy = ledger({
      capacity: [{ start: T - 300, capacity: { vcpu: 16, memoryGiB: 64 } }],
      leases: [lease({ userId: "globex", amounts: { vcpu: 12 }, leaseId: "r", endAt: T + 3_600 })],
    });
    const p = plan({
      intervals: [],
      warmReservations: [
        {
          userId: "acme",
          amounts: { vcpu: 6, memoryGiB: 8 },
          from: T - 60,
          until: T + 600,
          reason: "a",
        },
        { userId: "hooli", amounts: { vcpu: 2 }, from: T, until: T + 600, reason: "b" },
      ],
    });
    const applied = applyPlanToLedger(busy, p, T);
    const warm = applied.leases.filter((l) => l.kind === "warm");
    expect(warm.map((l) => [l.userId, l.amounts, l.startAt])).toEqual([
      ["acme", { vcpu: 4, memoryGiB: 8 }, T],
    ]);
    expect(worstOverCommit(applied, T)).toBeLessThanOrEqual(0);
  });

  it("keeps the fair-share level only for resources the first interval is short of", () => {
    expect(after.fairShareLevel).toEqual({ vcpu: 3 });
    const calm = applyPlanToLedger(
      before,
      plan({
        intervals: plan()
          .intervals.slice(1)
          .map((i) => ({ ...i, start: T })),
      }),
      T,
    );
    expect(calm.fairShareLevel).toBeUndefined();
  });

  it("carries the plan's critical reserve into the ledger, and drops it when the plan has none", () => {
    const reserved = applyPlanToLedger(before, plan({ criticalReserve: { vcpu: 15 } }), T);
    expect(reserved.criticalReserve).toEqual({ vcpu: 15 });
    expect(applyPlanToLedger(reserved, plan(), T).criticalReserve).toBeUndefined();
  });

  it("records the plan, bumps the version and stamps the time", () => {
    expect([after.planIssuedAt, after.version, after.updatedAt]).toEqual([T, 4, T]);
  });
});

describe("worstOverCommit", () => {
  it("reports by how much the leases exceed capacity at the worst instant", () => {
    const l = ledger({
      capacity: [
        { start: T - 300, capacity: { vcpu: 16 } },
        { start: T + 300, capacity: { vcpu: 4 } },
      ],
      leases: [lease({ userId: "x", amounts: { vcpu: 10 }, endAt: T + 600 })],
    });
    expect(worstOverCommit(l, T)).toBe(6);
    expect(worstOverCommit({ ...l, capacity: [{ start: 0, capacity: { vcpu: 16 } }] }, T)).toBe(0);
  });
});
