import { describe, expect, it } from "vitest";
import {
  PoolUsageAccumulator,
  poolUsagePartials,
} from "../../../../layers/domain/collect/pool-partials.js";
import type { UsageRecord } from "../../../../layers/domain/usage.js";

const T = 1_795_812_300;
const scope = { shard: 2, pools: ["cpu", "gpu"], intervalStarts: [T, T + 300] };

describe("pool usage partials", () => {
  it("sums the usage users reported and counts users without data as missing, not zero", () => {
    const records: UsageRecord[] = [
      { userId: "a", pool: "cpu", intervalStart: T, usage: { vcpu: 2, memoryGiB: 8 } },
      { userId: "b", pool: "cpu", intervalStart: T, usage: { vcpu: 1.5 } },
      { userId: "c", pool: "cpu", intervalStart: T, usage: null },
      { userId: "a", pool: "cpu", intervalStart: T + 300, usage: null },
    ];
    const partials = poolUsagePartials(records, scope);
    expect(partials.find((p) => p.pool === "cpu" && p.intervalStart === T)).toEqual({
      pool: "cpu",
      intervalStart: T,
      shard: 2,
      usage: { vcpu: 3.5, memoryGiB: 8 },
      reportingUsers: 2,
      missingUsers: 1,
    });
    expect(partials.find((p) => p.pool === "cpu" && p.intervalStart === T + 300)).toMatchObject({
      usage: {},
      reportingUsers: 0,
      missingUsers: 1,
    });
  });

  it("writes a partial for every pool and interval, so a rerun overwrites stale sums", () => {
    const partials = poolUsagePartials([], scope);
    expect(partials.map((p) => [p.pool, p.intervalStart])).toEqual([
      ["cpu", T],
      ["cpu", T + 300],
      ["gpu", T],
      ["gpu", T + 300],
    ]);
    expect(partials.every((p) => p.reportingUsers === 0 && p.missingUsers === 0)).toBe(true);
  });

  it("adds pages of records up to the same sums as one pass", () => {
    const records: UsageRecord[] = Array.from({ length: 10 }, (_, i) => ({
      userId: `u${i}`,
      pool: i % 2 === 0 ? "cpu" : "gpu",
      intervalStart: T,
      usage: i % 3 === 0 ? null : { vcpu: i },
    }));
    const paged = new PoolUsageAccumulator(scope);
    paged.add(records.slice(0, 4));
    paged.add(records.slice(4));
    expect(paged.partials()).toEqual(poolUsagePartials(records, scope));
  });

  it("ignores records of pools or intervals outside its scope", () => {
    const partials = poolUsagePartials(
      [
        { userId: "a", pool: "retired", intervalStart: T, usage: { vcpu: 1 } },
        { userId: "a", pool: "cpu", intervalStart: T + 900, usage: { vcpu: 1 } },
      ],
      scope,
    );
    expect(partials.every((p) => p.reportingUsers === 0 && p.missingUsers === 0)).toBe(true);
  });
});
