import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type GlobalFittedMethod,
  GlobalForecaster,
  globalMethod,
} from "../../../../../../layers/domain/forecasting/methods/global/global-method.js";
import type { QuantileForecast } from "../../../../../../layers/domain/forecasting/methods/method.js";
import { fitContext, LEVELS, QUICK, trainingSeries } from "./global-fixtures.js";

/**
 * Invariants of the global model's forecasts over arbitrary histories — empty, one point, all
 * zero, negative, NaN-bearing, huge — and arbitrary static features, for one trained model.
 */

const series = trainingSeries();
const fitted = globalMethod(QUICK).fit(series, fitContext(series)) as GlobalFittedMethod;

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double({ min: -1.7e308, max: 1.7e308, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
);
const history = fc.array(value, { maxLength: 200 });
const tier = fc.option(fc.constantFrom("premium", "free", "unknown-tier"), { nil: undefined });

function forecast(
  values: readonly number[],
  t: string | undefined,
  horizon: number,
): QuantileForecast {
  return GlobalForecaster.atPosition(
    fitted.model,
    {
      id: "x",
      values,
      startSeconds: 1_700_000_000,
      stepSeconds: 3600,
      ...(t ? { features: { tier: t } } : {}),
    },
    values.length,
  ).forecast(horizon);
}

describe("global model properties", () => {
  it("gives a finite, non-negative forecast of the asked length for any history", () => {
    fc.assert(
      fc.property(history, tier, fc.integer({ min: 1, max: 4 }), (values, t, horizon) => {
        const f = forecast(values, t, horizon);
        expect(f.mean).toHaveLength(horizon);
        expect(f.quantiles).toHaveLength(LEVELS.length);
        for (const row of [f.mean, ...f.quantiles]) {
          expect(row).toHaveLength(horizon);
          for (const v of row) {
            expect(Number.isFinite(v)).toBe(true);
            expect(v).toBeGreaterThanOrEqual(0);
          }
        }
      }),
    );
  });

  it("keeps quantiles monotone in their level at every step", () => {
    fc.assert(
      fc.property(history, tier, (values, t) => {
        const f = forecast(values, t, 4);
        for (let h = 0; h < 4; h++) {
          for (let k = 1; k < f.quantiles.length; k++) {
            expect(f.quantiles[k]?.[h]).toBeGreaterThanOrEqual(f.quantiles[k - 1]?.[h] as number);
          }
        }
      }),
    );
  });

  it("scales the forecast with the input (the model is scale-free)", () => {
    const positive = fc.array(
      fc.oneof(fc.double({ min: 1, max: 1000, noNaN: true }), fc.constant(Number.NaN)),
      { minLength: 30, maxLength: 200 },
    );
    fc.assert(
      fc.property(positive, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (values, k) => {
        const a = forecast(values, "free", 4);
        const b = forecast(
          values.map((v) => v * k),
          "free",
          4,
        );
        const rows = (f: QuantileForecast) => [f.mean, ...f.quantiles].flatMap((r) => [...r]);
        const ra = rows(a);
        rows(b).forEach((v, i) => {
          const expected = (ra[i] as number) * k;
          expect(Math.abs(v - expected)).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(expected)),
          );
        });
      }),
    );
  });

  it("gives zero-width forecasts at the constant for a constant history", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.integer({ min: 2, max: 150 }),
        (level, length) => {
          const f = forecast(new Array(length).fill(level), "premium", 4);
          for (const row of [f.mean, ...f.quantiles]) for (const v of row) expect(v).toBe(level);
        },
      ),
    );
  });
});
