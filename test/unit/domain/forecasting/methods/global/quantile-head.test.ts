import { describe, expect, it } from "vitest";
import {
  headForward,
  headInputSize,
  headLoss,
  headScratch,
  inverseSoftplus,
  middleLevelIndex,
  type QuantileHeadShape,
  softplus,
} from "../../../../../../layers/domain/forecasting/methods/global/quantile-head.js";
import { seededRandom } from "../../../../../../layers/domain/forecasting/methods/global/random.js";

const shape: QuantileHeadShape = {
  horizon: 3,
  levels: [0.1, 0.3, 0.5, 0.8, 0.95],
  anchorCount: 2,
  outputStride: 1,
};
/** Five steps from knots at steps 0, 2 and 4. */
const strided: QuantileHeadShape = { ...shape, horizon: 5, outputStride: 2 };

function sample(seed: number, head: QuantileHeadShape = shape) {
  const random = seededRandom(seed);
  const normals = (n: number, sd = 1) =>
    Float64Array.from({ length: n }, () => sd * random.normal());
  return {
    alpha: normals(head.horizon * head.anchorCount, 0.1),
    raw: normals(headInputSize(head)),
    anchors: normals(head.horizon * head.anchorCount),
    // Targets far from the quantiles' kinks, one missing.
    targets: Float64Array.from([3, Number.NaN, -2.5, 4, -3].slice(0, head.horizon)),
  };
}

function quantilesOf(s: ReturnType<typeof sample>, head: QuantileHeadShape = shape): Float64Array {
  const out = new Float64Array(head.horizon * head.levels.length);
  headForward(head, s.alpha, 0, s.raw, 0, s.anchors, 0, headScratch(head), out);
  return out;
}

function loss(s: ReturnType<typeof sample>, weight = 1, head: QuantileHeadShape = shape): number {
  return headLoss(
    head,
    s.alpha,
    0,
    s.raw,
    0,
    s.anchors,
    0,
    s.targets,
    0,
    weight,
    headScratch(head),
    new Float64Array(head.horizon * head.levels.length),
    new Float64Array(s.raw.length),
    new Float64Array(s.alpha.length),
  );
}

describe("quantile head", () => {
  it("builds the other levels from the one nearest the median", () => {
    expect(middleLevelIndex([0.1, 0.5, 0.9])).toBe(1);
    expect(middleLevelIndex([0.1, 0.45, 0.9])).toBe(1);
    expect(middleLevelIndex([0.9])).toBe(0);
  });

  it("inverts softplus", () => {
    for (const y of [1e-6, 0.05, 1, 40]) expect(softplus(inverseSoftplus(y))).toBeCloseTo(y, 8);
  });

  it("gives quantiles that rise with their level at every step, whatever the raw outputs", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const s = sample(seed);
      for (let i = 0; i < s.raw.length; i++) s.raw[i] = (s.raw[i] as number) * 10;
      const out = quantilesOf(s);
      for (let h = 0; h < shape.horizon; h++) {
        for (let j = 1; j < shape.levels.length; j++) {
          const row = h * shape.levels.length;
          expect(out[row + j]).toBeGreaterThanOrEqual(out[row + j - 1] as number);
        }
      }
    }
  });

  it("computes the pinball loss of its quantiles", () => {
    const s = sample(3);
    const out = quantilesOf(s);
    let expected = 0;
    for (const h of [0, 2]) {
      const y = s.targets[h] as number;
      shape.levels.forEach((tau, j) => {
        const q = out[h * shape.levels.length + j] as number;
        expected += Math.max(tau * (y - q), (tau - 1) * (y - q));
      });
    }
    expect(loss(s, 0.5)).toBeCloseTo(0.5 * expected, 10);
  });

  it.each([
    ["every step", shape],
    ["knots every other step", strided],
  ])(
    "has gradients for the raw outputs, the spread and the anchor weights that match finite differences (%s)",
    (_, head) => {
      for (let seed = 1; seed <= 5; seed++) {
        const s = sample(seed, head);
        const rawGrad = new Float64Array(s.raw.length);
        const alphaGrad = new Float64Array(s.alpha.length);
        headLoss(
          head,
          s.alpha,
          0,
          s.raw,
          0,
          s.anchors,
          0,
          s.targets,
          0,
          1,
          headScratch(head),
          new Float64Array(head.horizon * head.levels.length),
          rawGrad,
          alphaGrad,
        );
        const eps = 1e-7;
        const check = (values: Float64Array, analytic: Float64Array) => {
          for (let i = 0; i < values.length; i++) {
            const kept = values[i] as number;
            values[i] = kept + eps;
            const plus = loss(s, 1, head);
            values[i] = kept - eps;
            const minus = loss(s, 1, head);
            values[i] = kept;
            expect(analytic[i]).toBeCloseTo((plus - minus) / (2 * eps), 5);
          }
        };
        check(s.raw, rawGrad);
        check(s.alpha, alphaGrad);
      }
    },
  );

  it("interpolates the steps between knots", () => {
    const s = sample(6, strided);
    const out = quantilesOf(s, strided);
    // With zero anchors and spread 1, the median at step 1 is the mean of knots 0 and 1.
    s.anchors.fill(0);
    s.raw[headInputSize(strided) - 1] = 0;
    const flat = quantilesOf(s, strided);
    const count = strided.levels.length;
    const mid = 2;
    expect(flat[count + mid]).toBeCloseTo(
      ((s.raw[mid] as number) + (s.raw[count + mid] as number)) / 2,
      12,
    );
    expect(out).toHaveLength(strided.horizon * count);
  });

  it("gives no gradient when every target is missing", () => {
    const s = sample(4);
    s.targets.fill(Number.NaN);
    const rawGrad = new Float64Array(s.raw.length).fill(9);
    const alphaGrad = new Float64Array(s.alpha.length);
    headLoss(
      shape,
      s.alpha,
      0,
      s.raw,
      0,
      s.anchors,
      0,
      s.targets,
      0,
      1,
      headScratch(shape),
      new Float64Array(shape.horizon * shape.levels.length),
      rawGrad,
      alphaGrad,
    );
    expect([...rawGrad].every((g) => g === 0)).toBe(true);
    expect([...alphaGrad].every((g) => g === 0)).toBe(true);
  });
});
