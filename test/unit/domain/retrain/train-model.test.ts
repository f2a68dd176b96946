import { describe, expect, it } from "vitest";
import { WQL_LEVELS } from "../../../../layers/domain/forecasting/forecast-error.js";
import { forecastSeasonalNaive } from "../../../../layers/domain/forecasting/seasonal-naive.js";
import {
  type CalibrationPoint,
  calibrateIntervalScale,
  calibrationPoints,
  coveringScales,
  scoreAtScale,
  seasonCandidates,
  trainForecastModel,
  trainSeasonalNaive,
} from "../../../../layers/domain/retrain/train-model.js";
import { scoreOnHoldout } from "../../../../layers/domain/retrain/validate-model.js";
import { syntheticSeries } from "../../../fixtures/synthetic-series.js";

const DAY = 24; // hourly steps
const HORIZON = 6;
const HISTORY = 7 * DAY;
const HOLDOUT = 2 * DAY;

function split(series: number[][]): { train: number[][]; full: number[][] } {
  return { train: series.map((s) => s.slice(0, s.length - HOLDOUT)), full: series };
}

describe("trainSeasonalNaive: interval calibration", () => {
  const holdout = { horizon: HORIZON, historyLength: HISTORY, holdout: HOLDOUT };
  const length = HISTORY + 12 * HORIZON + HOLDOUT;
  const options = { horizon: HORIZON, historyLength: HISTORY, daySteps: DAY };

  it("gets held-out coverage near 0.8 on a noisy seasonal series", async () => {
    const series = Array.from({ length: 60 }, (_, i) =>
      syntheticSeries({ length, daySteps: DAY, noise: () => 6, seed: 1_000 + i }),
    );
    const { train, full } = split(series);
    const result = trainSeasonalNaive(train, options);
    const calibrated = await scoreOnHoldout(full, result.parameters, holdout);
    expect(calibrated.points).toBe(60 * HOLDOUT);
    expect(calibrated.coverage80).toBeGreaterThan(0.75);
    expect(calibrated.coverage80).toBeLessThan(0.85);
  });

  it("widens intervals that under-cover: noise growing over time makes raw intervals too narrow", async () => {
    // Noise grows by a constant factor per step, so recent errors exceed the history window's by
    // the same ratio at every origin: what calibration learns before the hold-out holds in it.
    const growth = Math.log(4) / length;
    const series = Array.from({ length: 60 }, (_, i) =>
      syntheticSeries({
        length,
        daySteps: DAY,
        noise: (t) => 2 * Math.exp(growth * t),
        seed: 2_000 + i,
      }),
    );
    const { train, full } = split(series);
    const result = trainSeasonalNaive(train, options);
    const calibrated = await scoreOnHoldout(full, result.parameters, holdout);
    const raw = await scoreOnHoldout(full, { ...result.parameters, intervalScale: 1 }, holdout);

    expect(result.parameters.intervalScale).toBeGreaterThan(1);
    expect(raw.coverage80).toBeLessThan(0.74);
    expect(calibrated.coverage80).toBeGreaterThan(0.74);
    expect(calibrated.coverage80).toBeLessThan(0.86);
    expect(Math.abs(calibrated.coverage80 - 0.8)).toBeLessThan(Math.abs(raw.coverage80 - 0.8));
  });

  it("keeps in-sample coverage at the calibrated scale at 0.8 or just above", async () => {
    const series = Array.from({ length: 20 }, (_, i) =>
      syntheticSeries({ length: HISTORY + 12 * HORIZON, daySteps: DAY, noise: () => 5, seed: i }),
    );
    const result = trainSeasonalNaive(series, {
      horizon: HORIZON,
      historyLength: HISTORY,
      daySteps: DAY,
    });
    const chosen = result.candidates[0];
    expect(chosen?.coverage80).toBeGreaterThanOrEqual(0.8);
    expect(chosen?.coverage80).toBeLessThan(0.81);
    expect(result.points).toBe(20 * 12 * HORIZON);
    expect(result.series).toBe(20);
  });
});

describe("trainSeasonalNaive: season length", () => {
  it("tries a weekly season only when the history window holds two weeks", async () => {
    expect(seasonCandidates(288, 2_016)).toEqual([288]);
    expect(seasonCandidates(24, 14 * 24)).toEqual([24, 168]);
  });

  it("chooses a weekly season for series with a weekend pattern, by backtest wQL", async () => {
    const history = 14 * DAY;
    const series = Array.from({ length: 20 }, (_, i) =>
      syntheticSeries({
        length: history + 12 * HORIZON + 7 * DAY,
        daySteps: DAY,
        weekendBoost: 60,
        noise: () => 3,
        seed: 50 + i,
      }),
    );
    const result = trainSeasonalNaive(series, {
      horizon: HORIZON,
      historyLength: history,
      daySteps: DAY,
    });
    expect(result.candidates.map((c) => c.seasonLength)).toEqual([DAY, 7 * DAY]);
    const [daily, weekly] = result.candidates;
    expect(weekly?.wql).toBeLessThan(daily?.wql ?? 0);
    expect(result.parameters.seasonLength).toBe(7 * DAY);
  });
});

describe("calibration points", () => {
  it("reads the model's unscaled offsets exactly: b + s·o reproduces the model's quantiles at scale s", async () => {
    const target = syntheticSeries({
      length: 3 * DAY,
      daySteps: DAY,
      level: 20,
      noise: () => 8,
      seed: 7,
    });
    const history = target.slice(0, 2 * DAY);
    const actuals = target.slice(2 * DAY, 2 * DAY + HORIZON);
    const points = calibrationPoints([...history, ...actuals], DAY, {
      horizon: HORIZON,
      historyLength: HISTORY,
      daySteps: DAY,
      originsPerSeries: 1,
    });
    expect(points).toHaveLength(HORIZON);
    for (const scale of [0.5, 1, 2.5]) {
      const forecast = forecastSeasonalNaive(history, {
        predictionLength: HORIZON,
        seasonLength: DAY,
        quantiles: WQL_LEVELS,
        intervalScale: scale,
      });
      points.forEach((p, h) => {
        WQL_LEVELS.forEach((level, i) => {
          const expected = forecast.quantiles[String(level)]?.[h] as number;
          // Including the clamp at zero, which a low level and a large scale reach here.
          expect(Math.max(0, p.base + scale * (p.offsets[i] as number))).toBeCloseTo(expected, 8);
        });
      });
    }
  });

  it("finds the scales covering a point: above the centre needs a wide enough upper offset", async () => {
    const point = (base: number, actual: number, low: number, high: number): CalibrationPoint => ({
      base,
      actual,
      offsets: [low, ...Array(7).fill(0), high],
    });
    expect(coveringScales(point(10, 14, -2, 2))).toEqual([2, Number.POSITIVE_INFINITY]);
    expect(coveringScales(point(10, 7, -2, 2))).toEqual([1.5, Number.POSITIVE_INFINITY]);
    expect(coveringScales(point(10, 10, -2, 2))).toEqual([0, Number.POSITIVE_INFINITY]);
    // Both offsets positive (a rising series): only a band of scales covers an actual above b.
    expect(coveringScales(point(10, 13, 1, 4))).toEqual([0.75, 3]);
    expect(coveringScales(point(10, 9, 1, 4))).toBeUndefined();
    // A zero actual below a clamped lower end is covered once b + s·low ≤ 0.
    expect(coveringScales(point(4, 0, -2, 2))).toEqual([2, Number.POSITIVE_INFINITY]);
  });

  it("calibrates to the smallest scale reaching the target coverage", async () => {
    // Actuals needing scales 1, 2, …, 10: 80% coverage needs scale 8.
    const points: CalibrationPoint[] = Array.from({ length: 10 }, (_, i) => ({
      base: 10,
      actual: 10 + (i + 1),
      offsets: [-1, ...Array(7).fill(0), 1],
    }));
    expect(calibrateIntervalScale(points, 0.8)).toBe(8);
    expect(scoreAtScale(points, 8).coverage80).toBe(0.8);
    expect(scoreAtScale(points, 7.99).coverage80).toBe(0.7);
    expect(calibrateIntervalScale([], 0.8)).toBe(1);
  });
});

describe("trainForecastModel", () => {
  it("scores seasonal naive and the shaper variants on the same origins and keeps the lowest wQL", async () => {
    const length = HISTORY + 12 * HORIZON + HOLDOUT;
    const series = Array.from({ length: 12 }, (_, i) =>
      syntheticSeries({ length, daySteps: DAY, noise: () => 6, seed: 4_000 + i }),
    );
    const { train, full } = split(series);
    const result = await trainForecastModel(train, {
      horizon: HORIZON,
      historyLength: HISTORY,
      daySteps: DAY,
    });
    expect(result.candidates.map((c) => c.parameters.kind)).toEqual([
      "seasonal-naive",
      "shaper",
      "shaper",
    ]);
    const points = result.candidates.map((c) => c.metrics.points);
    expect(new Set(points).size).toBe(1);
    expect(points[0]).toBe(12 * 12 * HORIZON);
    const best = Math.min(...result.candidates.map((c) => c.metrics.wql));
    expect(result.candidates.find((c) => c.parameters === result.parameters)?.metrics.wql).toBe(
      best,
    );
    // Noise around a daily shape: a smoothed level and season beat "the value a day ago".
    expect(result.parameters.kind).toBe("shaper");
    const holdout = { horizon: HORIZON, historyLength: HISTORY, holdout: HOLDOUT };
    const trained = await scoreOnHoldout(full, result.parameters, holdout);
    const floor = await scoreOnHoldout(full, result.seasonalNaive.parameters, holdout);
    expect(trained.points).toBe(12 * HOLDOUT);
    expect(trained.wql).toBeLessThan(floor.wql);
  });
});
