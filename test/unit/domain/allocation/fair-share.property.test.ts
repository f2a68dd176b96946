import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BOUND_GUARANTEE,
  BOUND_SHARE,
  fairShare,
} from "../../../../layers/domain/allocation/fair-share.js";

interface Problem {
  demand: number[];
  weight: number[];
  guarantee: number[];
  cap: number[];
  capacity: number;
}

// Small integers make ties (equal breakpoints, exact fits) common; doubles cover the rest.
const amount = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.double({ min: 0, max: 1_000, noNaN: true, noDefaultInfinity: true }),
);
const user = fc.record({
  demand: amount,
  weight: fc.oneof(
    fc.integer({ min: 1, max: 4 }),
    fc.double({ min: 0.01, max: 100, noNaN: true, noDefaultInfinity: true }),
  ),
  guarantee: fc.oneof(fc.constant(0), amount),
  cap: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), amount),
});
const problems: fc.Arbitrary<Problem> = fc
  .record({
    users: fc.array(user, { minLength: 0, maxLength: 40 }),
    capacity: fc.oneof(
      fc.integer({ min: 0, max: 200 }),
      fc.double({ min: 0, max: 20_000, noNaN: true, noDefaultInfinity: true }),
    ),
  })
  .map(({ users, capacity }) => ({
    demand: users.map((u) => u.demand),
    weight: users.map((u) => u.weight),
    guarantee: users.map((u) => u.guarantee),
    cap: users.map((u) => u.cap),
    capacity,
  }));

/** Float slack for sums of up to 40 amounts of up to 20,000. */
const EPS = 1e-7;
function expectRelativelyClose(actual: number, expected: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
}
const effDemand = (p: Problem, i: number) => Math.min(p.demand[i]!, p.cap[i]!);
const effGuarantee = (p: Problem, i: number) => Math.min(p.guarantee[i]!, effDemand(p, i));

describe("fairShare properties", () => {
  it("never allocates more than the capacity, nor more than demand or cap, nor less than 0", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const r = fairShare(p);
        const total = r.allocation.reduce((s, a) => s + a, 0);
        expect(total).toBeLessThanOrEqual(p.capacity + EPS);
        r.allocation.forEach((a, i) => {
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThanOrEqual(effDemand(p, i) + EPS);
        });
      }),
    );
  });

  it("meets every guarantee (up to demand and cap) when the guarantees fit", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const sumG = p.demand.reduce((s, _, i) => s + effGuarantee(p, i), 0);
        fc.pre(sumG <= p.capacity);
        const r = fairShare(p);
        expect(r.guaranteesScaled).toBe(false);
        r.allocation.forEach((a, i) => {
          expect(a).toBeGreaterThanOrEqual(effGuarantee(p, i) - EPS);
        });
      }),
    );
  });

  it("scales guarantees proportionally when they do not fit", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const sumG = p.demand.reduce((s, _, i) => s + effGuarantee(p, i), 0);
        fc.pre(sumG > p.capacity);
        const r = fairShare(p);
        expect(r.guaranteesScaled).toBe(true);
        r.allocation.forEach((a, i) => {
          expect(a).toBeCloseTo(effGuarantee(p, i) * (p.capacity / sumG), 6);
        });
      }),
    );
  });

  it("leaves no capacity idle while some user is below min(demand, cap)", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const r = fairShare(p);
        const total = r.allocation.reduce((s, a) => s + a, 0);
        const someoneShort = [...r.allocation].some((a, i) => a < effDemand(p, i) - EPS);
        if (someoneShort) expect(total).toBeGreaterThanOrEqual(p.capacity - EPS * 10);
      }),
    );
  });

  it("respects weights: a share-bound user gets at least its weight ratio of anyone not held up by a guarantee", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const r = fairShare(p);
        r.bound.forEach((bi, i) => {
          if (bi !== BOUND_SHARE) return;
          r.bound.forEach((bj, j) => {
            if (bj === BOUND_GUARANTEE) return;
            // a_i / w_i = λ ≥ a_j / w_j for every j that is not above its share by a guarantee.
            const ai = r.allocation[i]!;
            const aj = r.allocation[j]!;
            expect(ai / p.weight[i]!).toBeGreaterThanOrEqual(aj / p.weight[j]! - 1e-6);
          });
        });
      }),
    );
  });

  it("gives the same output for the same input", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const a = fairShare(p);
        const b = fairShare(structuredClone(p));
        expect([...a.allocation]).toEqual([...b.allocation]);
        expect([...a.bound]).toEqual([...b.bound]);
        expect(a.level).toBe(b.level);
      }),
    );
  });

  it("is scale invariant: scaling amounts scales allocations and level; scaling weights scales only the level", () => {
    fc.assert(
      fc.property(problems, fc.double({ min: 0.1, max: 10, noNaN: true }), (p, k) => {
        const base = fairShare(p);
        const scaled = fairShare({
          ...p,
          demand: p.demand.map((d) => d * k),
          guarantee: p.guarantee.map((g) => g * k),
          cap: p.cap.map((c) => c * k),
          capacity: p.capacity * k,
        });
        const heavier = fairShare({ ...p, weight: p.weight.map((w) => w * k) });
        base.allocation.forEach((a, i) => {
          expect(scaled.allocation[i]).toBeCloseTo(a * k, 5);
          expect(heavier.allocation[i]).toBeCloseTo(a, 5);
        });
        // Relative: where the sum is flat at the capacity, any level in the flat stretch gives the
        // same allocation, and rounding may pick either end of a stretch a few ulps wide.
        expectRelativelyClose(scaled.level, base.level * k);
        expectRelativelyClose(heavier.level, base.level / k);
      }),
    );
  });

  it("agrees with a brute-force water level found by bisection", () => {
    fc.assert(
      fc.property(problems, (p) => {
        const r = fairShare(p);
        fc.pre(!r.guaranteesScaled && r.idle === 0);
        const sumAt = (level: number) =>
          p.demand.reduce(
            (s, _, i) =>
              s + Math.min(effDemand(p, i), Math.max(effGuarantee(p, i), p.weight[i]! * level)),
            0,
          );
        let lo = 0;
        let hi = 1e9;
        for (let k = 0; k < 200; k++) {
          const mid = (lo + hi) / 2;
          if (sumAt(mid) >= p.capacity) hi = mid;
          else lo = mid;
        }
        r.allocation.forEach((a, i) => {
          const expected = Math.min(
            effDemand(p, i),
            Math.max(effGuarantee(p, i), p.weight[i]! * hi),
          );
          expect(a).toBeCloseTo(expected, 5);
        });
      }),
    );
  });
});
