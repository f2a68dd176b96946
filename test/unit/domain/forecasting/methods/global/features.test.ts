import { describe, expect, it } from "vitest";
import {
  ANCHOR_COUNT,
  contextLength,
  encodeWindow,
  type FeatureLayout,
  inputSize,
  seriesPrefix,
  staticIndices,
  type WindowSource,
} from "../../../../../../layers/domain/forecasting/methods/global/features.js";

const layout: FeatureLayout = {
  seasonLength: 24,
  weeklySeasonLength: 168,
  horizon: 6,
  recentLags: 12,
  seasonalPre: 3,
  seasonalStride: 1,
  outputStride: 1,
  blockCount: 8,
  blockSize: 3,
  scaleWindow: 24,
  longWindow: 168,
  staticFeatures: [{ key: "tier", values: ["free", "premium"] }],
};

function daily(length: number, level = 10): number[] {
  return Array.from({ length }, (_, i) => level * (2 + Math.sin((2 * Math.PI * i) / 24)));
}

function source(values: readonly number[], overrides: Partial<WindowSource> = {}): WindowSource {
  return {
    values,
    prefix: seriesPrefix(values),
    first: 0,
    origin: values.length,
    originSeconds: 3600 * values.length,
    stepSeconds: 3600,
    staticIndex: staticIndices(layout, { tier: "premium" }),
    cohortScale: 7,
    ...overrides,
  };
}

function encode(src: WindowSource, l: FeatureLayout = layout) {
  const input = new Float64Array(inputSize(l) + 1).fill(Number.NaN);
  const anchors = new Float64Array(l.horizon * ANCHOR_COUNT).fill(Number.NaN);
  const scale = encodeWindow(l, src, { input, inputAt: 0, anchors, anchorsAt: 0 });
  return { input, anchors, ...scale };
}

describe("encodeWindow", () => {
  it("writes exactly inputSize values and every anchor, all finite", () => {
    const { input, anchors } = encode(source(daily(400)));
    const size = inputSize(layout);
    expect(input.slice(0, size).every(Number.isFinite)).toBe(true);
    expect(input[size]).toBeNaN();
    expect(anchors.every(Number.isFinite)).toBe(true);
  });

  it("gives the same inputs for a series multiplied by a constant, and a scale multiplied by it", () => {
    const values = daily(400);
    const a = encode(source(values));
    const b = encode(source(values.map((v) => v * 1000)));
    expect(b.scale).toBeCloseTo(a.scale * 1000, 6);
    a.input.slice(0, inputSize(layout)).forEach((v, i) => {
      expect(b.input[i]).toBeCloseTo(v, 10);
    });
  });

  it("never reads the value at or after the origin", () => {
    const values = daily(400);
    const changed = [...values.slice(0, 300), ...values.slice(300).map(() => 1e9)];
    const a = encode(source(values, { origin: 300 }));
    const b = encode(source(changed, { origin: 300 }));
    expect([...b.input]).toEqual([...a.input]);
    expect([...b.anchors]).toEqual([...a.anchors]);
  });

  it("enters a missing lag as 0 with its observed flag cleared", () => {
    const values = daily(400);
    values[399] = Number.NaN;
    const { input } = encode(source(values));
    expect(input[0]).toBe(0);
    expect(input[1]).toBe(0);
    expect(input[3]).toBe(1);
  });

  it("takes the cohort's scale when the series has no history, and flags it", () => {
    const { scale, fromCohort, anchors, input } = encode(source([]));
    expect(scale).toBe(7);
    expect(fromCohort).toBe(true);
    expect([...anchors].every((a) => a === 0)).toBe(true);
    expect(input.slice(0, inputSize(layout)).every(Number.isFinite)).toBe(true);
  });

  it("hides the values before `first` as if they had never been seen", () => {
    const values = daily(400);
    const hidden = encode(source(values, { first: 400 }));
    expect(hidden.fromCohort).toBe(true);
    const partly = encode(source(values, { first: 395 }));
    expect(partly.fromCohort).toBe(false);
    // Lag 6 (index 394) is before `first`: missing.
    expect(partly.input[2 * 5 + 1]).toBe(0);
    expect(partly.input[2 * 4 + 1]).toBe(1);
  });

  it("forecasts zero for a series observed idle for a day, but not for one idle for an hour", () => {
    expect(encode(source(new Array(48).fill(0))).scale).toBe(0);
    const brief = encode(source([0, 0, 0]));
    expect(brief.scale).toBe(7);
    expect(brief.fromCohort).toBe(true);
  });

  it("anchors each step on the last value and the value one day and one week back", () => {
    const values = Array.from({ length: 400 }, (_, i) => i + 1);
    const { anchors, scale } = encode(source(values));
    const a = (h: number, k: number) => (anchors[(h - 1) * ANCHOR_COUNT + k] as number) * scale;
    expect(a(1, 0)).toBeCloseTo(400, 8);
    expect(a(1, 1)).toBeCloseTo(401 - 24, 8);
    expect(a(6, 1)).toBeCloseTo(406 - 24, 8);
    expect(a(2, 2)).toBeCloseTo(402 - 168, 8);
  });

  it("averages the seasonal lags over runs when the stride is above one", () => {
    const strided: FeatureLayout = { ...layout, seasonalStride: 3 };
    const { input } = encode(source(daily(400)), strided);
    expect(inputSize(strided)).toBeLessThan(inputSize(layout));
    expect(input.slice(0, inputSize(strided)).every(Number.isFinite)).toBe(true);
  });

  it("keeps enough history for the weekly lags", () => {
    expect(contextLength(layout)).toBeGreaterThanOrEqual(168 + 3);
  });
});

describe("staticIndices", () => {
  it("maps known values to their slot and unknown or absent ones to 'other'", () => {
    expect([...staticIndices(layout, { tier: "free" })]).toEqual([0]);
    expect([...staticIndices(layout, { tier: "gold" })]).toEqual([2]);
    expect([...staticIndices(layout, undefined)]).toEqual([2]);
  });
});
