import { describe, expect, it } from "vitest";
import {
  type ConformalForecaster,
  conformalMethod,
} from "../../../../../layers/domain/forecasting/methods/conformal.js";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import type {
  FittedMethod,
  ForecastMethod,
  QuantileForecast,
  SeriesForecaster,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { contextOf, gaussian, seriesOf } from "./series-fixtures.js";

/** A point method that always forecasts `value`, with no intervals of its own (all at `value`). */
function constantMethod(value: number): ForecastMethod {
  return {
    name: "constant",
    fit(_series, context): FittedMethod {
      return {
        name: "constant",
        forSeries(): SeriesForecaster {
          return {
            advanceTo() {},
            forecast(horizon: number): QuantileForecast {
              const row = () => new Float64Array(horizon).fill(value);
              return { mean: row(), quantiles: context.quantiles.map(row) };
            },
          };
        },
      };
    },
  };
}

async function fitOne(
  method: ForecastMethod,
  values: readonly number[],
  context = contextOf(24, 4),
) {
  const fitted = await method.fit([seriesOf(values)], context);
  return fitted.forSeries(0) as ConformalForecaster;
}

describe("conformalMethod", () => {
  it("adds the empirical quantiles of the point method's out-of-sample errors", async () => {
    // Errors of a constant forecast of 10 against a series cycling 8, 10, 12: the quantiles
    // of {−2, 0, 2} at every step.
    const values = Array.from({ length: 300 }, (_, t) => 10 + 2 * ((t % 3) - 1));
    const f = await fitOne(conformalMethod(constantMethod(10)), values);
    const forecast = f.forecast(4);
    expect(Array.from(forecast.mean)).toEqual([10, 10, 10, 10]);
    const q = (k: number) => forecast.quantiles[k]?.[0] as number;
    expect(q(0)).toBeCloseTo(8, 4);
    expect(q(4)).toBeCloseTo(10, 4);
    expect(q(8)).toBeCloseTo(12, 4);
  });

  it("gives zero-width intervals around a constant series", async () => {
    const f = await fitOne(conformalMethod(etsMethod()), new Array(200).fill(7.5));
    const forecast = f.forecast(4);
    for (const row of forecast.quantiles) {
      for (const v of row) expect(v).toBeCloseTo(7.5, 4);
    }
  });

  it("covers about 80 % of new outcomes with its 80 % interval", async () => {
    const draw = gaussian(11);
    const values = Array.from({ length: 3000 }, (_, t) => 100 + 10 * Math.sin(t / 5) + 5 * draw());
    const context = contextOf(24, 6, { trainEnd: [1000] });
    const fitted = await conformalMethod(etsMethod({ seasonality: "none" })).fit(
      [seriesOf(values)],
      context,
    );
    const f = fitted.forSeries(0);
    let covered = 0;
    let scored = 0;
    for (let origin = 1000; origin + 6 <= values.length; origin += 6) {
      f.advanceTo(origin);
      const forecast = f.forecast(6);
      for (let h = 0; h < 6; h++) {
        const y = values[origin + h] as number;
        scored++;
        if (
          y >= (forecast.quantiles[0]?.[h] as number) &&
          y <= (forecast.quantiles[8]?.[h] as number)
        ) {
          covered++;
        }
      }
    }
    expect(covered / scored).toBeGreaterThan(0.75);
    expect(covered / scored).toBeLessThan(0.85);
  });

  it("keeps learning from the errors of its own forecasts as actuals arrive", async () => {
    // Calm training, then the noise grows: the intervals must widen without a refit.
    const draw = gaussian(4);
    const values = Array.from({ length: 1400 }, (_, t) => 50 + (t < 600 ? 0.5 : 8) * draw());
    const context = contextOf(24, 3, { trainEnd: [600] });
    const fitted = await conformalMethod(constantMethod(50)).fit([seriesOf(values)], context);
    const f = fitted.forSeries(0);
    const width = (forecast: QuantileForecast) =>
      (forecast.quantiles[8]?.[0] as number) - (forecast.quantiles[0]?.[0] as number);
    const before = width(f.forecast(3));
    f.advanceTo(1400);
    const after = width(f.forecast(3));
    expect(before).toBeLessThan(2);
    expect(after).toBeGreaterThan(10 * before);
  });

  it("adapts its spread online so the 80 % interval keeps covering about 80 %", async () => {
    // 2,000 calm errors calibrate the intervals; then the noise doubles. With a long memory the
    // quantiles follow slowly; the adaptive spread restores the coverage within a few dozen steps.
    const draw = gaussian(12);
    const values = Array.from({ length: 4500 }, (_, t) => 50 + (t < 3000 ? 1 : 2) * draw());
    const context = contextOf(24, 1, { trainEnd: [3000] });
    const coverage = async (coverageAdaptation: number) => {
      const fitted = await conformalMethod(constantMethod(50), {
        coverageAdaptation,
        capacity: 5000,
        calibrationPoints: 1000,
      }).fit([seriesOf(values)], context);
      const f = fitted.forSeries(0);
      let covered = 0;
      let scored = 0;
      for (let origin = 3000; origin < values.length; origin++) {
        f.advanceTo(origin);
        const forecast = f.forecast(1);
        const y = values[origin] as number;
        scored++;
        const low = forecast.quantiles[0]?.[0] as number;
        const high = forecast.quantiles[8]?.[0] as number;
        if (y >= low && y <= high) covered++;
      }
      return covered / scored;
    };
    expect(await coverage(0)).toBeLessThan(0.7);
    expect(Math.abs((await coverage(0.05)) - 0.8)).toBeLessThan(0.04);
  });

  it("falls back to the inner method's quantiles when the series is too short to calibrate", async () => {
    const f = await fitOne(conformalMethod(etsMethod()), [5, 6]);
    const forecast = f.forecast(4);
    expect(forecast.quantiles[8]?.[0]).toBeGreaterThan(forecast.quantiles[0]?.[0] as number);
    for (const row of forecast.quantiles)
      for (const v of row) expect(Number.isFinite(v)).toBe(true);
  });

  it("keeps the quantiles ordered and non-negative for demand data", async () => {
    const draw = gaussian(2);
    const values = Array.from({ length: 500 }, () => Math.max(0, 1 + 3 * draw()));
    const f = await fitOne(conformalMethod(etsMethod()), values);
    const forecast = f.forecast(4);
    for (let h = 0; h < 4; h++) {
      for (let k = 1; k < forecast.quantiles.length; k++) {
        expect(forecast.quantiles[k]?.[h]).toBeGreaterThanOrEqual(
          forecast.quantiles[k - 1]?.[h] as number,
        );
      }
      expect(forecast.quantiles[0]?.[h]).toBeGreaterThanOrEqual(0);
    }
  });

  it("saves its calibration with a version, errors per step ahead", async () => {
    const values = Array.from({ length: 300 }, (_, t) => 10 + (t % 4));
    const f = await fitOne(conformalMethod(etsMethod()), values);
    const state = JSON.parse(JSON.stringify(f.state()));
    expect(state).toMatchObject({
      stateVersion: 1,
      method: "ets",
      originSeconds: 300 * 300,
      stepSeconds: 300,
      horizon: 4,
      forecaster: { kind: "conformal", inner: { kind: "ets" } },
    });
    expect(state.forecaster.calibrator.counts).toHaveLength(4);
    expect(state.forecaster.calibrator.counts[0]).toBeGreaterThan(50);
  });

  it("refits the inner method on the whole training part when asked, keeping the calibration", async () => {
    const values = Array.from({ length: 400 }, (_, t) => 10 + (t % 7) + (t > 300 ? 20 : 0));
    const context = contextOf(24, 3);
    const counts: number[] = [];
    const counting: ForecastMethod = {
      name: "counting",
      fit(series, c) {
        counts.push(c.trainEnd?.[0] ?? -1);
        return etsMethod().fit(series, c);
      },
    };
    const f = await fitOne(conformalMethod(counting, { refit: true }), values, context);
    // Once before the calibration span (min(3 + 288, ⌊400 / 3⌋) = 133 values), once on all.
    expect(counts).toEqual([400 - 133, -1]);
    expect(f.state()).toMatchObject({
      originSeconds: 400 * 300,
      forecaster: { kind: "conformal" },
    });
  });

  it("is asynchronous only when the inner method is", async () => {
    const inner = constantMethod(1);
    const sync = conformalMethod(inner).fit([seriesOf([1, 2, 3])], contextOf(24, 2));
    expect(sync).not.toBeInstanceOf(Promise);
    const asyncInner: ForecastMethod = { name: "later", fit: async (s, c) => inner.fit(s, c) };
    const later = conformalMethod(asyncInner).fit([seriesOf([1, 2, 3])], contextOf(24, 2));
    expect(later).toBeInstanceOf(Promise);
    const fitted = await later;
    expect(fitted.forSeries(0).forecast(2).mean).toHaveLength(2);
  });
});
