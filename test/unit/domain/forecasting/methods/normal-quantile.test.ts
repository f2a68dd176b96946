import { describe, expect, it } from "vitest";
import { normalQuantile } from "../../../../../layers/domain/forecasting/methods/normal-quantile.js";

describe("normalQuantile", () => {
  it("matches tabulated values of the standard normal", () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.9)).toBeCloseTo(1.281552, 6);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });

  it("is antisymmetric around ½ and monotone", () => {
    let previous = Number.NEGATIVE_INFINITY;
    for (let p = 0.005; p < 1; p += 0.005) {
      const z = normalQuantile(p);
      expect(z).toBeGreaterThan(previous);
      expect(normalQuantile(1 - p)).toBeCloseTo(-z, 7);
      previous = z;
    }
  });

  it("gives infinities at 0 and 1 and NaN outside [0, 1]", () => {
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});
