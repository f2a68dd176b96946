import { describe, expect, it } from "vitest";
import type { ForecastErrorSummary } from "../../../../layers/domain/forecast.js";
import {
  assessForecastError,
  errorMetrics,
  poolErrorSummaries,
} from "../../../../layers/domain/retrain/evaluate-error.js";

/** A summary with the given wQL and coverage over `points` points (actuals of 10 each). */
function summary(wql: number, coverage: number, points: number): ForecastErrorSummary {
  const absActualSum = 10 * points;
  return {
    pinballSum: wql * 9 * absActualSum,
    absActualSum,
    quantileCount: 9,
    points,
    covered80: Math.round(coverage * points),
  };
}

describe("assessForecastError", () => {
  it("asks for a retrain when the pooled wQL passes the threshold, naming the numbers", () => {
    const result = assessForecastError(
      { premium: summary(0.6, 0.8, 500), free: summary(0.7, 0.8, 500) },
      { errorThresholdWql: 0.5 },
    );
    expect(result.needsRetrain).toBe(true);
    expect(result.overall.wql).toBeCloseTo(0.65, 10);
    expect(result.reasons.join("\n")).toContain("all tiers: wQL 0.65 above the threshold 0.5");
  });

  it("does not retrain while wQL is under the threshold and coverage within [0.7, 0.9]", () => {
    const result = assessForecastError(
      { premium: summary(0.2, 0.82, 400), standard: summary(0.3, 0.78, 400) },
      { errorThresholdWql: 0.5 },
    );
    expect(result.needsRetrain).toBe(false);
    expect(result.overall.coverage80).toBeCloseTo(0.8, 2);
    expect(result.reasons[0]).toMatch(/within the threshold/);
  });

  it("retrains when coverage drifts below 0.7 or above 0.9 even with a low wQL", () => {
    const narrow = assessForecastError(
      { standard: summary(0.1, 0.6, 300) },
      { errorThresholdWql: 0.5 },
    );
    const wide = assessForecastError(
      { standard: summary(0.1, 0.95, 300) },
      { errorThresholdWql: 0.5 },
    );
    expect(narrow.needsRetrain).toBe(true);
    expect(narrow.reasons.join(" ")).toContain("too narrow");
    expect(wide.needsRetrain).toBe(true);
    expect(wide.reasons.join(" ")).toContain("too wide");
  });

  it("retrains when one tier alone passes the threshold though the pooled error does not", () => {
    const result = assessForecastError(
      { premium: summary(0.1, 0.8, 5_000), free: summary(0.9, 0.8, 200) },
      { errorThresholdWql: 0.5 },
    );
    expect(result.overall.wql).toBeLessThan(0.5);
    expect(result.needsRetrain).toBe(true);
    expect(result.reasons.join(" ")).toContain("tier free");
    expect(result.byTier.free?.wql).toBeCloseTo(0.9, 10);
  });

  it("does not act on too few points, and says so", () => {
    const result = assessForecastError({ free: summary(2, 0.1, 40) }, { errorThresholdWql: 0.5 });
    expect(result.needsRetrain).toBe(false);
    expect(result.reasons[0]).toContain("only 40 scored points");
  });

  it("reports no wQL when nothing was scored or every actual was zero", () => {
    expect(assessForecastError({}, { errorThresholdWql: 0.5 }).overall).toEqual({
      wql: null,
      coverage80: null,
      points: 0,
    });
    const zeros = errorMetrics({
      pinballSum: 3,
      absActualSum: 0,
      quantileCount: 9,
      points: 10,
      covered80: 10,
    });
    expect(zeros.wql).toBeNull();
    expect(zeros.coverage80).toBe(1);
  });

  it("pools tiers scored with different quantile sets without mixing their scales", () => {
    const a: ForecastErrorSummary = {
      pinballSum: 9,
      absActualSum: 10,
      quantileCount: 9,
      points: 5,
      covered80: 4,
    };
    const b: ForecastErrorSummary = {
      pinballSum: 3,
      absActualSum: 10,
      quantileCount: 3,
      points: 5,
      covered80: 3,
    };
    const pooled = errorMetrics(poolErrorSummaries([a, b]));
    // Each has wQL 0.1; pooled over 90 + 30 quantile-weighted units of |y|: 12 / 120.
    expect(pooled.wql).toBeCloseTo(0.1, 12);
    expect(pooled.coverage80).toBeCloseTo(0.7, 12);
  });
});
