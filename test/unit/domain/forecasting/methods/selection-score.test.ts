import { describe, expect, it } from "vitest";
import { WQL_LEVELS } from "../../../../../layers/domain/forecasting/forecast-error.js";
import { sortedQuantile } from "../../../../../layers/domain/forecasting/methods/error-calibrator.js";
import {
  combineMatrices,
  conformalBlockLosses,
  conformalScore,
  pairedTStatistic,
  type SpanLayout,
  studentQuantile,
} from "../../../../../layers/domain/forecasting/methods/selection-score.js";

/** The score written out the slow way: 2·Σ pinball of point + scale·Q_τ(step errors). */
function slowScore(values: number[], matrix: number[], span: SpanLayout): number {
  let loss = 0;
  for (let h = 0; h < span.horizon; h++) {
    const pairs: { o: number; e: number }[] = [];
    for (let o = 0; o < span.origins; o++) {
      const t = span.from + o * span.stride + h;
      if (t >= span.end || !Number.isFinite(values[t])) continue;
      pairs.push({
        o,
        e:
          ((values[t] as number) - (matrix[o * span.horizon + h] as number)) /
          (span.scales[o] as number),
      });
    }
    const sorted = pairs.map((p) => p.e).sort((a, b) => a - b);
    for (const level of WQL_LEVELS) {
      const q = sortedQuantile(sorted, sorted.length, level);
      for (const { o, e } of pairs) {
        const s = span.scales[o] as number;
        const d = e - q;
        loss += 2 * s * (d >= 0 ? level * d : (level - 1) * d);
      }
    }
  }
  return loss;
}

describe("conformalScore", () => {
  const values = [3, 8, 1, 9, 4, Number.NaN, 7, 2, 6, 5, 10, 0];
  const matrix = [5, 5, 4, 6, 6, 4, 3, 7, 5, 5, 6, 6];

  it("equals the pinball loss of the conformal quantiles, with one scale for every origin", () => {
    const span: SpanLayout = {
      from: 2,
      end: 12,
      origins: 5,
      stride: 2,
      horizon: 2,
      scales: new Float64Array(5).fill(2),
    };
    const score = conformalScore(values, Float64Array.from(matrix), span, new Float64Array(5));
    expect(score).toBeCloseTo(slowScore(values, matrix, span), 10);
  });

  it("equals it with a different scale at each origin", () => {
    const span: SpanLayout = {
      from: 2,
      end: 12,
      origins: 5,
      stride: 2,
      horizon: 2,
      scales: Float64Array.from([1, 2, 0.5, 3, 1]),
    };
    const score = conformalScore(values, Float64Array.from(matrix), span, new Float64Array(5));
    expect(score).toBeCloseTo(slowScore(values, matrix, span), 10);
  });

  it("is infinite when nothing can be scored", () => {
    const span: SpanLayout = {
      from: 5,
      end: 6,
      origins: 1,
      stride: 1,
      horizon: 1,
      scales: new Float64Array(1).fill(1),
    };
    expect(conformalScore(values, new Float64Array(1), span, new Float64Array(1))).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe("combineMatrices", () => {
  it("combines candidates origin by origin", () => {
    // Three candidates, two origins, horizon 2: blocks of 4 values each.
    const points = Float64Array.from([1, 1, 1, 1, 2, 2, 2, 2, 9, 9, 9, 9]);
    const out = new Float64Array(4);
    combineMatrices(
      points,
      4,
      [0, 1, 2],
      "median",
      { origins: 2, horizon: 2 },
      out,
      new Float64Array(6),
      new Float64Array(3),
    );
    expect(Array.from(out)).toEqual([2, 2, 2, 2]);
    combineMatrices(
      points,
      4,
      [0, 2],
      "mean",
      { origins: 2, horizon: 2 },
      out,
      new Float64Array(6),
      new Float64Array(3),
    );
    expect(Array.from(out)).toEqual([5, 5, 5, 5]);
  });
});

describe("conformalBlockLosses", () => {
  const values = [3, 8, 1, 9, 4, Number.NaN, 7, 2, 6, 5, 10, 0, 4, 4];
  const matrix = [5, 5, 4, 6, 6, 4, 3, 7, 5, 5, 6, 6, 2, 8];
  const sum = (xs: Float64Array, n: number) => xs.subarray(0, n).reduce((a, b) => a + b, 0);

  it.each([
    ["one scale", new Float64Array(7).fill(2)],
    ["a scale per origin", Float64Array.from([1, 2, 0.5, 3, 1, 2, 4])],
  ])("splits the conformal score by blocks of origins (%s)", (_, scales) => {
    const span: SpanLayout = { from: 0, end: 14, origins: 7, stride: 2, horizon: 2, scales };
    const blocks = new Float64Array(4);
    const written = conformalBlockLosses(
      values,
      Float64Array.from(matrix),
      span,
      2,
      new Float64Array(7),
      blocks,
    );
    expect(written).toBe(4);
    const total = conformalScore(values, Float64Array.from(matrix), span, new Float64Array(7));
    expect(sum(blocks, written)).toBeCloseTo(total, 10);
    // One origin per block: the same total, origin by origin.
    const perOrigin = new Float64Array(7);
    conformalBlockLosses(
      values,
      Float64Array.from(matrix),
      span,
      1,
      new Float64Array(7),
      perOrigin,
    );
    expect(sum(perOrigin, 7)).toBeCloseTo(total, 10);
    expect(Math.max(...perOrigin)).toBeLessThan(total);
  });

  it("gives zero to the blocks of a flat stretch that a rare jump leaves exact", () => {
    // One jump among 12 one-step forecasts: every decile of the errors is 0.
    const steps = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 9];
    const span: SpanLayout = {
      from: 0,
      end: 12,
      origins: 12,
      stride: 1,
      horizon: 1,
      scales: new Float64Array(12).fill(1),
    };
    const out = new Float64Array(3);
    conformalBlockLosses(steps, new Float64Array(12).fill(5), span, 4, new Float64Array(12), out);
    expect(Array.from(out.subarray(0, 2))).toEqual([0, 0]);
    expect(out[2]).toBeGreaterThan(0);
  });
});

describe("pairedTStatistic", () => {
  it("is the mean difference over its standard error", () => {
    const a = [3, 5, 4, 6];
    const b = [4, 5, 6, 8];
    // Differences −1, 0, −2, −2: mean −1.25, sample sd √(2.75 / 3).
    const expected = -1.25 / Math.sqrt(2.75 / 3 / 4);
    expect(pairedTStatistic(a, b, 4)).toBeCloseTo(expected, 12);
    expect(pairedTStatistic(b, a, 4)).toBeCloseTo(-expected, 12);
  });

  it("is infinite for a constant nonzero difference and 0 when there is no evidence", () => {
    expect(pairedTStatistic([1, 1, 1], [2, 2, 2], 3)).toBe(Number.NEGATIVE_INFINITY);
    expect(pairedTStatistic([3, 3], [2, 2], 2)).toBe(Number.POSITIVE_INFINITY);
    expect(pairedTStatistic([1, 2, 3], [1, 2, 3], 3)).toBe(0);
    expect(pairedTStatistic([1], [5], 1)).toBe(0);
  });

  it("cannot reach significance from one differing block among many", () => {
    const a = new Array(20).fill(1);
    const b = [...a];
    b[7] = 1000;
    // One block in k differs: t = −√(k / (k − 1))... about −1 whatever its size.
    expect(pairedTStatistic(a, b, 20)).toBeCloseTo(-1, 10);
  });
});

describe("studentQuantile", () => {
  it("matches Student's t quantiles (97.5 %) from 4 degrees of freedom on", () => {
    const z = 1.959964;
    for (const [df, t] of [
      [4, 2.776445],
      [6, 2.446912],
      [10, 2.228139],
      [24, 2.063899],
      [120, 1.97993],
    ] as const) {
      expect(Math.abs(studentQuantile(z, df) - t) / t).toBeLessThan(0.01);
    }
  });

  it("asks for more than the normal quantile with few degrees of freedom", () => {
    for (const df of [1, 2, 3]) expect(studentQuantile(1.96, df)).toBeGreaterThan(2.5);
    expect(studentQuantile(1.96, 1e9)).toBeCloseTo(1.96, 6);
  });
});
