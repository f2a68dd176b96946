import { describe, expect, it } from "vitest";
import {
  allocateFairShare,
  BOUND_BY,
  fairShare,
} from "../../../../layers/domain/allocation/fair-share.js";
import { ValidationError } from "../../../../layers/domain/errors.js";

const bounds = (bound: Uint8Array) => [...bound].map((b) => BOUND_BY[b]);

describe("fairShare", () => {
  it("gives everyone their demand when it fits, and reports the idle rest", () => {
    const r = fairShare({ demand: [3, 5], weight: [1, 2], capacity: 10 });
    expect([...r.allocation]).toEqual([3, 5]);
    expect(bounds(r.bound)).toEqual(["demand", "demand"]);
    expect(r.idle).toBe(2);
    // The smallest level that satisfies everyone: max(3/1, 5/2).
    expect(r.level).toBe(3);
  });

  it("redistributes what a small user cannot use to the others (unlike min(share × available, demand))", () => {
    // Equal weights, capacity 12: an equal split is 4 each, but the first user only wants 2.
    const r = fairShare({ demand: [2, 10, 10], weight: [1, 1, 1], capacity: 12 });
    expect([...r.allocation]).toEqual([2, 5, 5]);
    expect(r.level).toBe(5);
    expect(bounds(r.bound)).toEqual(["demand", "share", "share"]);
    // The seed's rule would leave 2 idle: min(12/3, demand) = [2, 4, 4].
    expect(r.allocated).toBe(12);
  });

  it("splits scarce capacity in proportion to the weights", () => {
    const r = fairShare({ demand: [100, 100, 100], weight: [4, 2, 1], capacity: 70 });
    expect([...r.allocation]).toEqual([40, 20, 10]);
    expect(r.level).toBe(10);
  });

  it("holds a user at its cap and gives the rest to others", () => {
    const r = fairShare({
      demand: [50, 50],
      weight: [1, 1],
      cap: [10, Number.POSITIVE_INFINITY],
      capacity: 40,
    });
    expect([...r.allocation]).toEqual([10, 30]);
    expect(bounds(r.bound)).toEqual(["cap", "share"]);
  });

  it("reports a cap even when everything fits", () => {
    const r = fairShare({ demand: [50, 5], weight: [1, 1], cap: [10, 10], capacity: 100 });
    expect([...r.allocation]).toEqual([10, 5]);
    expect(bounds(r.bound)).toEqual(["cap", "demand"]);
  });

  it("keeps a guarantee above the weighted share", () => {
    // Level without guarantees would be 5 each; user 0 is guaranteed 8.
    const r = fairShare({ demand: [20, 20], weight: [1, 1], guarantee: [8, 0], capacity: 10 });
    expect([...r.allocation]).toEqual([8, 2]);
    expect(bounds(r.bound)).toEqual(["guarantee", "share"]);
    expect(r.level).toBe(2);
  });

  it("never guarantees more than the user asks for", () => {
    const r = fairShare({ demand: [1, 20], weight: [1, 1], guarantee: [8, 0], capacity: 10 });
    expect([...r.allocation]).toEqual([1, 9]);
    expect(bounds(r.bound)).toEqual(["demand", "share"]);
  });

  it("scales guarantees down proportionally and flags it when they exceed the capacity", () => {
    const r = fairShare({
      demand: [10, 10, 10],
      weight: [1, 1, 1],
      guarantee: [6, 2, 0],
      capacity: 4,
    });
    expect(r.guaranteesScaled).toBe(true);
    expect(r.guaranteeScale).toBe(0.5);
    expect([...r.allocation]).toEqual([3, 1, 0]);
    expect(bounds(r.bound)).toEqual(["guarantee", "guarantee", "share"]);
    expect(r.level).toBe(0);
  });

  it("lets guarantees use the capacity exactly, with level 0", () => {
    const r = fairShare({ demand: [10, 10], weight: [1, 1], guarantee: [3, 1], capacity: 4 });
    expect(r.guaranteesScaled).toBe(false);
    expect([...r.allocation]).toEqual([3, 1]);
    expect(r.level).toBe(0);
  });

  it("gives nothing when there is no capacity and no guarantee", () => {
    const r = fairShare({ demand: [5, 5], weight: [1, 2], capacity: 0 });
    expect([...r.allocation]).toEqual([0, 0]);
    expect(bounds(r.bound)).toEqual(["share", "share"]);
  });

  it("handles no users", () => {
    const r = fairShare({ demand: [], weight: [], capacity: 5 });
    expect(r.allocation.length).toBe(0);
    expect(r.idle).toBe(5);
  });

  it("finds the exact level among many breakpoints", () => {
    // Demands 1..100 with weight 1, capacity 2000: users up to k get k, the rest get λ.
    const demand = Array.from({ length: 100 }, (_, i) => i + 1);
    const r = fairShare({ demand, weight: demand.map(() => 1), capacity: 2000 });
    // Σ_{i≤k} i + (100 − k)·λ = 2000 with k = ⌊λ⌋ holds for k = 22: λ = (2000 − 253) / 78.
    expect(r.level).toBeCloseTo(1747 / 78, 12);
    expect(r.allocated).toBeCloseTo(2000, 9);
    const level = r.level;
    for (const [i, a] of [...r.allocation].entries()) {
      expect(a).toBeCloseTo(Math.min(i + 1, level), 9);
    }
  });

  it("rejects negative demand, naming the user index", () => {
    expect(() => fairShare({ demand: [1, -2], weight: [1, 1], capacity: 3 })).toThrow(
      /demand\[1\] is -2; expected finite and ≥ 0/,
    );
  });

  it("rejects a zero weight and mismatched lengths", () => {
    expect(() => fairShare({ demand: [1], weight: [0], capacity: 3 })).toThrow(ValidationError);
    expect(() => fairShare({ demand: [1, 2], weight: [1], capacity: 3 })).toThrow(
      /weight has 1 entries but demand has 2/,
    );
  });

  it("rejects a non-finite capacity", () => {
    expect(() =>
      fairShare({ demand: [1], weight: [1], capacity: Number.POSITIVE_INFINITY }),
    ).toThrow(/capacity Infinity/);
  });
});

describe("allocateFairShare", () => {
  it("allocates each resource with a demand array on its own", () => {
    const out = allocateFairShare({
      weight: [2, 1],
      demand: { vcpu: [8, 8], memoryGiB: [10, 2] },
      cap: { memoryGiB: [4, Number.POSITIVE_INFINITY] },
      capacity: { vcpu: 9, memoryGiB: 100 },
    });
    expect(out.method).toBe("per-resource");
    expect([...(out.byResource.vcpu?.allocation ?? [])]).toEqual([6, 3]);
    expect([...(out.byResource.memoryGiB?.allocation ?? [])]).toEqual([4, 2]);
    expect(out.byResource.gpu).toBeUndefined();
  });

  it("treats a resource missing from the capacity as zero", () => {
    const out = allocateFairShare({ weight: [1], demand: { gpu: [1] }, capacity: {} });
    expect(out.byResource.gpu?.allocated).toBe(0);
  });
});

describe("fairShare level search", () => {
  it("finds the same level with exact-median pivots as with pseudo-random ones", () => {
    const n = 5_000;
    const demand = Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 10);
    const weight = Array.from({ length: n }, (_, i) => 1 + (i % 4));
    const guarantee = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 3 : 0));
    const problem = { demand, weight, guarantee, capacity: 100_000 };
    const random = fairShare(problem);
    const median = fairShare(problem, { randomPivotRounds: 0 });
    expect(random.idle).toBe(0);
    expect(median.level).toBeCloseTo(random.level, 10);
    expect(median.allocated).toBeCloseTo(100_000, 6);
  });
});

describe("fairShare bounds", () => {
  it("names the guarantee when it, not the share, gives a user its whole demand under scarcity", () => {
    const r = fairShare({ demand: [1, 4], weight: [1, 1], guarantee: [0, 4], capacity: 4 });
    expect([...r.allocation]).toEqual([0, 4]);
    expect(bounds(r.bound)).toEqual(["share", "guarantee"]);
  });
});

describe("fairShare rounding", () => {
  it("keeps the level finite when the demands exceed the capacity only by rounding", () => {
    // Σ demand = capacity exactly, but scaled by k the float sums differ by an ulp.
    const k = 3.6254674111301375;
    const r = fairShare({
      demand: [6, 20, 8, 16, 18].map((d) => d * k),
      weight: [0.01, 0.01, 1, 1, 1],
      capacity: 68 * k,
    });
    expect(Number.isFinite(r.level)).toBe(true);
    expect(r.level).toBeCloseTo(2000 * k, 6);
    expect(r.allocated).toBeCloseTo(68 * k, 9);
  });
});
