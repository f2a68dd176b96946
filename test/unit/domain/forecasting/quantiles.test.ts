import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  empiricalQuantile,
  parseQuantileLevel,
  rearrangeQuantiles,
  sortedFinite,
} from "../../../../layers/domain/forecasting/quantiles.js";

describe("empiricalQuantile", () => {
  it("interpolates between order statistics like R's type 7", () => {
    const sample = [1, 2, 3, 4];
    expect(empiricalQuantile(sample, 0)).toBe(1);
    expect(empiricalQuantile(sample, 1)).toBe(4);
    expect(empiricalQuantile(sample, 0.5)).toBeCloseTo(2.5, 12);
    expect(empiricalQuantile(sample, 0.1)).toBeCloseTo(1.3, 12);
  });

  it("returns the only value of a one-value sample at every level", () => {
    expect(empiricalQuantile([7], 0.01)).toBe(7);
    expect(empiricalQuantile([7], 0.99)).toBe(7);
  });

  it("refuses an empty sample or a level outside [0, 1]", () => {
    expect(() => empiricalQuantile([], 0.5)).toThrow(RangeError);
    expect(() => empiricalQuantile([1], 1.5)).toThrow(/outside/);
    expect(() => empiricalQuantile([1], Number.NaN)).toThrow(/outside/);
  });

  it("does not overflow between two huge values", () => {
    expect(empiricalQuantile([1e308, 1.5e308], 0.5)).toBeCloseTo(1.25e308, -300);
    expect(Number.isFinite(empiricalQuantile([-1.7e308, 1.7e308], 0.3))).toBe(true);
  });
});

describe("sortedFinite", () => {
  it("drops NaN and infinities and sorts numerically", () => {
    expect(sortedFinite([10, Number.NaN, 2, Number.POSITIVE_INFINITY, -1])).toEqual([-1, 2, 10]);
  });
});

describe("parseQuantileLevel", () => {
  it("reads DeepAR's quantile strings", () => {
    expect(parseQuantileLevel("0.1")).toBe(0.1);
    expect(parseQuantileLevel("0.95")).toBe(0.95);
    expect(parseQuantileLevel(".5")).toBe(0.5);
  });

  it("rejects levels outside (0, 1) and non-numbers", () => {
    for (const text of ["0", "1", "1.5", "-0.1", "abc", "", "0x1", "NaN"]) {
      expect(parseQuantileLevel(text), text).toBeUndefined();
    }
  });
});

describe("rearrangeQuantiles", () => {
  it("sorts crossing quantiles across levels at each step without touching the input", () => {
    const input = { "0.9": [1, 5], "0.1": [3, 2], "0.5": [2, 9] };
    const out = rearrangeQuantiles(input);
    expect(out).toEqual({ "0.1": [1, 2], "0.5": [2, 5], "0.9": [3, 9] });
    expect(input["0.9"]).toEqual([1, 5]);
  });

  it("gives, ordered or not, the values sorted across levels at every step", () => {
    const rows = fc.integer({ min: 1, max: 5 }).chain((steps) =>
      fc.array(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: steps, maxLength: steps }), {
        minLength: 1,
        maxLength: 6,
      }),
    );
    fc.assert(
      fc.property(rows, (drawn) => {
        const input = Object.fromEntries(drawn.map((row, i) => [String((i + 1) / 10), row]));
        const out = rearrangeQuantiles(input);
        const steps = drawn[0]?.length ?? 0;
        for (let step = 0; step < steps; step++) {
          const expected = drawn.map((row) => row[step] as number).sort((a, b) => a - b);
          expect(drawn.map((_, i) => out[String((i + 1) / 10)]?.[step])).toEqual(expected);
        }
      }),
    );
    expect(rearrangeQuantiles({})).toEqual({});
  });

  it("orders keys by the level, not the string", () => {
    const out = rearrangeQuantiles({ "0.95": [1], "0.1": [3], "0.5": [2] });
    expect(Object.keys(out)).toEqual(["0.1", "0.5", "0.95"]);
    expect(out["0.95"]).toEqual([3]);
  });
});
