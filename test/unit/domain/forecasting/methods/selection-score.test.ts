import { describe, expect, it } from "vitest";
import { WQL_LEVELS } from "../../../../../layers/domain/forecasting/forecast-error.js";
import { sortedQuantile } from "../../../../../layers/domain/forecasting/methods/error-calibrator.js";
import {
  combineMatrices,
  conformalScore,
  type SpanLayout,
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
