import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../../layers/domain/errors.js";
import {
  type GlobalFittedMethod,
  GlobalForecaster,
  globalMethod,
} from "../../../../../../layers/domain/forecasting/methods/global/global-method.js";
import type { GlobalModel } from "../../../../../../layers/domain/forecasting/methods/global/global-model.js";
import {
  parseGlobalModel,
  serializeGlobalModel,
} from "../../../../../../layers/domain/forecasting/methods/global/model-codec.js";
import { trainGlobalModel } from "../../../../../../layers/domain/forecasting/methods/global/training.js";
import type {
  QuantileForecast,
  SeriesInput,
} from "../../../../../../layers/domain/forecasting/methods/method.js";
import { fitContext, LEVELS, QUICK, trainingSeries } from "./global-fixtures.js";

function fitGlobal(series: readonly SeriesInput[], seed = 42): GlobalFittedMethod {
  return globalMethod(QUICK).fit(series, fitContext(series, { seed })) as GlobalFittedMethod;
}

function values(forecast: QuantileForecast): number[] {
  return [...forecast.mean, ...forecast.quantiles.flatMap((q) => [...q])];
}

/** Pooled pinball loss of forecasts from every fourth origin of the held-out part. */
function holdoutLoss(fitted: GlobalFittedMethod, series: readonly SeriesInput[]): number {
  let loss = 0;
  series.forEach((s, i) => {
    const forecaster = fitted.forSeries(i);
    for (
      let origin = Math.floor(s.values.length * 0.75);
      origin + 4 <= s.values.length;
      origin += 4
    ) {
      forecaster.advanceTo(origin);
      const f = forecaster.forecast(4);
      LEVELS.forEach((tau, k) => {
        for (let h = 0; h < 4; h++) {
          const y = s.values[origin + h] as number;
          const q = f.quantiles[k]?.[h] as number;
          loss += Math.max(tau * (y - q), (tau - 1) * (y - q));
        }
      });
    }
  });
  return loss;
}

describe("globalMethod", () => {
  const series = trainingSeries();
  const fitted = fitGlobal(series);

  it("is named 'global' and fits one forecaster per series", () => {
    expect(fitted.name).toBe("global");
    const f = fitted.forSeries(5).forecast(4);
    expect(f.mean).toHaveLength(4);
    expect(f.quantiles).toHaveLength(LEVELS.length);
  });

  it("reduces its training loss on a synthetic multi-series dataset", () => {
    expect(fitted.report.steps).toBeGreaterThan(0);
    expect(fitted.report.finalLoss).toBeLessThan(0.5 * fitted.report.initialLoss);
  });

  it("forecasts held-out data better after training than after a single step", () => {
    const barely = globalMethod({ ...QUICK, maxSteps: 1 }).fit(
      series,
      fitContext(series),
    ) as GlobalFittedMethod;
    expect(holdoutLoss(fitted, series)).toBeLessThan(0.8 * holdoutLoss(barely, series));
  });

  it("gives quantiles that rise with their level, and a mean between the outer ones", () => {
    series.forEach((s, i) => {
      const forecaster = fitted.forSeries(i);
      forecaster.advanceTo(s.values.length);
      const f = forecaster.forecast(4);
      for (let h = 0; h < 4; h++) {
        const low = f.quantiles[0]?.[h] as number;
        const mid = f.quantiles[1]?.[h] as number;
        const high = f.quantiles[2]?.[h] as number;
        expect(low).toBeLessThanOrEqual(mid);
        expect(mid).toBeLessThanOrEqual(high);
        expect(f.mean[h]).toBeGreaterThanOrEqual(low);
        expect(f.mean[h]).toBeLessThanOrEqual(high);
      }
    });
  });

  it("gives the same weights and forecasts for the same seed, other weights for another seed", () => {
    const again = fitGlobal(series);
    expect([...again.model.params]).toEqual([...fitted.model.params]);
    expect(values(again.forSeries(0).forecast(4))).toEqual(values(fitted.forSeries(0).forecast(4)));
    const other = fitGlobal(series, 7);
    expect([...other.model.params]).not.toEqual([...fitted.model.params]);
  });

  it("forecasts a series with no history from its cohort: finite, and sized like its tier", () => {
    const model = fitted.model;
    const newcomer = (tier: string): QuantileForecast =>
      forecasterFor(model, {
        id: "new",
        values: [],
        startSeconds: 0,
        stepSeconds: 3600,
        features: { tier },
      }).forecast(4);
    const premium = newcomer("premium");
    const free = newcomer("free");
    for (const v of [...values(premium), ...values(free)]) expect(Number.isFinite(v)).toBe(true);
    const sum = (f: QuantileForecast) => f.mean.reduce((a, b) => a + b, 0);
    expect(sum(premium)).toBeGreaterThan(3 * sum(free));
    // An unknown tier still gets a forecast (the overall cohort), never an error.
    expect(values(newcomer("gold")).every(Number.isFinite)).toBe(true);
  });

  it("forecasts a series with a few points of history", () => {
    const model = fitted.model;
    const f = forecasterFor(model, {
      id: "young",
      values: [90, Number.NaN, 110],
      startSeconds: 0,
      stepSeconds: 3600,
    }).forecast(4);
    expect(values(f).every(Number.isFinite)).toBe(true);
    expect(f.mean[0]).toBeGreaterThan(10);
    expect(f.mean[0]).toBeLessThan(1000);
  });

  it("forecasts a constant series as that constant with zero width", () => {
    const f = forecasterFor(fitted.model, {
      id: "flat",
      values: new Array(200).fill(37),
      startSeconds: 0,
      stepSeconds: 3600,
    }).forecast(4);
    expect(values(f)).toEqual(new Array(16).fill(37));
  });

  it("forecasts the same after a JSON round trip of the model", () => {
    const json = JSON.parse(JSON.stringify(serializeGlobalModel(fitted.model)));
    const restored = parseGlobalModel(json, "memory");
    expect(restored.params).toHaveLength(fitted.model.params.length);
    for (const s of series) {
      const position = s.values.length - 5;
      const a = GlobalForecaster.atPosition(fitted.model, s, position).forecast(4);
      const b = GlobalForecaster.atPosition(restored, s, position).forecast(4);
      expect(values(b)).toEqual(values(a));
    }
  });

  it("resumes from its state: restored and appended, it forecasts as the original advanced", () => {
    const s = series[1] as SeriesInput;
    const original = fitted.forSeries(1);
    const start = Math.floor(s.values.length * 0.75);
    const restored = GlobalForecaster.restore(
      fitted.model,
      JSON.parse(JSON.stringify(original.state?.())),
    );
    expect(values(restored.forecast(4))).toEqual(values(original.forecast(4)));
    original.advanceTo(start + 10);
    restored.append(Array.from(s.values).slice(start, start + 10));
    expect(values(restored.forecast(4))).toEqual(values(original.forecast(4)));
  });

  it("never reads values at or after its origin", () => {
    const s = series[2] as SeriesInput;
    const origin = 250;
    const tampered: SeriesInput = {
      ...s,
      values: Array.from(s.values).map((v, i) => (i >= origin ? 1e12 : v)),
    };
    const a = GlobalForecaster.atPosition(fitted.model, s, 200);
    const b = GlobalForecaster.atPosition(fitted.model, tampered, 200);
    a.advanceTo(origin);
    b.advanceTo(origin);
    expect(values(b.forecast(4))).toEqual(values(a.forecast(4)));
  });

  it("refuses to move back in time, to forecast past its horizon, or to advance without a series", () => {
    const forecaster = fitted.forSeries(0);
    forecaster.advanceTo(250);
    expect(() => forecaster.advanceTo(249)).toThrow(ValidationError);
    expect(() => forecaster.forecast(5)).toThrow(/at most 4 steps/);
    const restored = GlobalForecaster.restore(fitted.model, forecaster.state?.());
    expect(() => restored.advanceTo(260)).toThrow(/append/);
    expect(() => fitted.forSeries(99)).toThrow(ValidationError);
  });

  it("rejects a malformed state and out-of-range options", () => {
    expect(() => GlobalForecaster.restore(fitted.model, { kind: "global-forecaster" })).toThrow(
      ValidationError,
    );
    expect(() => trainGlobalModel(series, fitContext(series), { hiddenSizes: [0] })).toThrow(
      /hiddenSizes.0/,
    );
    expect(() =>
      trainGlobalModel(series, fitContext(series, { quantiles: [0.9, 0.1] }), QUICK),
    ).toThrow(/ascending/);
  });

  it("averages the quantiles of an ensemble's members", () => {
    const pair = globalMethod({ ...QUICK, ensembleSize: 2 }).fit(
      series,
      fitContext(series),
    ) as GlobalFittedMethod;
    const size = pair.model.params.length / 2;
    const member = (k: number): GlobalModel => ({
      ...pair.model,
      params: pair.model.params.slice(k * size, (k + 1) * size),
      ensembleSize: 1,
    });
    const s = series[3] as SeriesInput;
    const at = (model: GlobalModel) => GlobalForecaster.atPosition(model, s, 200).forecast(4);
    const both = at(pair.model);
    const [a, b] = [at(member(0)), at(member(1))];
    expect([...a.mean]).not.toEqual([...b.mean]);
    both.mean.forEach((v, h) => {
      expect(v).toBeCloseTo(((a.mean[h] as number) + (b.mean[h] as number)) / 2, 6);
    });
  });

  it("fits on series too short to train from and still forecasts", () => {
    const tiny: SeriesInput[] = [
      { id: "a", values: [], startSeconds: 0, stepSeconds: 60 },
      { id: "b", values: [Number.NaN], startSeconds: 0, stepSeconds: 60 },
    ];
    const f = globalMethod(QUICK).fit(tiny, fitContext(tiny)) as GlobalFittedMethod;
    expect(f.report.steps).toBe(0);
    expect(values(f.forSeries(0).forecast(4)).every(Number.isFinite)).toBe(true);
  });
});

function forecasterFor(model: GlobalModel, series: SeriesInput): GlobalForecaster {
  return GlobalForecaster.atPosition(model, series, series.values.length);
}
