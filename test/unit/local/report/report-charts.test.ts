import { describe, expect, it } from "vitest";
import {
  bucketStepsFor,
  buildReportCharts,
  MAX_POINTS_PER_SERIES,
  maxPerBucket,
  type TimelineChart,
} from "../../../../local/report/report-charts.js";
import { replayResultFixture } from "../../../fixtures/replay-result.js";

describe("maxPerBucket", () => {
  it("keeps each bucket's peak and ignores gaps", () => {
    expect(maxPerBucket([1, 5, 2, null, Number.NaN, null, 3], 2)).toEqual([5, 2, null, 3]);
  });

  it("leaves a series alone when each bucket is one step", () => {
    expect(maxPerBucket([0.5, 2, 1], bucketStepsFor(3, MAX_POINTS_PER_SERIES))).toEqual([
      0.5, 2, 1,
    ]);
  });
});

describe("buildReportCharts", () => {
  it("downsamples 3,000-point timelines to at most 1,500 points without losing the peak", () => {
    const result = replayResultFixture();
    const charts = buildReportCharts(result);
    const cpu = charts.timelines[0] as TimelineChart;
    expect(cpu.bucketSteps).toBe(2);
    for (const dataset of cpu.datasets) {
      expect(dataset.series.values.length).toBeLessThanOrEqual(MAX_POINTS_PER_SERIES);
      expect(dataset.series.stepMs).toBe(2 * 300 * 1000);
    }
    const demand = cpu.datasets.find((d) => d.role === "demand")!;
    const peak = Math.max(...result.timelines[0]!.demandVcpu);
    expect(Math.max(...demand.series.values.map((v) => v ?? 0))).toBeCloseTo(peak, 2);
  });

  it("draws demand, each policy's capacity, and each policy's held vCPU hidden", () => {
    const cpu = buildReportCharts(replayResultFixture()).timelines[0] as TimelineChart;
    expect(cpu.datasets.map((d) => [d.label, d.hidden])).toEqual([
      ["demand", false],
      ...["reactive", "patent", "quota", "shaper", "oracle"].map((p) => [`${p} capacity`, false]),
      ...["reactive", "patent", "quota", "shaper", "oracle"].map((p) => [`${p} held`, true]),
    ]);
  });

  it("pairs the 0.1–0.9 and 0.25–0.75 quantiles into bands, widest first, and keeps the median", () => {
    const fan = buildReportCharts(replayResultFixture()).fans[0]!;
    expect(fan.bands.map((b) => [b.lowerLevel, b.upperLevel])).toEqual([
      [0.1, 0.9],
      [0.25, 0.75],
    ]);
    expect(fan.median?.values).toHaveLength(36);
    expect(fan.actual.values.at(-1)).toBeNull();
    // History sits right before the forecast's first step.
    expect(fan.history.startMs + fan.history.values.length * fan.history.stepMs).toBe(
      fan.forecastStartMs,
    );
  });

  it("gives the denied share by tier per policy as a percent of the tier's requests", () => {
    const result = replayResultFixture();
    const denied = buildReportCharts(result).tierBars.find((c) => c.metric === "denied")!;
    const reactive = denied.datasets.find((d) => d.label === "reactive")!;
    const free = result.policies[0]!.byTier.free!;
    expect(denied.tiers).toEqual(["premium", "standard", "free"]);
    expect(reactive.percents[2]).toBeCloseTo((100 * free.denied) / free.requests, 3);
    expect(reactive.counts[2]).toBe(free.denied);
  });
});
