import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import {
  type EtsForecaster,
  etsMethod,
} from "../../../../../layers/domain/forecasting/methods/ets.js";
import {
  type EtsSpec,
  type EtsState,
  etsForecastInto,
  etsUpdate,
  etsVarianceFactorsInto,
} from "../../../../../layers/domain/forecasting/methods/ets-model.js";
import { restoreForecaster } from "../../../../../layers/domain/forecasting/methods/forecaster-state.js";
import type { FitContext } from "../../../../../layers/domain/forecasting/methods/method.js";
import { contextOf, gaussian, seriesOf } from "./series-fixtures.js";

function fitOne(
  values: readonly number[],
  context: FitContext,
  options: Parameters<typeof etsMethod>[0] = {},
): EtsForecaster {
  const fitted = etsMethod(options).fit([seriesOf(values)], context);
  return fitted.forSeries(0) as EtsForecaster;
}

const ANN: EtsSpec = { trend: "N", season: "N", period: 1 };

function state(level: number, trend = 0, season: number[] = [0]): EtsState {
  return { level, trend, season: Float64Array.from(season), seasonPos: 0 };
}

describe("ETS recursions", () => {
  it("with α = 1 forecasts the last value, as the naive model does", () => {
    const s = state(0);
    for (const y of [3, 7, 2]) etsUpdate(ANN, { alpha: 1, beta: 0, gamma: 0, phi: 1 }, s, y);
    const out = new Float64Array(4);
    etsForecastInto(ANN, { alpha: 1, beta: 0, gamma: 0, phi: 1 }, s, out, 4);
    expect(Array.from(out)).toEqual([2, 2, 2, 2]);
  });

  it("moves the level by α times the one-step error", () => {
    const p = { alpha: 0.5, beta: 0, gamma: 0, phi: 1 };
    const s = state(0);
    expect(etsUpdate(ANN, p, s, 4)).toBe(4);
    expect(s.level).toBe(2);
    expect(etsUpdate(ANN, p, s, 8)).toBe(6);
    expect(s.level).toBe(5);
  });

  it("propagates the state by its one-step prediction over a missing value", () => {
    const spec: EtsSpec = { trend: "Ad", season: "A", period: 2 };
    const p = { alpha: 0.5, beta: 0.1, gamma: 0.2, phi: 0.9 };
    const s = state(10, 2, [1, -1]);
    expect(etsUpdate(spec, p, s, Number.NaN)).toBeNaN();
    expect(s.level).toBeCloseTo(11.8, 12);
    expect(s.trend).toBeCloseTo(1.8, 12);
    expect(Array.from(s.season)).toEqual([1, -1]);
    expect(s.seasonPos).toBe(1);
  });

  it("damps the trend in the forecast: l + (φ + … + φ^h)·b + s", () => {
    const spec: EtsSpec = { trend: "Ad", season: "A", period: 2 };
    const p = { alpha: 0.5, beta: 0.1, gamma: 0.2, phi: 0.5 };
    const out = new Float64Array(3);
    etsForecastInto(spec, p, state(10, 4, [1, -1]), out, 3);
    expect(Array.from(out)).toEqual([10 + 2 + 1, 10 + 3 - 1, 10 + 3.5 + 1]);
  });

  it("grows the forecast variance by the squared smoothing weights (Hyndman et al. 2008, class 1)", () => {
    const out = new Float64Array(3);
    etsVarianceFactorsInto(ANN, { alpha: 0.5, beta: 0, gamma: 0, phi: 1 }, out, 3);
    expect(Array.from(out)).toEqual([1, 1.25, 1.5]);
  });
});

describe("etsMethod", () => {
  it("with no models allowed is the naive model: the last observed value, past missing ones", () => {
    const f = fitOne([4, 9, 6, Number.NaN], contextOf(24, 3), { models: [] });
    expect(Array.from(f.forecast(3).mean)).toEqual([6, 6, 6]);
  });

  it("extrapolates a pure linear trend", () => {
    const values = Array.from({ length: 100 }, (_, t) => 10 + 2 * t);
    const linear = fitOne(values, contextOf(24, 5), { models: ["AAN"] });
    linear.forecast(5).mean.forEach((v, h) => {
      expect(v).toBeCloseTo(10 + 2 * (100 + h), 1);
    });
    // Chosen by AICc among all non-seasonal models, a trend model wins and keeps climbing.
    const auto = fitOne(values, contextOf(24, 5), { seasonality: "none" });
    expect(auto.model).toMatch(/^ETS\(A,Ad?,N\)$/);
    expect(auto.forecast(5).mean[4]).toBeGreaterThan(values[99] as number);
  });

  it("reproduces a clean seasonal series", () => {
    const m = 24;
    const pattern = (t: number) => 20 + 5 * Math.sin((2 * Math.PI * t) / m) + (t % m === 3 ? 4 : 0);
    const values = Array.from({ length: 10 * m }, (_, t) => pattern(t));
    const f = fitOne(values, contextOf(m, 2 * m));
    expect(f.model).toMatch(/,A\)$/);
    f.forecast(2 * m).mean.forEach((v, h) => {
      expect(v).toBeCloseTo(pattern(values.length + h), 2);
    });
  });

  it("uses the weekly season when asked and the history holds two weeks", () => {
    const daily = 4;
    const weekly = 28;
    const values = Array.from({ length: 8 * weekly }, (_, t) => 10 + (t % weekly < 8 ? 5 : 0));
    const f = fitOne(values, contextOf(daily, 4, { weeklySeasonLength: weekly }), {
      seasonality: "weekly",
    });
    expect(f.snapshot()).toMatchObject({ spec: { period: weekly } });
  });

  it("clamps forecasts at zero where the data is non-negative, and only there", () => {
    const falling = Array.from({ length: 60 }, (_, t) => 118 - 2 * t);
    const down = fitOne(falling, contextOf(24, 12), { models: ["AAN"] });
    expect(Math.min(...down.forecast(12).mean)).toBe(0);
    const negative = fitOne(
      falling.map((v) => v - 200),
      contextOf(24, 12),
      { models: ["AAN"] },
    );
    expect(Math.max(...negative.forecast(12).mean)).toBeLessThan(-80);
  });

  it("answers a series with no observation with zeros and zero-width intervals", () => {
    const f = fitOne([Number.NaN, Number.NaN], contextOf(24, 3));
    const forecast = f.forecast(3);
    expect(Array.from(forecast.mean)).toEqual([0, 0, 0]);
    for (const row of forecast.quantiles) expect(Array.from(row)).toEqual([0, 0, 0]);
  });

  it("gives Gaussian quantiles that widen with the horizon", () => {
    const draw = gaussian(3);
    const values = Array.from({ length: 300 }, () => 50 + 5 * draw());
    const forecast = fitOne(values, contextOf(24, 12), { seasonality: "none" }).forecast(12);
    const low = forecast.quantiles[0] as Float64Array;
    const high = forecast.quantiles[8] as Float64Array;
    expect((high[0] as number) - (low[0] as number)).toBeGreaterThan(8);
    expect((high[11] as number) - (low[11] as number)).toBeGreaterThanOrEqual(
      (high[0] as number) - (low[0] as number),
    );
  });

  it("smooths more when fitted for the horizon than for one step ahead", () => {
    // A flat level plus strongly autocorrelated noise: one step ahead, following the noise pays
    // (a quick level); twelve steps ahead the noise has decorrelated, so a slow level is better.
    const draw = gaussian(21);
    let noise = 0;
    const values = Array.from({ length: 2000 }, () => {
      noise = 0.8 * noise + draw();
      return 100 + noise;
    });
    const context = contextOf(24, 12);
    const oneStep = fitOne(values, context, { models: ["ANN"] }).snapshot().parameters.alpha;
    const horizon = fitOne(values, context, { models: ["ANN"], criterion: "horizon" }).snapshot()
      .parameters.alpha;
    expect(oneStep).toBeGreaterThan(0.5);
    expect(horizon).toBeLessThan(oneStep / 2);
  });

  it("advances incrementally: in chunks or at once, the forecasts are the same", () => {
    const draw = gaussian(5);
    const values = Array.from({ length: 400 }, (_, t) => 30 + 10 * Math.sin(t / 4) + draw());
    const context = contextOf(24, 6, { trainEnd: [300] });
    const fitted = etsMethod().fit([seriesOf(values)], context);
    const once = fitted.forSeries(0);
    once.advanceTo(390);
    const chunks = fitted.forSeries(0);
    for (const origin of [301, 320, 320, 377, 390]) chunks.advanceTo(origin);
    expect(chunks.forecast(6)).toEqual(once.forecast(6));
  });

  it("resumes from its saved state without refitting", () => {
    const draw = gaussian(8);
    const values = Array.from({ length: 500 }, (_, t) => 30 + 10 * Math.sin(t / 4) + draw());
    const context = contextOf(24, 6, { trainEnd: [400] });
    const fitted = etsMethod().fit([seriesOf(values)], context);
    const direct = fitted.forSeries(0) as EtsForecaster;
    direct.advanceTo(420);
    const saved = JSON.parse(JSON.stringify(direct.state()));
    expect(saved).toMatchObject({ stateVersion: 1, method: "ets", originSeconds: 420 * 300 });
    const resumed = restoreForecaster(saved, seriesOf(values));
    direct.advanceTo(480);
    resumed.advanceTo(480);
    const a = direct.forecast(6);
    const b = resumed.forecast(6);
    a.mean.forEach((v, h) => {
      expect(b.mean[h]).toBeCloseTo(v, 9);
    });
  });

  it("rejects a saved state of another version or shape", () => {
    const context = contextOf(24, 6);
    expect(() => restoreForecaster({ stateVersion: 2, method: "ets" })).toThrow(ValidationError);
    const f = fitOne([1, 2, 3, 4, 5, 6], context);
    const state = f.state();
    const bad = { ...state, forecaster: { ...state.forecaster, seasonPos: 3 } };
    expect(() => restoreForecaster(bad)).toThrow(/forecaster\.seasonPos/);
  });

  it("refuses to move an origin backwards or past the series' end", () => {
    const f = fitOne([1, 2, 3, 4, 5, 6], contextOf(24, 3, { trainEnd: [4] }));
    expect(() => f.advanceTo(3)).toThrow(ValidationError);
    expect(() => f.advanceTo(7)).toThrow(ValidationError);
  });

  it("refuses a horizon longer than the fit context's", () => {
    const f = fitOne([1, 2, 3], contextOf(24, 3));
    expect(() => f.forecast(4)).toThrow(ValidationError);
    expect(() => f.forecast(0)).toThrow(ValidationError);
  });

  it("rejects a malformed fit context, naming the field", () => {
    const method = etsMethod();
    expect(() => method.fit([seriesOf([1, 2])], { ...contextOf(24, 3), trainEnd: [1, 2] })).toThrow(
      /trainEnd/,
    );
    expect(() =>
      method.fit([seriesOf([1, 2])], { ...contextOf(24, 3), quantiles: [0.9, 0.1] }),
    ).toThrow(/ascending/);
    expect(() => method.fit([seriesOf([1, 2])], contextOf(0, 3))).toThrow(/seasonLength/);
  });
});
