import { describe, expect, it } from "vitest";
import {
  type SeasonalNaiveForecaster,
  seasonalNaiveMethod,
} from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import { forecastSeasonalNaive } from "../../../../../layers/domain/forecasting/seasonal-naive.js";
import { contextOf, DECILES, seasonalSeries, seriesOf } from "./series-fixtures.js";

describe("seasonalNaiveMethod", () => {
  it("answers exactly what the product's seasonal-naive model answers on the same history", () => {
    const values = seasonalSeries(200, 24, 40, 4, 7);
    values[150] = Number.NaN;
    const fitted = seasonalNaiveMethod({ historyPoints: 120 }).fit(
      [seriesOf(values)],
      contextOf(24, 30, { trainEnd: [170] }),
    );
    const f = fitted.forSeries(0);
    f.advanceTo(180);
    const forecast = f.forecast(30);
    const expected = forecastSeasonalNaive(values.slice(60, 180), {
      predictionLength: 30,
      seasonLength: 24,
      quantiles: DECILES,
    });
    expect(Array.from(forecast.mean)).toEqual(expected.mean);
    DECILES.forEach((level, k) => {
      expect(Array.from(forecast.quantiles[k] ?? [])).toEqual(expected.quantiles[String(level)]);
    });
  });

  it("writes the same point forecast without computing intervals", () => {
    const values = seasonalSeries(100, 24, 40, 4, 3);
    values[90] = Number.NaN;
    values[66] = Number.NaN;
    const f = seasonalNaiveMethod()
      .fit([seriesOf(values)], contextOf(24, 30))
      .forSeries(0) as SeasonalNaiveForecaster;
    const out = new Float64Array(30);
    f.pointForecastInto(out, 30);
    Array.from(f.forecast(30).mean).forEach((v, h) => {
      expect(out[h]).toBeCloseTo(v, 9);
    });
  });

  it("forecasts the last value with less than a season of history, and 0 with none", () => {
    const short = seasonalNaiveMethod()
      .fit([seriesOf([3, 4, 5])], contextOf(24, 2))
      .forSeries(0);
    expect(Array.from(short.forecast(2).mean)).toEqual([5, 5]);
    const empty = seasonalNaiveMethod()
      .fit([seriesOf([])], contextOf(24, 2))
      .forSeries(0);
    expect(Array.from(empty.forecast(2).mean)).toEqual([0, 0]);
  });
});
