import { describe, expect, it } from "vitest";
import type { ResourceForecast } from "../../../../layers/domain/forecast.js";
import {
  addErrorSummaries,
  coverage80,
  emptyErrorSummary,
  forecastRunId,
  pinballLoss,
  scoreForecast,
  totalError,
  WQL_LEVELS,
  weightedQuantileLoss,
} from "../../../../layers/domain/forecasting/forecast-error.js";

/** A forecast whose every decile is `value` at every step. */
function flat(value: number, steps: number): ResourceForecast {
  return {
    mean: new Array(steps).fill(value),
    quantiles: Object.fromEntries(WQL_LEVELS.map((q) => [String(q), new Array(steps).fill(value)])),
  };
}

describe("pinballLoss", () => {
  it("weighs under- and over-prediction by the level", () => {
    expect(pinballLoss(10, 8, 0.9)).toBeCloseTo(1.8, 12);
    expect(pinballLoss(8, 10, 0.9)).toBeCloseTo(0.2, 12);
    expect(pinballLoss(5, 5, 0.3)).toBe(0);
  });
});

describe("scoreForecast", () => {
  it("sums 2·pinball over the deciles and |y| over the scored steps", () => {
    const summary = scoreForecast(flat(10, 3), [10, 12, Number.NaN]);
    // Step 0 is exact; step 1 under-predicts by 2 at every decile: Σ 2·q·2 = 4·4.5 = 18.
    expect(summary.points).toBe(2);
    expect(summary.absActualSum).toBe(22);
    expect(summary.pinballSum).toBeCloseTo(18, 12);
    expect(summary.quantileCount).toBe(9);
    expect(summary.covered80).toBe(1);
  });

  it("skips steps without an actual and steps past the shorter side", () => {
    expect(scoreForecast(flat(1, 2), [Number.NaN, Number.NaN, 5]).points).toBe(0);
    expect(scoreForecast(flat(1, 2), [1, 1, 1, 1]).points).toBe(2);
  });

  it("refuses a forecast without the deciles", () => {
    expect(() => scoreForecast({ mean: [1], quantiles: { "0.5": [1] } }, [1])).toThrow(/0\.1/);
  });
});

describe("weightedQuantileLoss and coverage80", () => {
  it("computes wQL as pinballSum / (quantiles · Σ|y|) and coverage as a share", () => {
    const summary = { pinballSum: 18, absActualSum: 20, quantileCount: 9, points: 4, covered80: 3 };
    expect(weightedQuantileLoss(summary)).toBeCloseTo(0.1, 12);
    expect(coverage80(summary)).toBe(0.75);
  });

  it("is undefined when nothing was scored or every actual was zero", () => {
    expect(weightedQuantileLoss(emptyErrorSummary())).toBeUndefined();
    expect(coverage80(emptyErrorSummary())).toBeUndefined();
    expect(
      weightedQuantileLoss({ ...emptyErrorSummary(), points: 3, pinballSum: 2 }),
    ).toBeUndefined();
  });
});

describe("addErrorSummaries", () => {
  it("adds field by field", () => {
    const a = scoreForecast(flat(10, 2), [11, 9]);
    const b = scoreForecast(flat(5, 1), [8]);
    const sum = addErrorSummaries(a, b);
    expect(sum.points).toBe(3);
    expect(sum.absActualSum).toBe(28);
    expect(sum.pinballSum).toBeCloseTo(a.pinballSum + b.pinballSum, 12);
    expect(totalError({ x: a, y: b })).toEqual(sum);
  });

  it("rescales a summary made over a different number of quantiles", () => {
    const nine = { pinballSum: 9, absActualSum: 10, quantileCount: 9, points: 1, covered80: 1 };
    const three = { pinballSum: 3, absActualSum: 10, quantileCount: 3, points: 1, covered80: 0 };
    const sum = addErrorSummaries(nine, three);
    // Each part has wQL 0.1, so the sum must too.
    expect(weightedQuantileLoss(sum)).toBeCloseTo(0.1, 12);
  });

  it("leaves a summary unchanged when the other is empty", () => {
    const a = { pinballSum: 1, absActualSum: 2, quantileCount: 9, points: 1, covered80: 0 };
    expect(addErrorSummaries(a, emptyErrorSummary())).toEqual(a);
    expect(addErrorSummaries(emptyErrorSummary(), a)).toEqual(a);
  });
});

describe("forecastRunId", () => {
  it("is the window end as 12 zero-padded digits, sorting as time", () => {
    expect(forecastRunId(1_795_814_400)).toBe("001795814400");
    expect(forecastRunId(999) < forecastRunId(1_000)).toBe(true);
  });
});
