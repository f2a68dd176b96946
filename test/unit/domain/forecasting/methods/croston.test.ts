import { describe, expect, it } from "vitest";
import {
  type CrostonForecaster,
  crostonMethod,
} from "../../../../../layers/domain/forecasting/methods/croston.js";
import { contextOf, seriesOf } from "./series-fixtures.js";

function fitOne(values: readonly number[], variant: "croston" | "sba" | "tsb" | "auto") {
  const fitted = crostonMethod({ variant }).fit([seriesOf(values)], contextOf(24, 3));
  return fitted.forSeries(0) as CrostonForecaster;
}

/** A demand of 3 every third period: sizes 3, intervals 3, probability ⅓. */
const EVERY_THIRD = Array.from({ length: 60 }, (_, t) => (t % 3 === 2 ? 3 : 0));

describe("crostonMethod", () => {
  it("Croston forecasts size / interval: a demand of 3 every 3 periods is 1 per period", () => {
    const f = fitOne(EVERY_THIRD, "croston");
    expect(Array.from(f.forecast(3).mean)).toEqual([1, 1, 1]);
  });

  it("SBA removes Croston's bias with the factor 1 − α/2", () => {
    const f = fitOne(EVERY_THIRD, "sba");
    const { alphaRate } = f.chosen;
    expect(f.forecast(1).mean[0]).toBeCloseTo(1 - alphaRate / 2, 12);
  });

  it("TSB forecasts probability × size, and decays while no demand comes", () => {
    const f = fitOne(EVERY_THIRD, "tsb");
    expect(f.forecast(1).mean[0]).toBeGreaterThan(0.8);
    expect(f.forecast(1).mean[0]).toBeLessThan(1.2);
    const quiet = fitOne([...EVERY_THIRD, ...new Array(30).fill(0)], "tsb");
    expect(quiet.forecast(1).mean[0]).toBeLessThan(f.forecast(1).mean[0] as number);
    // Croston's forecast only moves when a demand happens.
    const stale = fitOne([...EVERY_THIRD, ...new Array(30).fill(0)], "croston");
    expect(stale.forecast(1).mean[0]).toBe(1);
  });

  it("skips missing values: they count neither as demand nor as a period without one", () => {
    const gappy = EVERY_THIRD.flatMap((v) => (v === 0 ? [v] : [Number.NaN, v]));
    expect(fitOne(gappy, "croston").forecast(1).mean[0]).toBe(1);
  });

  it("picks the variant with the lowest in-sample error when asked to choose", () => {
    const f = fitOne(EVERY_THIRD, "auto");
    expect(["croston", "sba", "tsb"]).toContain(f.chosen.variant);
    // On this perfectly regular series Croston's one-step error is the smallest.
    expect(f.chosen.variant).toBe("croston");
  });

  it("forecasts 0 before any demand and stays finite on empty or all-zero input", () => {
    for (const values of [[], [0, 0, 0], [Number.NaN]]) {
      const forecast = fitOne(values, "auto").forecast(3);
      expect(Array.from(forecast.mean)).toEqual([0, 0, 0]);
      for (const row of forecast.quantiles) for (const v of row) expect(v).toBe(0);
    }
  });

  it("advances incrementally and saves a versioned state", () => {
    const values = [...EVERY_THIRD, 0, 0, 6, 0, 0, 6];
    const fitted = crostonMethod({ variant: "croston" }).fit(
      [seriesOf(values)],
      contextOf(24, 2, { trainEnd: [60] }),
    );
    const f = fitted.forSeries(0) as CrostonForecaster;
    f.advanceTo(66);
    const state = f.state();
    expect(state).toMatchObject({
      stateVersion: 1,
      method: "croston",
      originSeconds: 66 * 300,
      stepSeconds: 300,
      forecaster: { kind: "croston", sinceDemand: 0 },
    });
    const snapshot = f.snapshot();
    // Sizes are kept in working units (the series divided by its training magnitude).
    expect((snapshot.size as number) * snapshot.unit).toBeGreaterThan(3);
  });
});
