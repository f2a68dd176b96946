import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import { holdoutSplit } from "../../../../../layers/domain/forecasting/backtest/backtest-split.js";
import { runBacktest } from "../../../../../layers/domain/forecasting/backtest/run-backtest.js";
import type {
  FitContext,
  ForecastMethod,
  SeriesInput,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";

/** Highest index holding a finite value, or −1. */
function lastVisible(values: ArrayLike<number>): number {
  for (let i = values.length - 1; i >= 0; i--) if (Number.isFinite(values[i])) return i;
  return -1;
}

interface Seen {
  readonly series: number;
  readonly origin: number;
  /** Highest visible index of every series, at the time of the forecast. */
  readonly visible: number[];
}

/** A method that forecasts the constant `level` and records what it could see. */
function spyMethod(level = 0): ForecastMethod & {
  readonly seen: Seen[];
  readonly fitVisible: number[];
  readonly context: FitContext[];
  readonly forecastLengths: number[];
} {
  const seen: Seen[] = [];
  const fitVisible: number[] = [];
  const context: FitContext[] = [];
  const forecastLengths: number[] = [];
  return {
    name: "spy",
    seen,
    fitVisible,
    context,
    forecastLengths,
    fit(series: readonly SeriesInput[], ctx: FitContext) {
      context.push(ctx);
      fitVisible.push(...series.map((s) => lastVisible(s.values)));
      return {
        name: "spy",
        forSeries(index: number) {
          let origin = ctx.trainEnd?.[index] ?? 0;
          return {
            advanceTo(next: number) {
              origin = next;
            },
            forecast(horizon: number) {
              forecastLengths.push(horizon);
              seen.push({
                series: index,
                origin,
                visible: series.map((s) => lastVisible(s.values)),
              });
              return {
                mean: new Float64Array(horizon).fill(level),
                quantiles: ctx.quantiles.map(() => new Float64Array(horizon).fill(level)),
              };
            },
          };
        },
      };
    },
  };
}

function ramp(id: string, length: number, startSeconds = 0): SeriesInput {
  return {
    id,
    values: Float64Array.from({ length }, (_, i) => 1 + i),
    startSeconds,
    stepSeconds: 300,
  };
}

const options = {
  horizon: 12,
  byHorizon: [3, 12],
  seasonLength: 24,
  seed: 1,
  now: () => 0,
};

describe("runBacktest", () => {
  it("fits on the training part only", async () => {
    const series = [ramp("a", 100), ramp("b", 50)];
    const spy = spyMethod();
    await runBacktest(spy, series, holdoutSplit(series), options);

    // One fit per horizon (3 and 12), each seeing the training parts only.
    expect(spy.fitVisible).toEqual([69, 34, 69, 34]);
    expect(spy.context.map((c) => c.trainEnd)).toEqual([
      [70, 35],
      [70, 35],
    ]);
  });

  it("never lets a forecast see a value at or after its origin, in any series", async () => {
    // Two series on the same clock; b starts an hour later, so its indexes lag a's by 12.
    const series = [ramp("a", 100), ramp("b", 88, 3600)];
    const spy = spyMethod();
    await runBacktest(spy, series, holdoutSplit(series), options);

    expect(spy.seen.length).toBeGreaterThan(0);
    for (const { series: i, origin, visible } of spy.seen) {
      const originSeconds = (series[i]?.startSeconds ?? 0) + origin * 300;
      visible.forEach((last, j) => {
        const s = series[j] as SeriesInput;
        const trainEnd = j === 0 ? 70 : 61;
        const allowed = Math.max(trainEnd, Math.ceil((originSeconds - s.startSeconds) / 300));
        expect(last).toBeLessThan(allowed);
      });
      expect(visible[i]).toBe(origin - 1);
    }
  });

  it("fits once per horizon and forecasts that horizon from every origin", async () => {
    const series = [ramp("a", 100)];
    const spy = spyMethod();
    const report = await runBacktest(spy, series, holdoutSplit(series), options);

    // Horizon 3: origins 70, 73, …, 97 (10); horizon 12: 70 and 82 (94 + 12 > 100).
    expect(spy.context.map((c) => c.horizon)).toEqual([3, 12]);
    expect(spy.seen.map((s) => s.origin)).toEqual([70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 70, 82]);
    expect(spy.forecastLengths).toEqual([...Array(10).fill(3), 12, 12]);
    expect(report.byHorizon["3"]?.windows).toBe(10);
    expect(report.byHorizon["12"]?.windows).toBe(2);
    expect(report.windows).toBe(2);
  });

  it("scores the forecasts with the issue's metrics", async () => {
    const series = [ramp("a", 100)];
    const report = await runBacktest(spyMethod(0), series, holdoutSplit(series), options);

    // Every quantile 0 under positive actuals: wql = Σ_τ 2·τ / 9 = 1, nothing covered.
    expect(report.wql).toBeCloseTo(1, 12);
    expect(report.coverage80).toBe(0);
    expect(report.name).toBe("spy");
  });

  it("gives seasonal naive a perfect score on a series that repeats every day", async () => {
    const day = [3, 5, 8, 5, 3, 1, 1, 2];
    const values = Array.from({ length: 80 }, (_, i) => day[i % day.length] as number);
    const series: SeriesInput[] = [{ id: "daily", values, startSeconds: 0, stepSeconds: 10_800 }];
    const report = await runBacktest(seasonalNaiveMethod(), series, holdoutSplit(series), {
      ...options,
      horizon: 4,
      byHorizon: [],
      seasonLength: 8,
    });

    expect(report.wql).toBe(0);
    expect(report.coverage80).toBe(1);
    // The in-sample seasonal-naive error is 0 too, so MASE has no scale: skipped and counted.
    expect(report.mase).toBeNull();
    expect(report.maseSkipped).toBe(1);
  });

  it("rejects a method that returns NaN, naming the series and origin", async () => {
    const series = [ramp("a", 100)];
    await expect(
      runBacktest(spyMethod(Number.NaN), series, holdoutSplit(series), options),
    ).rejects.toThrow(ValidationError);
  });

  it("times the fit and the forecasts with the injected clock", async () => {
    let t = 0;
    const series = [ramp("a", 100)];
    const report = await runBacktest(spyMethod(), series, holdoutSplit(series), {
      ...options,
      now: () => t++,
    });

    // Per horizon run, one tick for the fit and one per forecast (ten origins at 3, two at 12).
    expect(report.byHorizon["3"]).toMatchObject({ fitSeconds: 1, predictSeconds: 10 });
    expect(report.byHorizon["12"]).toMatchObject({ fitSeconds: 1, predictSeconds: 2 });
    expect(report.fitSeconds).toBe(2);
    expect(report.predictSeconds).toBe(12);
  });
});
