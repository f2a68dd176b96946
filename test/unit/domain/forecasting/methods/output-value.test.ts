import { describe, expect, it } from "vitest";
import {
  fromSeries,
  fromWorking,
} from "../../../../../layers/domain/forecasting/methods/output-value.js";

describe("forecast values", () => {
  it("report a value negligible next to the series' unit as exactly 0", () => {
    // An exponentially decaying level stops at the smallest double, not at 0.
    expect(fromWorking(5e-324, 2471, true)).toBe(0);
    expect(fromSeries(1e-320, 2471, false)).toBe(0);
    expect(fromSeries(1e-6, 2471, false)).toBe(1e-6);
  });

  it("clamp at 0 for non-negative data only", () => {
    expect(fromWorking(-0.5, 10, true)).toBe(0);
    expect(fromWorking(-0.5, 10, false)).toBe(-5);
  });

  it("stay finite: overflow is clamped and NaN becomes 0", () => {
    expect(fromWorking(10, Number.MAX_VALUE, false)).toBe(Number.MAX_VALUE);
    expect(fromSeries(Number.NEGATIVE_INFINITY, 1, false)).toBe(-Number.MAX_VALUE);
    expect(fromWorking(Number.NaN, 1, false)).toBe(0);
  });
});
