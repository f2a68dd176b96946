import { describe, expect, it } from "vitest";
import {
  buildPoolUsageSeries,
  buildUsageSeries,
  type GridSeries,
  gridFromFirstRecord,
  gridShape,
  trimLeadingMissing,
  usageTarget,
} from "../../../../layers/domain/forecasting/usage-series.js";
import type {
  PoolUsagePartial,
  RequestStats,
  UsageRecord,
} from "../../../../layers/domain/usage.js";

const T0 = 1_800_000_000 - (1_800_000_000 % 300);
const grid = { from: T0, to: T0 + 5 * 300, intervalSeconds: 300 };

function record(i: number, usage: UsageRecord["usage"], requests?: RequestStats): UsageRecord {
  return {
    userId: "acme",
    pool: "cpu",
    intervalStart: T0 + i * 300,
    usage,
    ...(requests ? { requests } : {}),
  };
}

const asked: RequestStats = {
  count: 2,
  requested: { vcpu: 8 },
  amountSeconds: { vcpu: 4800 },
  granted: { vcpu: 6 },
};

describe("gridShape", () => {
  it("aligns the start down and counts intervals in [from, to)", () => {
    expect(gridShape({ from: T0 + 10, to: T0 + 900, intervalSeconds: 300 })).toEqual({
      start: T0,
      length: 3,
    });
    expect(gridShape({ from: T0, to: T0, intervalSeconds: 300 })).toEqual({ start: T0, length: 0 });
  });
});

describe("usageTarget", () => {
  it("takes observed usage first", () => {
    expect(usageTarget(record(0, { vcpu: 3 }, asked), "vcpu")).toBe(3);
  });

  it("falls back to the amount granted when usage is missing and the user asked", () => {
    expect(usageTarget(record(0, null, asked), "vcpu")).toBe(6);
    expect(usageTarget(record(0, null, asked), "memoryGiB")).toBe(0);
  });

  it("reads a resource without a datapoint as missing, not zero", () => {
    expect(usageTarget(record(0, { vcpu: 3 }), "memoryGiB")).toBeNaN();
  });

  it("is missing when usage is missing and nobody asked", () => {
    const idle: RequestStats = { count: 0, requested: {}, amountSeconds: {}, granted: {} };
    expect(usageTarget(record(0, null, idle), "vcpu")).toBeNaN();
    expect(usageTarget(record(0, null), "vcpu")).toBeNaN();
  });
});

describe("buildUsageSeries", () => {
  it("places records on the grid and leaves absent or missing intervals NaN", () => {
    const out = buildUsageSeries(
      [
        record(0, { vcpu: 1, memoryGiB: 4 }),
        record(2, null),
        record(3, null, asked),
        record(4, { vcpu: 0 }),
      ],
      ["vcpu", "memoryGiB"],
      grid,
    );
    expect(out.vcpu?.start).toBe(T0);
    expect(out.vcpu?.target).toEqual([1, Number.NaN, Number.NaN, 6, 0]);
    expect(out.memoryGiB?.target).toEqual([4, Number.NaN, Number.NaN, 0, Number.NaN]);
  });

  it("ignores records off the grid", () => {
    const off = { ...record(1, { vcpu: 9 }), intervalStart: T0 + 301 };
    const before = record(-1, { vcpu: 9 });
    const after = record(5, { vcpu: 9 });
    expect(
      buildUsageSeries([off, before, after], ["vcpu"], grid).vcpu?.target.every(Number.isNaN),
    ).toBe(true);
  });
});

describe("gridFromFirstRecord", () => {
  it("starts the grid at the earliest record on it, whatever the records' order", () => {
    const records = [record(3, { vcpu: 1 }), record(2, null), record(4, { vcpu: 2 })];
    expect(gridFromFirstRecord(records, grid)).toEqual({ ...grid, from: T0 + 2 * 300 });
  });

  it("ignores records off the grid and keeps only the last interval when none is on it", () => {
    const off = { ...record(1, { vcpu: 9 }), intervalStart: T0 + 301 };
    const records = [off, record(-1, { vcpu: 9 }), record(5, { vcpu: 9 })];
    expect(gridFromFirstRecord(records, grid)).toEqual({ ...grid, from: T0 + 4 * 300 });
  });

  it("builds, from the shorter grid, what trimming the full grid's series gives", () => {
    const records = [record(2, null), record(3, null, asked), record(4, { vcpu: 0 })];
    const full = buildUsageSeries(records, ["vcpu"], grid).vcpu as GridSeries;
    const short = buildUsageSeries(records, ["vcpu"], gridFromFirstRecord(records, grid))
      .vcpu as GridSeries;
    expect(trimLeadingMissing(short, 300)).toEqual(trimLeadingMissing(full, 300));
    expect(short.target).toHaveLength(3);
  });
});

describe("buildPoolUsageSeries", () => {
  function partial(
    i: number,
    shard: number,
    usage: PoolUsagePartial["usage"],
    reporting = 1,
    missing = 0,
  ): PoolUsagePartial {
    return {
      pool: "cpu",
      intervalStart: T0 + i * 300,
      shard,
      usage,
      reportingUsers: reporting,
      missingUsers: missing,
    };
  }

  it("sums the shards' partials per interval", () => {
    const out = buildPoolUsageSeries(
      [partial(0, 0, { vcpu: 2 }), partial(0, 1, { vcpu: 3, memoryGiB: 8 })],
      ["vcpu", "memoryGiB"],
      grid,
      2,
    );
    expect(out.vcpu?.target[0]).toBe(5);
    expect(out.memoryGiB?.target[0]).toBe(8);
  });

  it("marks an interval missing when a shard's partial is absent or nobody reported", () => {
    const out = buildPoolUsageSeries(
      [
        partial(0, 0, { vcpu: 2 }), // shard 1 absent: the sum would be short
        partial(1, 0, {}, 0, 3),
        partial(1, 1, {}, 0, 1),
        partial(2, 0, {}, 0, 0),
        partial(2, 1, {}, 0, 0),
        partial(3, 0, { memoryGiB: 1 }),
        partial(3, 1, {}, 0, 0),
      ],
      ["vcpu"],
      grid,
      2,
    );
    // 0: incomplete; 1: users expected, none reported; 2: no users at all (0);
    // 3: users reported but not vcpu; 4: no partial.
    expect(out.vcpu?.target).toEqual([Number.NaN, Number.NaN, 0, Number.NaN, Number.NaN]);
  });

  it("accepts any partial when no shard count is given", () => {
    const out = buildPoolUsageSeries([partial(0, 3, { vcpu: 2 })], ["vcpu"], grid);
    expect(out.vcpu?.target[0]).toBe(2);
  });
});

describe("trimLeadingMissing", () => {
  it("drops missing values before the first observation and moves the start", () => {
    expect(
      trimLeadingMissing({ start: T0, target: [Number.NaN, Number.NaN, 3, Number.NaN] }, 300),
    ).toEqual({
      start: T0 + 600,
      target: [3, Number.NaN],
    });
  });

  it("keeps the last value of an all-missing series", () => {
    expect(trimLeadingMissing({ start: T0, target: [Number.NaN, Number.NaN] }, 300)).toEqual({
      start: T0 + 300,
      target: [Number.NaN],
    });
  });
});
