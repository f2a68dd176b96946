import { describe, expect, it } from "vitest";
import { minimizeNelderMead } from "../../../../../layers/domain/forecasting/methods/nelder-mead.js";

describe("minimizeNelderMead", () => {
  it("finds the minimum of a quadratic inside the unit box", () => {
    const result = minimizeNelderMead(
      (x) => ((x[0] as number) - 0.3) ** 2 + 2 * ((x[1] as number) - 0.7) ** 2,
      [0.5, 0.5],
      { maxEvaluations: 400, tolerance: 1e-12 },
    );
    expect(result.x[0]).toBeCloseTo(0.3, 4);
    expect(result.x[1]).toBeCloseTo(0.7, 4);
    expect(result.value).toBeLessThan(1e-8);
  });

  it("stops at the bound when the minimum lies outside the box", () => {
    const result = minimizeNelderMead((x) => ((x[0] as number) - 1.5) ** 2, [0.2], {
      maxEvaluations: 200,
    });
    expect(result.x[0]).toBe(1);
  });

  it("treats a non-finite objective as infinitely bad and keeps the best finite point", () => {
    const result = minimizeNelderMead(
      (x) => ((x[0] as number) > 0.6 ? Number.NaN : ((x[0] as number) - 0.55) ** 2),
      [0.2],
      { maxEvaluations: 300, tolerance: 1e-12 },
    );
    expect(result.x[0]).toBeCloseTo(0.55, 3);
    expect(Number.isFinite(result.value)).toBe(true);
  });

  it("never spends more evaluations than its budget", () => {
    let calls = 0;
    const result = minimizeNelderMead(
      (x) => {
        calls++;
        return Math.sin(10 * (x[0] as number)) + (x[1] as number);
      },
      [0.5, 0.5],
      { maxEvaluations: 25, tolerance: 0 },
    );
    expect(calls).toBeLessThanOrEqual(25 + 2);
    expect(result.evaluations).toBe(calls);
  });
});
