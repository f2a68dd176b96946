import { describe, expect, it } from "vitest";
import { EnsembleForecaster } from "../../../../../layers/domain/forecasting/methods/ensemble-forecaster.js";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import type { SeriesForecaster } from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import { contextOf, seasonalSeries, seriesOf } from "./series-fixtures.js";

function flat(value: number, origins: number[] = []): SeriesForecaster {
  return {
    advanceTo(origin: number) {
      origins.push(origin);
    },
    forecast(horizon: number) {
      const row = () => new Float64Array(horizon).fill(value);
      return { mean: row(), quantiles: [row(), row()] };
    },
  };
}

describe("EnsembleForecaster", () => {
  it("averages its members step by step", () => {
    const out = new Float64Array(2);
    new EnsembleForecaster([flat(1), flat(2), flat(6)], "mean").pointForecastInto(out, 2);
    expect(Array.from(out)).toEqual([3, 3]);
  });

  it("takes the median, robust to one member going astray", () => {
    const out = new Float64Array(1);
    new EnsembleForecaster([flat(1), flat(2), flat(600)], "median").pointForecastInto(out, 1);
    expect(out[0]).toBe(2);
    new EnsembleForecaster([flat(1), flat(2), flat(600), flat(3)], "median").pointForecastInto(
      out,
      1,
    );
    expect(out[0]).toBe(2.5);
  });

  it("advances every member together and averages their quantiles as a fallback", () => {
    const seen: number[] = [];
    const e = new EnsembleForecaster([flat(1, seen), flat(2, seen)], "mean");
    e.advanceTo(7);
    expect(seen).toEqual([7, 7]);
    expect(Array.from(e.forecast(1).quantiles[0] ?? [])).toEqual([1.5]);
  });

  it("saves its members' states under its combination", () => {
    const series = seriesOf(seasonalSeries(200, 12, 10, 1), "e");
    const context = contextOf(12, 3);
    const ets = etsMethod().fit([series], context).forSeries(0);
    const naive = seasonalNaiveMethod().fit([series], context).forSeries(0);
    const state = new EnsembleForecaster([ets, naive], "median").state();
    expect(state).toMatchObject({
      stateVersion: 1,
      method: "ensemble",
      originSeconds: 200 * 300,
      forecaster: {
        kind: "ensemble",
        combination: "median",
        members: [{ kind: "ets" }, { kind: "seasonal-naive" }],
      },
    });
  });

  it("refuses to save a member that cannot save state, saying to refit", () => {
    expect(() => new EnsembleForecaster([flat(1), flat(2)], "mean").state()).toThrow(
      /cannot save state.*Refit/,
    );
  });
});
