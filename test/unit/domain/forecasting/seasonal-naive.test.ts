import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../layers/domain/errors.js";
import {
  forecastSeasonalNaive,
  seasonalNaivePredictive,
} from "../../../../layers/domain/forecasting/seasonal-naive.js";

const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** A deterministic pseudo-random stream (mulberry32), so the tests never flake. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function width(f: { quantiles: Record<string, number[]> }, step: number): number {
  return (f.quantiles["0.9"]?.[step] ?? 0) - (f.quantiles["0.1"]?.[step] ?? 0);
}

describe("forecastSeasonalNaive", () => {
  it("forecasts the value one season back", () => {
    const season = [1, 5, 9, 3];
    const target = [...season, ...season, ...season].map((v, i) => v + (i >= 8 ? 1 : 0));
    const f = forecastSeasonalNaive(target, {
      predictionLength: 4,
      seasonLength: 4,
      quantiles: [0.5],
      minSeasonalErrors: 2,
    });
    expect(f.mean).toEqual([2, 6, 10, 4]);
    expect(f.basis).toBe("seasonal-errors");
  });

  it("walks back another season past a missing value and widens that step", () => {
    const rnd = random(1);
    const pattern = [10, 20, 30, 40];
    const target = Array.from({ length: 40 }, (_, i) => (pattern[i % 4] as number) + rnd());
    target[37] = Number.NaN; // the slot one season before step 2
    const f = forecastSeasonalNaive(target, {
      predictionLength: 4,
      seasonLength: 4,
      quantiles: DECILES,
    });
    expect(f.mean[1]).toBe(target[33]);
    expect(f.mean[0]).toBe(target[36]);
    expect(width(f, 1)).toBeCloseTo(width(f, 0) * Math.SQRT2, 9);
  });

  it("uses the last observed value when the history is shorter than one season", () => {
    const f = forecastSeasonalNaive([4, 6, Number.NaN, 5, Number.NaN], {
      predictionLength: 3,
      seasonLength: 288,
      quantiles: [0.1, 0.9],
    });
    expect(f.mean).toEqual([5, 5, 5]);
    expect(f.basis).toBe("one-step-errors");
  });

  it("widens short-series intervals with the square root of the steps ahead", () => {
    const f = forecastSeasonalNaive([4, 6, 5, 7, 6], {
      predictionLength: 4,
      seasonLength: 288,
      quantiles: [0.1, 0.9],
    });
    expect(width(f, 3)).toBeCloseTo(width(f, 0) * 2, 9);
    // No drift assumed: the interval is centred on the point forecast.
    expect((f.quantiles["0.9"]?.[0] ?? 0) - 6).toBeCloseTo(6 - (f.quantiles["0.1"]?.[0] ?? 0), 9);
  });

  it("gives a one-point series a forecast with wide intervals around it", () => {
    const f = forecastSeasonalNaive([10], {
      predictionLength: 3,
      seasonLength: 288,
      quantiles: DECILES,
    });
    expect(f.basis).toBe("single-point");
    expect(f.mean).toEqual([10, 10, 10]);
    expect(f.quantiles["0.9"]?.[0]).toBeCloseTo(18, 9);
    expect(f.quantiles["0.1"]?.[0]).toBeCloseTo(2, 9);
    expect(width(f, 2)).toBeGreaterThan(width(f, 0));
  });

  it("answers a series with no observation with the documented cold start", () => {
    for (const target of [[], [Number.NaN, Number.NaN]]) {
      const f = forecastSeasonalNaive(target, {
        predictionLength: 2,
        seasonLength: 4,
        quantiles: [0.1, 0.9],
      });
      expect(f.basis).toBe("cold-start");
      expect(f.observedPoints).toBe(0);
      expect(f.mean).toEqual([0, 0]);
      expect(f.quantiles).toEqual({ "0.1": [0, 0], "0.9": [0, 0] });
    }
  });

  it("reads infinities as missing values", () => {
    const f = forecastSeasonalNaive([3, Number.POSITIVE_INFINITY, 3], {
      predictionLength: 2,
      seasonLength: 10,
      quantiles: [0.1, 0.9],
    });
    expect(f.observedPoints).toBe(2);
    expect(f.mean).toEqual([3, 3]);
  });

  it("gives a constant series zero-width intervals at the constant", () => {
    const target = Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? Number.NaN : 2.5));
    const f = forecastSeasonalNaive(target, {
      predictionLength: 12,
      seasonLength: 4,
      quantiles: DECILES,
    });
    for (const row of Object.values(f.quantiles)) expect(row).toEqual(new Array(12).fill(2.5));
    expect(f.mean).toEqual(new Array(12).fill(2.5));
  });

  it("never forecasts negative demand", () => {
    const f = forecastSeasonalNaive([-5, 3, -2, 1, -4, 2], {
      predictionLength: 6,
      seasonLength: 2,
      quantiles: DECILES,
      minSeasonalErrors: 1,
    });
    for (const row of [f.mean, ...Object.values(f.quantiles)]) {
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    }
  });

  it("scales interval offsets by intervalScale", () => {
    const target = [105, 107, 104, 108, 106, 109, 105];
    const base = forecastSeasonalNaive(target, {
      predictionLength: 2,
      seasonLength: 100,
      quantiles: [0.1, 0.9],
    });
    const doubled = forecastSeasonalNaive(target, {
      predictionLength: 2,
      seasonLength: 100,
      quantiles: [0.1, 0.9],
      intervalScale: 2,
    });
    const none = forecastSeasonalNaive(target, {
      predictionLength: 2,
      seasonLength: 100,
      quantiles: [0.1, 0.9],
      intervalScale: 0,
    });
    expect(width(doubled, 0)).toBeCloseTo(2 * width(base, 0), 9);
    expect(width(none, 1)).toBe(0);
  });

  it("returns stratified samples whose order follows the predictive distribution", () => {
    const f = forecastSeasonalNaive([5, 7, 4, 8, 6, 9, 5], {
      predictionLength: 3,
      seasonLength: 100,
      quantiles: [0.5],
      numSamples: 10,
    });
    expect(f.samples).toHaveLength(10);
    for (const path of f.samples ?? []) expect(path).toHaveLength(3);
    const firstStep = (f.samples ?? []).map((p) => p[0] as number);
    expect([...firstStep].sort((a, b) => a - b)).toEqual(firstStep);
  });

  it("covers about 80 % of next-season values with its 80 % interval on noisy seasonal data", () => {
    const rnd = random(42);
    const season = 24;
    let covered = 0;
    let points = 0;
    for (let s = 0; s < 200; s++) {
      const level = 10 + 90 * rnd();
      const series = Array.from({ length: season * 8 }, (_, i) => {
        const noise = (rnd() + rnd() + rnd() - 1.5) * 4;
        return level + 5 * Math.sin((2 * Math.PI * i) / season) + noise;
      });
      const history = series.slice(0, season * 7);
      const future = series.slice(season * 7);
      const f = forecastSeasonalNaive(history, {
        predictionLength: season,
        seasonLength: season,
        quantiles: [0.1, 0.9],
      });
      future.forEach((y, h) => {
        points++;
        if (y >= (f.quantiles["0.1"]?.[h] ?? 0) && y <= (f.quantiles["0.9"]?.[h] ?? 0)) covered++;
      });
    }
    expect(covered / points).toBeGreaterThan(0.75);
    expect(covered / points).toBeLessThan(0.85);
  });

  it("rejects options out of range, naming each", () => {
    const call = () =>
      forecastSeasonalNaive([1], {
        predictionLength: 0,
        seasonLength: 1.5,
        quantiles: [0.5, 1],
        intervalScale: -1,
      });
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/predictionLength.*seasonLength.*quantiles\.1.*intervalScale/);
  });
});

describe("seasonalNaivePredictive", () => {
  it("keeps quantile offsets when the series is shifted by a constant", () => {
    const target = [5, 7, 4, 8, 6, 9, 5, 6, 8];
    const options = { predictionLength: 3, seasonLength: 4, quantiles: [], minSeasonalErrors: 2 };
    const a = seasonalNaivePredictive(target, options);
    const b = seasonalNaivePredictive(
      target.map((v) => v + 1000),
      options,
    );
    const offsets = (p: typeof a) => p.quantile(0.9).map((v, h) => v - (p.mean[h] as number));
    offsets(a).forEach((o, h) => {
      expect(offsets(b)[h]).toBeCloseTo(o, 6);
    });
  });
});
