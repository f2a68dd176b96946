import { describe, expect, it } from "vitest";
import { EnsembleForecaster } from "../../../../../layers/domain/forecasting/methods/ensemble-forecaster.js";
import type { SeriesForecaster } from "../../../../../layers/domain/forecasting/methods/method.js";

function flat(value: number, origins: number[] = []): SeriesForecaster {
  return {
    advanceTo(origin: number) {
      origins.push(origin);
    },
    forecast(horizon: number) {
      const row = () => new Float64Array(horizon).fill(value);
      return { mean: row(), quantiles: [row(), row()] };
    },
    state: () => ({ value }),
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

  it("advances every member and saves their states", () => {
    const seen: number[] = [];
    const e = new EnsembleForecaster([flat(1, seen), flat(2, seen)], "mean");
    e.advanceTo(7);
    expect(seen).toEqual([7, 7]);
    expect(e.state()).toEqual({
      version: 1,
      method: "ensemble",
      combination: "mean",
      members: [{ value: 1 }, { value: 2 }],
    });
    expect(Array.from(e.forecast(1).quantiles[0] ?? [])).toEqual([1.5]);
  });
});
