import { describe, expect, it } from "vitest";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import type {
  ForecastMethod,
  QuantileForecast,
  SeriesForecaster,
  SeriesInput,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import {
  type FittedShaper,
  shaperMethod,
} from "../../../../../layers/domain/forecasting/methods/selection.js";
import { contextOf, DECILES, gaussian, seasonalSeries, seriesOf } from "./series-fixtures.js";

/**
 * A test-only candidate that knows the future: it forecasts the series' true next values. Any
 * selection worth its name must pick it where it is offered.
 */
function oracleMethod(): ForecastMethod {
  return {
    name: "oracle",
    fit(series: readonly SeriesInput[], context) {
      return {
        name: "oracle",
        forSeries(index: number): SeriesForecaster {
          const values = (series[index] as SeriesInput).values;
          let origin = context.trainEnd?.[index] ?? values.length;
          return {
            advanceTo(o: number) {
              origin = o;
            },
            forecast(horizon: number): QuantileForecast {
              const mean = Float64Array.from({ length: horizon }, (_, h) => {
                const v = values[origin + h] as number;
                return Number.isFinite(v) ? v : 0;
              });
              return { mean, quantiles: context.quantiles.map(() => Float64Array.from(mean)) };
            },
          };
        },
      };
    },
  };
}

/**
 * A test-only candidate: the last observed value off by `bias` (up from even origins, down from
 * odd ones, so that no calibration can correct it), except that from the origins in `[from, to)`
 * it forecasts the series' true next values — with a short stretch, a candidate whose whole
 * advantage is luck.
 */
function luckyMethod(luck: (index: number) => { from: number; to: number; bias: number }) {
  return {
    name: "lucky",
    fit(series: readonly SeriesInput[], context: { trainEnd?: readonly number[] }) {
      return {
        name: "lucky",
        forSeries(index: number): SeriesForecaster {
          const values = (series[index] as SeriesInput).values;
          const { from, to, bias } = luck(index);
          let origin = context.trainEnd?.[index] ?? values.length;
          return {
            advanceTo(o: number) {
              origin = o;
            },
            forecast(horizon: number): QuantileForecast {
              const last = values[origin - 1] as number;
              const mean = Float64Array.from({ length: horizon }, (_, h) =>
                origin >= from && origin < to
                  ? (values[origin + h] as number)
                  : last + (origin % 2 === 0 ? bias : -bias),
              );
              return { mean, quantiles: DECILES.map(() => Float64Array.from(mean)) };
            },
          };
        },
      };
    },
  } satisfies ForecastMethod;
}

async function fitShaper(
  method: ForecastMethod,
  series: SeriesInput[],
  context = contextOf(24, 6),
) {
  return (await method.fit(series, context)) as FittedShaper;
}

describe("shaperMethod", () => {
  it("picks the candidate that forecasts best on the calibration span", async () => {
    const values = seasonalSeries(600, 24, 100, 10, 3);
    const fitted = await fitShaper(
      shaperMethod({ candidates: [etsMethod(), oracleMethod()], maxCombinationSize: 1 }),
      [seriesOf(values)],
    );
    expect(fitted.choiceOf(0)).toMatchObject({ members: ["oracle"], combination: "single" });
  });

  it("offers Croston, SBA and TSB only to intermittent series", async () => {
    const intermittent = Array.from({ length: 600 }, (_, t) => (t % 5 === 0 ? 4 : 0));
    const regular = seasonalSeries(600, 24, 50, 2, 5);
    const fitted = await fitShaper(shaperMethod({ switchMargin: 0 }), [
      seriesOf(intermittent, "rare"),
      seriesOf(regular, "busy"),
    ]);
    const names = (i: number) => fitted.choiceOf(i).members.join(",");
    expect(names(1)).not.toMatch(/croston|sba|tsb/);
    // The regular demand every 5th period is what Croston's method models exactly.
    expect(names(0)).toMatch(/croston|sba|tsb/);
  });

  it("forecasts a clean seasonal series closely, with calibrated intervals", async () => {
    const values = seasonalSeries(24 * 30, 24, 100, 2, 9);
    const context = contextOf(24, 6, { trainEnd: [24 * 20] });
    const fitted = await fitShaper(shaperMethod(), [seriesOf(values)], context);
    const f = fitted.forSeries(0);
    let covered = 0;
    let scored = 0;
    let absError = 0;
    for (let origin = 24 * 20; origin + 6 <= values.length; origin += 6) {
      f.advanceTo(origin);
      const forecast = f.forecast(6);
      for (let h = 0; h < 6; h++) {
        const y = values[origin + h] as number;
        absError += Math.abs(y - (forecast.quantiles[4]?.[h] as number));
        scored++;
        const low = forecast.quantiles[0]?.[h] as number;
        const high = forecast.quantiles[8]?.[h] as number;
        if (y >= low && y <= high) covered++;
      }
    }
    // Noise has σ = 2, so a median within ~2.5 on average means the pattern is tracked.
    expect(absError / scored).toBeLessThan(2.5);
    expect(covered / scored).toBeGreaterThan(0.72);
    expect(covered / scored).toBeLessThan(0.88);
  });

  it("keeps a series on the fit's default unless its own evidence is clearly better", async () => {
    const draw = gaussian(6);
    const series = Array.from({ length: 6 }, (_, k) =>
      seriesOf(
        Array.from({ length: 600 }, () => 20 + draw()),
        `noise-${k}`,
      ),
    );
    const fitted = await fitShaper(
      shaperMethod({ candidates: [etsMethod(), seasonalNaiveMethod()], switchMargin: 1 }),
      series,
    );
    const first = fitted.choiceOf(0);
    for (let i = 0; i < series.length; i++) {
      expect(fitted.choiceOf(i)).toMatchObject({ members: first.members, source: "default" });
    }
  });

  it("gives step-shaped series the naive forecast as their default", async () => {
    const steps = Array.from({ length: 600 }, (_, t) => 40 + 10 * (Math.floor(t / 70) % 3));
    const series = [
      ...[1, 2, 3].map((seed) => seriesOf(seasonalSeries(600, 24, 100, 2, seed), `smooth-${seed}`)),
      seriesOf(steps, "steps"),
    ];
    const candidates = () => [
      etsMethod({ name: "ets", models: ["ANA"] }),
      etsMethod({ name: "naive", models: [] }),
    ];
    const fitted = await fitShaper(shaperMethod({ candidates: candidates() }), series);
    // The smooth series' common default is the seasonal ETS, not the naive forecast.
    expect(fitted.choiceOf(0)).toMatchObject({ members: ["ets"], source: "default" });
    expect(fitted.choiceOf(3)).toMatchObject({ members: ["naive"], source: "default" });
    const plain = await fitShaper(
      shaperMethod({ candidates: candidates(), stepDefault: false, switchMargin: Infinity }),
      series,
    );
    expect(plain.choiceOf(3)).toMatchObject({ members: ["ets"], source: "default" });
  });

  it("keeps the default when a series' own best option wins only in one stretch", async () => {
    // Levels held for 70 steps: the naive forecast's errors are exactly 0 most of the time.
    const series = Array.from({ length: 4 }, (_, k) => {
      const values = Array.from(
        { length: 600 },
        (_, t) => 40 + 10 * ((Math.floor(t / 70) + k) % 3),
      );
      // Series 0 has an excursion inside its calibration span [400, 600).
      if (k === 0) for (let t = 500; t < 506; t++) values[t] = (values[t] as number) + 60;
      return seriesOf(values, `steps-${k}`);
    });
    // On series 0 "lucky" is the naive forecast except around the excursion, which it knows;
    // elsewhere it is the naive forecast off by ±5.
    const candidates = () => [
      etsMethod({ name: "naive", models: [] }),
      luckyMethod((i) => (i === 0 ? { from: 494, to: 506, bias: 0 } : { from: 0, to: 0, bias: 5 })),
    ];
    const strict = await fitShaper(
      shaperMethod({ candidates: candidates(), maxCombinationSize: 1 }),
      series,
    );
    expect(strict.choiceOf(1)).toMatchObject({ members: ["naive"], source: "default" });
    expect(strict.choiceOf(0)).toMatchObject({ members: ["naive"], source: "default" });
    // The totals alone would switch: the excursion is most of the naive forecast's loss.
    const lenient = await fitShaper(
      shaperMethod({ candidates: candidates(), maxCombinationSize: 1, switchSignificance: 0 }),
      series,
    );
    expect(lenient.choiceOf(0)).toMatchObject({ members: ["lucky"], source: "own" });
  });

  it("still switches to an option that is better throughout its span", async () => {
    const draw = gaussian(12);
    const series = Array.from({ length: 6 }, (_, k) => {
      let level = 50;
      const values = Array.from({ length: 600 }, () => {
        level += draw();
        return level;
      });
      return seriesOf(values, `walk-${k}`);
    });
    // "lucky" knows series 0's future everywhere; elsewhere it is the naive forecast off by ±20.
    const fitted = await fitShaper(
      shaperMethod({
        candidates: [
          etsMethod({ name: "naive", models: [] }),
          luckyMethod((i) =>
            i === 0 ? { from: 0, to: 600, bias: 0 } : { from: 0, to: 0, bias: 20 },
          ),
        ],
        maxCombinationSize: 1,
      }),
      series,
    );
    expect(fitted.choiceOf(1)).toMatchObject({ members: ["naive"], source: "default" });
    expect(fitted.choiceOf(0)).toMatchObject({ members: ["lucky"], source: "own" });
  });

  it("builds a forecaster that resumes where the fit stopped and advances incrementally", async () => {
    const values = seasonalSeries(800, 24, 60, 3, 2);
    const fitted = await fitShaper(
      shaperMethod(),
      [seriesOf(values)],
      contextOf(24, 6, { trainEnd: [600] }),
    );
    const once = fitted.forSeries(0);
    once.advanceTo(700);
    const steps = fitted.forSeries(0);
    for (const origin of [610, 650, 651, 700]) steps.advanceTo(origin);
    expect(steps.forecast(6)).toEqual(once.forecast(6));
    expect(steps.state?.()).toMatchObject({
      stateVersion: 1,
      method: "shaper",
      originSeconds: 700 * 300,
      forecaster: { kind: "conformal" },
    });
  });

  it("is asynchronous only when a candidate is", async () => {
    const sync = shaperMethod({ candidates: [etsMethod()] }).fit(
      [seriesOf([1, 2, 3, 4])],
      contextOf(24, 2),
    );
    expect(sync).not.toBeInstanceOf(Promise);
    const inner = etsMethod();
    const later: ForecastMethod = { name: "later", fit: async (s, c) => inner.fit(s, c) };
    const fitted = await shaperMethod({ candidates: [later] }).fit(
      [seriesOf([1, 2, 3, 4])],
      contextOf(24, 2),
    );
    expect(fitted.forSeries(0).forecast(2).mean).toHaveLength(2);
  });
});
