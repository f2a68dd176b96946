import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  allocateFairShare,
  BOUND_CAP,
  BOUND_DEMAND,
  BOUND_GUARANTEE,
  BOUND_SHARE,
  dominantResourceFairShare,
  drfFraction,
  fairShare,
} from "../../../../layers/domain/allocation/fair-share.js";

const alloc = (
  out: ReturnType<typeof dominantResourceFairShare>,
  r: "vcpu" | "memoryGiB" | "gpu",
) => [...(out.byResource[r]?.allocation ?? [])];

describe("dominant-resource fairness", () => {
  it("reproduces the DRF paper's example: equal dominant shares of 2/3", () => {
    // 9 CPUs and 18 GB; A's tasks need <1 CPU, 4 GB>, B's <3 CPU, 1 GB>; both want 10 tasks.
    const out = allocateFairShare(
      {
        weight: [1, 1],
        demand: { vcpu: [10, 30], memoryGiB: [40, 10] },
        capacity: { vcpu: 9, memoryGiB: 18 },
      },
      { method: "drf" },
    );
    expect(out.method).toBe("drf");
    expect(alloc(out, "vcpu").map((v) => Math.round(v * 1e9) / 1e9)).toEqual([3, 6]);
    expect(alloc(out, "memoryGiB").map((v) => Math.round(v * 1e9) / 1e9)).toEqual([12, 2]);
    expect([...(out.dominantShare ?? [])].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([
      0.666666667, 0.666666667,
    ]);
    expect([...(out.byResource.vcpu?.bound ?? [])]).toEqual([BOUND_SHARE, BOUND_SHARE]);
    // CPU is used up; the memory nobody can use with it is reported idle.
    expect(out.byResource.memoryGiB?.idle).toBeCloseTo(4, 9);
  });

  it("gives twice the dominant share to twice the weight", () => {
    const out = dominantResourceFairShare({
      weight: [1, 2],
      demand: { vcpu: [10, 30], memoryGiB: [40, 10] },
      capacity: { vcpu: 9, memoryGiB: 18 },
    });
    const [a, b] = [...(out.dominantShare ?? [])] as [number, number];
    expect(b / a).toBeCloseTo(2, 9);
    expect((out.byResource.vcpu?.allocated ?? 0) - 9).toBeLessThanOrEqual(1e-9);
  });

  it("lets users who do not need the saturated resource keep rising (progressive filling)", () => {
    // CPU saturates first for A and B; C only wants memory and takes what they leave.
    const out = dominantResourceFairShare({
      weight: [1, 1, 1],
      demand: { vcpu: [10, 30, 0], memoryGiB: [40, 10, 100] },
      capacity: { vcpu: 9, memoryGiB: 60 },
    });
    // Dominant shares: A 10/9 (CPU), B 30/9 (CPU), C 100/60 (memory). Round 1: CPU runs out at
    // level 0.5 (A and B stop there, holding 18 + 1.5 GB); round 2: C takes the other 40.5 GB.
    const memory = alloc(out, "memoryGiB");
    expect(memory.reduce((s, v) => s + v, 0)).toBeCloseTo(60, 9);
    expect(memory[2]).toBeCloseTo(40.5, 9);
    expect(out.byResource.vcpu?.allocated).toBeCloseTo(9, 9);
    expect(out.dominantShare?.[0]).toBeCloseTo(0.5, 9);
    expect(out.dominantShare?.[2]).toBeCloseTo(40.5 / 60, 9);
  });

  it("caps the whole bundle and serves a demand that fits in full", () => {
    const out = dominantResourceFairShare({
      weight: [1, 1],
      demand: { vcpu: [8, 1], memoryGiB: [32, 4] },
      cap: { vcpu: [4, Number.POSITIVE_INFINITY] },
      capacity: { vcpu: 100, memoryGiB: 400 },
    });
    // The vCPU cap halves the bundle: memory follows.
    expect(alloc(out, "vcpu")).toEqual([4, 1]);
    expect(alloc(out, "memoryGiB")).toEqual([16, 4]);
    expect([...(out.byResource.vcpu?.bound ?? [])]).toEqual([BOUND_CAP, BOUND_DEMAND]);
  });

  it("keeps guarantees, and scales them alike when they do not fit", () => {
    const kept = dominantResourceFairShare({
      weight: [1, 1],
      demand: { vcpu: [10, 10] },
      guarantee: { vcpu: [7, 0] },
      capacity: { vcpu: 10 },
    });
    expect(alloc(kept, "vcpu")).toEqual([7, 3]);
    expect(kept.byResource.vcpu?.bound[0]).toBe(BOUND_GUARANTEE);
    const scaled = dominantResourceFairShare({
      weight: [1, 1],
      demand: { vcpu: [10, 10] },
      guarantee: { vcpu: [8, 8] },
      capacity: { vcpu: 10 },
    });
    expect(alloc(scaled, "vcpu")).toEqual([5, 5]);
    expect(scaled.byResource.vcpu?.guaranteesScaled).toBe(true);
  });

  const problem = fc
    .record({
      users: fc.integer({ min: 1, max: 12 }),
      seed: fc.array(
        fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000),
        { minLength: 60, maxLength: 60 },
      ),
      capacity: fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 400 })),
    })
    .map(({ users, seed, capacity }) => {
      const u = (i: number) => seed[i % seed.length] as number;
      return {
        weight: Array.from({ length: users }, (_, i) => 0.5 + 4 * u(i)),
        demand: {
          vcpu: Array.from({ length: users }, (_, i) => (u(i + 13) < 0.2 ? 0 : 30 * u(i + 7))),
          memoryGiB: Array.from({ length: users }, (_, i) =>
            u(i + 29) < 0.2 ? 0 : 120 * u(i + 17),
          ),
        },
        guarantee: {
          vcpu: Array.from({ length: users }, (_, i) => (u(i + 3) < 0.5 ? 0 : 3 * u(i + 5))),
          memoryGiB: Array.from({ length: users }, (_, i) => (u(i + 3) < 0.5 ? 0 : 12 * u(i + 11))),
        },
        capacity: { vcpu: capacity[0], memoryGiB: capacity[1] },
      };
    });

  it("never exceeds capacity, keeps bundles, and leaves no one short while its resources have room", () => {
    fc.assert(
      fc.property(problem, (p) => {
        const out = dominantResourceFairShare(p);
        const v = alloc(out, "vcpu");
        const m = alloc(out, "memoryGiB");
        const scaled = out.byResource.vcpu?.guaranteesScaled ?? false;
        expect(v.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(
          p.capacity.vcpu * (1 + 1e-9) + 1e-9,
        );
        expect(m.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(
          p.capacity.memoryGiB * (1 + 1e-9) + 1e-9,
        );
        const freeV = p.capacity.vcpu - v.reduce((s, x) => s + x, 0);
        const freeM = p.capacity.memoryGiB - m.reduce((s, x) => s + x, 0);
        p.weight.forEach((_, i) => {
          const dv = p.demand.vcpu[i] as number;
          const dm = p.demand.memoryGiB[i] as number;
          // The same fraction of the bundle on every resource.
          if (dv > 0 && dm > 0) expect((v[i] as number) / dv).toBeCloseTo((m[i] as number) / dm, 9);
          if (scaled) return;
          // Short users draw on a resource that is used up (Pareto efficiency).
          const shortV = dv > 0 && (v[i] as number) < dv * (1 - 1e-9);
          const shortM = dm > 0 && (m[i] as number) < dm * (1 - 1e-9);
          if (shortV || shortM) {
            const blocked =
              (dv > 0 && freeV <= 1e-7 * (1 + p.capacity.vcpu)) ||
              (dm > 0 && freeM <= 1e-7 * (1 + p.capacity.memoryGiB));
            expect(blocked).toBe(true);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it("gives each user back its allocation from the rounds alone (what admission applies)", () => {
    fc.assert(
      fc.property(problem, (p) => {
        const out = dominantResourceFairShare(p);
        if (out.byResource.vcpu?.guaranteesScaled) return;
        p.weight.forEach((weight, i) => {
          const { fraction, bundle } = drfFraction(
            { vcpu: p.demand.vcpu[i] as number, memoryGiB: p.demand.memoryGiB[i] as number },
            {
              weight,
              guarantee: {
                vcpu: p.guarantee.vcpu[i] as number,
                memoryGiB: p.guarantee.memoryGiB[i] as number,
              },
            },
            out.rounds ?? [],
            p.capacity,
          );
          expect(fraction * (bundle.vcpu ?? 0)).toBeCloseTo(alloc(out, "vcpu")[i] as number, 6);
          expect(fraction * (bundle.memoryGiB ?? 0)).toBeCloseTo(
            alloc(out, "memoryGiB")[i] as number,
            6,
          );
        });
      }),
      { numRuns: 300 },
    );
  });

  it("is the single-resource water-fill when there is one resource", () => {
    fc.assert(
      fc.property(problem, (p) => {
        const single = {
          weight: p.weight,
          demand: p.demand.vcpu,
          guarantee: p.guarantee.vcpu,
          capacity: p.capacity.vcpu,
        };
        const drf = dominantResourceFairShare({
          weight: p.weight,
          demand: { vcpu: p.demand.vcpu },
          guarantee: { vcpu: p.guarantee.vcpu },
          capacity: { vcpu: p.capacity.vcpu },
        });
        const reference = fairShare(single);
        alloc(drf, "vcpu").forEach((a, i) => {
          expect(a).toBeCloseTo(reference.allocation[i] as number, 7);
        });
      }),
      { numRuns: 300 },
    );
  });
});
