import { describe, expect, it } from "vitest";
import {
  batchGroups,
  renewalReason,
  scoreAgainstHistory,
  tierCategory,
  toResourceForecast,
} from "../../../../layers/domain/forecasting/forecast-assembly.js";
import { WQL_LEVELS } from "../../../../layers/domain/forecasting/forecast-error.js";
import { testConfig } from "../../../fixtures/config.js";

describe("tierCategory", () => {
  it("numbers tiers in config order and puts pools and unknown tiers one past the last", () => {
    const config = testConfig();
    expect(tierCategory(config, "premium")).toBe(0);
    expect(tierCategory(config, "free")).toBe(2);
    expect(tierCategory(config, "gold")).toBe(3);
    expect(tierCategory(config, undefined)).toBe(3);
  });
});

describe("batchGroups", () => {
  it("packs groups up to the series limit without splitting one", () => {
    const groups = [3, 2, 2, 1, 5, 1].map((n, i) => ({ id: i, n }));
    const batches = batchGroups(groups, (g) => g.n, 5);
    expect(batches.map((b) => b.map((g) => g.id))).toEqual([[0, 1], [2, 3], [4], [5]]);
  });

  it("gives an oversized group a batch of its own and handles no groups", () => {
    expect(batchGroups([{ n: 9 }, { n: 1 }], (g) => g.n, 4)).toHaveLength(2);
    expect(batchGroups([], () => 1, 4)).toEqual([]);
  });
});

describe("toResourceForecast", () => {
  it("cuts the mean and the configured quantiles to the horizon", () => {
    const out = toResourceForecast(
      { mean: [1, 2, 3], quantiles: { "0.1": [0, 1, 2], "0.9": [2, 3, 4], "0.5": [1, 2, 3] } },
      [0.1, 0.9],
      2,
    );
    expect(out).toEqual({ mean: [1, 2], quantiles: { "0.1": [0, 1], "0.9": [2, 3] } });
  });

  it("refuses output shorter than the horizon or without a configured quantile", () => {
    expect(() => toResourceForecast({ mean: [1], quantiles: { "0.1": [1] } }, [0.1], 2)).toThrow(
      /expected at least 2/,
    );
    expect(() => toResourceForecast({ mean: [1], quantiles: {} }, [0.1], 1)).toThrow(
      /quantile 0\.1/,
    );
  });
});

describe("scoreAgainstHistory", () => {
  const deciles = (v: number, n: number) =>
    Object.fromEntries(WQL_LEVELS.map((q) => [String(q), new Array(n).fill(v)]));
  const old = {
    start: 3_000,
    intervalSeconds: 300,
    horizon: 3,
    byResource: { vcpu: { mean: [4, 4, 4], quantiles: deciles(4, 3) } },
  };

  it("scores the steps whose actuals have arrived and skips the rest", () => {
    // History covers 2_400 … 3_300: the old forecast's steps 3_000 and 3_300 are in it, 3_600 not.
    const series = { vcpu: { start: 2_400, target: [1, 1, 6, Number.NaN] } };
    const summary = scoreAgainstHistory(old, series, 300);
    expect(summary.points).toBe(1);
    expect(summary.absActualSum).toBe(6);
  });

  it("scores nothing when the interval length changed", () => {
    const series = { vcpu: { start: 2_400, target: [1, 1, 6, 6] } };
    expect(scoreAgainstHistory(old, series, 600).points).toBe(0);
  });
});

describe("renewalReason", () => {
  const step = 300;
  const start = 6_000;
  const band = (low: number, high: number) => ({
    mean: Array(12).fill((low + high) / 2),
    quantiles: { "0.1": Array(12).fill(low), "0.9": Array(12).fill(high) },
  });
  const previous = {
    start,
    intervalSeconds: step,
    horizon: 12,
    byResource: { vcpu: band(2, 6), memoryGiB: band(8, 8) },
  };
  /** Usage from `start`, one value per interval. */
  const usage = (vcpu: number[], memoryGiB: number[]) => ({
    vcpu: { start, target: vcpu },
    memoryGiB: { start, target: memoryGiB },
  });
  const resources = ["vcpu", "memoryGiB"] as const;
  const at = (age: number) => start + age * step;

  it("keeps a young forecast whose 80 % band held every actual that arrived", () => {
    const series = usage([2, 6, 4], [8, 8, 8]);
    expect(renewalReason(previous, series, resources, at(3), step, 6)).toBeUndefined();
  });

  it("keeps it through missing actuals, which say nothing", () => {
    const series = usage([Number.NaN, 5], [8]);
    expect(renewalReason(previous, series, resources, at(2), step, 6)).toBeUndefined();
  });

  it("renews when an actual leaves the band of any resource, above or below", () => {
    expect(renewalReason(previous, usage([4, 6.5], [8, 8]), resources, at(2), step, 6)).toBe(
      "vcpu left its 80 % band",
    );
    expect(renewalReason(previous, usage([4, 4], [8, 7.9]), resources, at(2), step, 6)).toBe(
      "memoryGiB left its 80 % band",
    );
  });

  it("renews a forecast refreshIntervals old, and every run with refreshIntervals 1", () => {
    const series = usage([4, 4, 4, 4, 4, 4], [8, 8, 8, 8, 8, 8]);
    expect(renewalReason(previous, series, resources, at(6), step, 6)).toBe(
      "it is 6 intervals old",
    );
    expect(renewalReason(previous, series, resources, at(5), step, 6)).toBeUndefined();
    expect(renewalReason(previous, series, resources, at(1), step, 1)).toBe("renewed every run");
  });

  it("renews a cold-start answer, one of another interval or without a band, and a rerun", () => {
    const series = usage([4], [8]);
    expect(renewalReason({ ...previous, coldStart: true }, series, resources, at(1), step, 6)).toBe(
      "it was a cold-start answer",
    );
    expect(renewalReason(previous, series, resources, at(1), 60, 6)).toBe(
      "the interval length changed",
    );
    expect(renewalReason(previous, series, ["vcpu", "gpu"], at(1), step, 6)).toBe(
      "it has no 80 % band of gpu",
    );
    expect(renewalReason(previous, series, resources, at(0), step, 6)).toBe(
      "it does not start before this window",
    );
  });
});
