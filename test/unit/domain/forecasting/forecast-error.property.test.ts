import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResourceForecast } from "../../../../layers/domain/forecast.js";
import {
  addErrorSummaries,
  scoreForecast,
  WQL_LEVELS,
  weightedQuantileLoss,
} from "../../../../layers/domain/forecasting/forecast-error.js";

const steps = 6;
const row = fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), {
  minLength: steps,
  maxLength: steps,
});
const forecast = fc
  .array(row, { minLength: WQL_LEVELS.length, maxLength: WQL_LEVELS.length })
  .map((rows): ResourceForecast => {
    // Sort across levels so the forecast is a valid (monotone) set of quantiles.
    const sorted =
      rows[0]?.map((_, h) => rows.map((r) => r[h] as number).sort((a, b) => a - b)) ?? [];
    return {
      mean: rows[4] ?? [],
      quantiles: Object.fromEntries(
        WQL_LEVELS.map((q, i) => [String(q), sorted.map((s) => s[i] as number)]),
      ),
    };
  });
const actuals = fc.array(
  fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(Number.NaN)),
  {
    minLength: steps,
    maxLength: steps,
  },
);

describe("forecast error properties", () => {
  it("scores a non-negative error, zero for a forecast that hit every actual", () => {
    fc.assert(
      fc.property(forecast, actuals, (f, y) => {
        const summary = scoreForecast(f, y);
        expect(summary.pinballSum).toBeGreaterThanOrEqual(0);
        expect(summary.covered80).toBeLessThanOrEqual(summary.points);
        const perfect = scoreForecast(
          { mean: y, quantiles: Object.fromEntries(WQL_LEVELS.map((q) => [String(q), y])) },
          y,
        );
        expect(perfect.pinballSum).toBe(0);
      }),
    );
  });

  it("adds up: the error of two batches scored apart equals the error of both scored together", () => {
    fc.assert(
      fc.property(forecast, actuals, actuals, (f, a, b) => {
        const joined = scoreForecast(
          {
            mean: [...f.mean, ...f.mean],
            quantiles: Object.fromEntries(
              Object.entries(f.quantiles).map(([k, r]) => [k, [...r, ...r]]),
            ),
          },
          [...a, ...b],
        );
        const apart = addErrorSummaries(scoreForecast(f, a), scoreForecast(f, b));
        expect(apart.points).toBe(joined.points);
        expect(apart.pinballSum).toBeCloseTo(joined.pinballSum, 3);
        const wql = weightedQuantileLoss(apart);
        if (wql !== undefined) expect(wql).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
