import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import {
  BACKTEST_QUANTILES,
  BacktestScorer,
  seasonalNaiveScale,
} from "../../../../../layers/domain/forecasting/backtest/backtest-scorer.js";
import type { SeriesInput } from "../../../../../layers/domain/forecasting/methods/method.js";

function series(id: string, values: number[]): SeriesInput {
  return { id, values, startSeconds: 0, stepSeconds: 300 };
}

/** Nine quantile rows, each the same values. */
function flat(values: number[]): number[][] {
  return BACKTEST_QUANTILES.map(() => [...values]);
}

/** Quantile rows from a function of (level, step). */
function rows(f: (level: number, step: number) => number, horizon: number): number[][] {
  return BACKTEST_QUANTILES.map((level) => Array.from({ length: horizon }, (_, h) => f(level, h)));
}

const options = { horizon: 2, byHorizon: [], seasonLength: 2 };

describe("BacktestScorer", () => {
  it("scores a forecast equal to the actuals as wql 0, mase 0, coverage 1, width 0", () => {
    const s = series("a", [1, 3, 2, 4, 5, 7]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(0, 2, 4, flat([5, 7]));

    const report = scorer.report("oracle", { fitSeconds: 0, predictSeconds: 0 });
    expect(report).toMatchObject({
      wql: 0,
      mase: 0,
      coverage80: 1,
      width80: 0,
      series: 1,
      windows: 1,
      points: 2,
    });
  });

  it("computes wql as Σ 2·pinball over the nine levels / (9 · Σ|y|)", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(0, 2, 4, flat([15, 15]));

    // y = 10 under every quantile 15: Σ_τ (1 − τ)·5 = 22.5; y = 20 above: Σ_τ τ·5 = 22.5.
    // wql = 2 · 45 / (9 · 30) = 1/3.
    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.wql).toBeCloseTo(1 / 3, 12);
    expect(report.coverage80).toBe(0);
  });

  it("divides the median's MAE by the in-sample one-day seasonal-naive MAE", () => {
    // Fitting part [1, 3, 2, 4] with a season of 2: |2 − 1| and |4 − 3| → scale 1.
    const s = series("a", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(
      0,
      2,
      4,
      rows((level) => (level === 0.5 ? 12 : 0), 2),
    );

    // MAE = (|10 − 12| + |20 − 12|) / 2 = 5.
    expect(scorer.report("m", { fitSeconds: 0, predictSeconds: 0 }).mase).toBeCloseTo(5, 12);
  });

  it("counts actuals within [q0.1, q0.9], ends included, and measures the width against mean |y|", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20, 30, 40]);
    const scorer = new BacktestScorer(
      [s],
      { trainEnd: [4], testStart: [4] },
      { ...options, horizon: 4 },
    );
    // Interval [10, 30] at every step: 10 (lower end), 20, 30 (upper end) inside; 40 outside.
    scorer.record(
      0,
      4,
      4,
      rows((level) => (level <= 0.1 ? 10 : level >= 0.9 ? 30 : 20), 4),
    );

    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.coverage80).toBe(0.75);
    // mean width 20 / mean |y| 25.
    expect(report.width80).toBeCloseTo(0.8, 12);
  });

  it("does not score NaN actuals", () => {
    const s = series("a", [1, 3, 2, 4, Number.NaN, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(0, 2, 4, flat([0, 0]));

    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.points).toBe(1);
    expect(report.windows).toBe(1);
    // Only y = 20 scored, every quantile 0 below it: Σ_τ 2·τ·20 / (9 · 20) = 2 · 4.5 / 9 = 1.
    expect(report.wql).toBeCloseTo(1, 12);
  });

  it("pools wql over series by summing, not averaging, their losses", () => {
    const big = series("big", [1, 3, 2, 4, 100, 100]);
    const small = series("small", [1, 3, 2, 4, 1, 1]);
    const scorer = new BacktestScorer(
      [big, small],
      { trainEnd: [4, 4], testStart: [4, 4] },
      options,
    );
    scorer.record(0, 2, 4, flat([100, 100]));
    scorer.record(1, 2, 4, flat([0, 0]));

    // big scores 0; small: Σ_τ 2·τ·1 per point = 9 per point → 18 / (9 · 202).
    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.wql).toBeCloseTo(18 / (9 * 202), 12);
    expect(report.perSeries.map((r) => [r.id, r.wql])).toEqual([
      ["big", 0],
      ["small", 1],
    ]);
  });

  it("leaves series with a zero or undefined scale out of mase and counts them", () => {
    const flatHistory = series("flat", [5, 5, 5, 5, 6, 6]);
    const shortHistory = series("short", [5, 6, 7]);
    const good = series("good", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer(
      [flatHistory, shortHistory, good],
      { trainEnd: [4, 1, 4], testStart: [4, 1, 4] },
      options,
    );
    scorer.record(0, 2, 4, flat([6, 6]));
    scorer.record(1, 2, 1, flat([6, 7]));
    scorer.record(2, 2, 4, flat([10, 20]));

    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.mase).toBe(0);
    expect(report.maseSkipped).toBe(2);
    expect(report.series).toBe(3);
  });

  it("reports series with under one day of history under coldStart", () => {
    const longer = series("longer", [1, 3, 2, 4, 10, 20]);
    const fresh = series("fresh", [Number.NaN, Number.NaN, Number.NaN, 4, 10, 20]);
    const scorer = new BacktestScorer(
      [longer, fresh],
      { trainEnd: [4, 4], testStart: [4, 4] },
      options,
    );
    scorer.record(0, 2, 4, flat([10, 20]));
    scorer.record(1, 2, 4, flat([0, 0]));

    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(report.coldStart).toMatchObject({ series: 1, wql: 1 });
    expect(report.perSeries.map((r) => r.coldStart)).toEqual([false, true]);
  });

  it("omits coldStart when every series has a day of history", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(0, 2, 4, flat([10, 20]));

    expect(scorer.report("m", { fitSeconds: 0, predictSeconds: 0 }).coldStart).toBeUndefined();
  });

  it("reports byHorizon only for horizons with at least one window", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20, 30]);
    const scorer = new BacktestScorer(
      [s],
      { trainEnd: [4], testStart: [4] },
      { horizon: 2, byHorizon: [1, 2, 288], seasonLength: 2 },
    );
    for (const h of scorer.horizons) {
      for (const o of scorer.origins(0, h)) scorer.record(0, h, o, flat(Array(h).fill(0)));
    }

    const report = scorer.report("m", { fitSeconds: 0, predictSeconds: 0 });
    expect(Object.keys(report.byHorizon)).toEqual(["1", "2"]);
    expect(report.byHorizon["1"]?.windows).toBe(3);
    expect(report.byHorizon["2"]?.windows).toBe(1);
  });

  it("rejects a forecast with NaN or too few steps, naming series and origin", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);

    expect(() => scorer.record(0, 2, 4, flat([1, Number.NaN]))).toThrow(ValidationError);
    expect(() => scorer.record(0, 2, 4, flat([1]))).toThrow(/series a at origin 4/);
  });

  it("marks peers and keeps the issue's key order", () => {
    const s = series("a", [1, 3, 2, 4, 10, 20]);
    const scorer = new BacktestScorer([s], { trainEnd: [4], testStart: [4] }, options);
    scorer.record(0, 2, 4, flat([10, 20]));

    const report = scorer.report(
      "AutoETS",
      { fitSeconds: 1.5, predictSeconds: 0.5 },
      { peer: true },
    );
    expect(Object.keys(report).slice(0, 9)).toEqual([
      "name",
      "peer",
      "series",
      "mase",
      "wql",
      "coverage80",
      "width80",
      "fitSeconds",
      "predictSeconds",
    ]);
  });
});

describe("seasonalNaiveScale", () => {
  it("averages |y_t − y_{t−m}| over pairs that are both observed", () => {
    expect(seasonalNaiveScale([1, 2, 4, Number.NaN, 7, 2], 6, 2)).toBeCloseTo((3 + 3) / 2, 12);
  });

  it("is undefined without a pair a season apart", () => {
    expect(seasonalNaiveScale([1, 2, 3], 2, 2)).toBeUndefined();
  });
});
