import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import { conformalMethod } from "../../../../../layers/domain/forecasting/methods/conformal.js";
import { crostonMethod } from "../../../../../layers/domain/forecasting/methods/croston.js";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import type {
  FitContext,
  ForecastMethod,
  QuantileForecast,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import { shaperMethod } from "../../../../../layers/domain/forecasting/methods/selection.js";
import { seriesOf } from "./series-fixtures.js";

/**
 * Invariants every per-series forecasting method keeps, over arbitrary inputs: empty,
 * one-point, all-zero, negative, NaN-bearing and huge series included.
 */

const METHODS: readonly { label: string; make: () => ForecastMethod }[] = [
  { label: "seasonal-naive", make: () => seasonalNaiveMethod() },
  { label: "ets", make: () => etsMethod() },
  { label: "croston", make: () => crostonMethod({ variant: "croston" }) },
  { label: "conformal ets", make: () => conformalMethod(etsMethod()) },
  { label: "conformal sba", make: () => conformalMethod(crostonMethod({ variant: "sba" })) },
  { label: "shaper", make: () => shaperMethod() },
];

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double({ min: -1.7e308, max: 1.7e308, noNaN: true }) },
);
const nonNegative = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1e4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
  { weight: 2, arbitrary: fc.constant(0) },
);
const levels = fc
  .uniqueArray(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 6 })
  .map((l) => [...l].sort((a, b) => a - b));
const shape = fc.record({
  seasonLength: fc.integer({ min: 1, max: 12 }),
  horizon: fc.integer({ min: 1, max: 8 }),
  quantiles: levels,
});

/** Fits one series and forecasts the full horizon from its training end and a later origin. */
async function forecastsOf(
  method: ForecastMethod,
  values: readonly number[],
  context: FitContext,
): Promise<QuantileForecast[]> {
  const trainEnd = Math.floor(values.length * 0.8);
  const fitted = await method.fit([seriesOf(values)], { ...context, trainEnd: [trainEnd] });
  const f = fitted.forSeries(0);
  const first = f.forecast(context.horizon);
  f.advanceTo(values.length);
  return [first, f.forecast(context.horizon)];
}

function expectWellFormed(forecast: QuantileForecast, context: FitContext): void {
  expect(forecast.mean).toHaveLength(context.horizon);
  expect(forecast.quantiles).toHaveLength(context.quantiles.length);
  for (const row of [forecast.mean, ...forecast.quantiles]) {
    expect(row).toHaveLength(context.horizon);
    for (const v of row) expect(Number.isFinite(v)).toBe(true);
  }
  for (let h = 0; h < context.horizon; h++) {
    for (let k = 1; k < forecast.quantiles.length; k++) {
      expect(forecast.quantiles[k]?.[h]).toBeGreaterThanOrEqual(
        forecast.quantiles[k - 1]?.[h] as number,
      );
    }
  }
}

describe.each(METHODS)("$label properties", ({ make }) => {
  it("gives a finite, well-formed forecast with monotone quantiles for any series", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 90 }), shape, async (values, s) => {
        const context: FitContext = { ...s, seed: 1 };
        for (const forecast of await forecastsOf(make(), values, context)) {
          expectWellFormed(forecast, context);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("never forecasts below zero for non-negative data", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nonNegative, { maxLength: 90 }), shape, async (values, s) => {
        for (const forecast of await forecastsOf(make(), values, { ...s, seed: 1 })) {
          for (const row of [forecast.mean, ...forecast.quantiles]) {
            for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("scales its forecast with the input (by powers of two, which scale exactly)", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Subnormal values do not scale exactly (0.25 × 5e-324 is 0), so they are left out.
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: 1e-300, max: 1000, noNaN: true })), {
          minLength: 1,
          maxLength: 80,
        }),
        shape,
        fc.constantFrom(0.25, 2, 1024),
        async (values, s, k) => {
          const context: FitContext = { ...s, seed: 1 };
          const base = await forecastsOf(make(), values, context);
          const scaled = await forecastsOf(
            make(),
            values.map((v) => v * k),
            context,
          );
          base.forEach((forecast, i) => {
            const other = scaled[i] as QuantileForecast;
            [forecast.mean, ...forecast.quantiles].forEach((row, r) => {
              const otherRow = r === 0 ? other.mean : (other.quantiles[r - 1] as Float64Array);
              row.forEach((v, h) => {
                expect(Math.abs((otherRow[h] as number) - k * v)).toBeLessThanOrEqual(
                  1e-9 * k * (1 + Math.abs(v)),
                );
              });
            });
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it("gives the same output for the same seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 60 }), shape, async (values, s) => {
        const context: FitContext = { ...s, seed: 7 };
        expect(await forecastsOf(make(), values, context)).toEqual(
          await forecastsOf(make(), values, context),
        );
      }),
      { numRuns: 20 },
    );
  });

  it("advances incrementally: in chunks or at once, the forecast is the same", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 2, maxLength: 90 }),
        shape,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        async (values, s, cuts) => {
          const context: FitContext = { ...s, seed: 1, trainEnd: [Math.floor(values.length / 2)] };
          const fitted = await make().fit([seriesOf(values)], context);
          const once = fitted.forSeries(0);
          once.advanceTo(values.length);
          const steps = fitted.forSeries(0);
          const start = context.trainEnd?.[0] as number;
          const origins = cuts
            .map((c) => start + Math.floor(c * (values.length - start)))
            .sort((a, b) => a - b);
          for (const origin of [...origins, values.length]) steps.advanceTo(origin);
          expect(steps.forecast(s.horizon)).toEqual(once.forecast(s.horizon));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe.each(METHODS.filter((m) => m.label !== "croston" && m.label !== "seasonal-naive"))(
  "$label on a constant series",
  ({ make }) => {
    it("gives zero-width intervals around the constant", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.double({ min: 0.001, max: 1e6, noNaN: true }),
          fc.integer({ min: 12, max: 120 }),
          shape,
          async (constant, length, s) => {
            const values = new Array(length).fill(constant);
            for (const forecast of await forecastsOf(make(), values, { ...s, seed: 1 })) {
              for (const row of forecast.quantiles) {
                for (const v of row)
                  expect(Math.abs(v - constant)).toBeLessThanOrEqual(1e-6 * constant);
              }
            }
          },
        ),
        { numRuns: 30 },
      );
    });
  },
);

describe("constant series, seasonal naive and Croston", () => {
  it("seasonal naive and Croston forecast the constant itself, with zero-width intervals", async () => {
    for (const make of [() => seasonalNaiveMethod(), () => crostonMethod({ variant: "croston" })]) {
      const forecasts = await forecastsOf(make(), new Array(60).fill(3.5), {
        seasonLength: 4,
        horizon: 3,
        quantiles: [0.1, 0.5, 0.9],
        seed: 1,
      });
      for (const forecast of forecasts) {
        for (const row of [forecast.mean, ...forecast.quantiles]) {
          for (const v of row) expect(v).toBeCloseTo(3.5, 9);
        }
      }
    }
  });
});

describe("malformed requests", () => {
  it("get a ValidationError, never a silent NaN", async () => {
    for (const { make } of METHODS) {
      const fitted = await make().fit([seriesOf([1, 2, 3])], {
        seasonLength: 2,
        horizon: 2,
        quantiles: [0.5],
        seed: 1,
      });
      expect(() => fitted.forSeries(0).forecast(3)).toThrow(ValidationError);
      expect(() =>
        make().fit([seriesOf([1])], { seasonLength: 2, horizon: 0, quantiles: [0.5], seed: 1 }),
      ).toThrow(ValidationError);
    }
  });
});

/** Edge inputs named by issue 3, each generated on purpose rather than left to chance. */
const edgeSeries = fc.oneof(
  fc.constant([] as number[]),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => [v]),
  fc.integer({ min: 1, max: 90 }).map((n) => new Array<number>(n).fill(0)),
  fc.integer({ min: 1, max: 90 }).map((n) => new Array<number>(n).fill(Number.NaN)),
  fc.array(fc.double({ min: -1e6, max: -1e-3, noNaN: true }), { minLength: 1, maxLength: 90 }),
  fc.array(fc.oneof(fc.constant(Number.NaN), fc.double({ min: 0, max: 100, noNaN: true })), {
    minLength: 1,
    maxLength: 90,
  }),
  fc.array(fc.constantFrom(1.7e308, -1.7e308, 1e300, Number.MAX_VALUE, 0, Number.NaN), {
    minLength: 1,
    maxLength: 90,
  }),
  fc.array(fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5, 0), {
    minLength: 1,
    maxLength: 60,
  }),
);

describe.each(METHODS)("$label on edge inputs", ({ make }) => {
  it("gives a defined forecast (finite, monotone, never NaN) for empty, single-point, all-zero, all-missing, negative and huge series", async () => {
    await fc.assert(
      fc.asyncProperty(edgeSeries, shape, async (values, s) => {
        const context: FitContext = { ...s, seed: 1 };
        for (const forecast of await forecastsOf(make(), values, context)) {
          expectWellFormed(forecast, context);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("shaper on constant and scaled inputs, signs and gaps included", () => {
  it("gives zero-width intervals around any constant, negative, zero or gappy", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(0), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
        fc.integer({ min: 12, max: 120 }),
        fc.integer({ min: 2, max: 30 }),
        shape,
        async (constant, length, gapEvery, s) => {
          const values = Array.from({ length }, (_, t) =>
            t % gapEvery === 1 ? Number.NaN : constant,
          );
          for (const forecast of await forecastsOf(shaperMethod(), values, { ...s, seed: 1 })) {
            // The mean is left out: on negative data the seasonal-naive candidate forecasts 0
            // (it models demand), so a combination holding it has a biased mean — which the
            // calibrated intervals correct.
            for (const row of forecast.quantiles) {
              for (const v of row) {
                expect(Math.abs(v - constant)).toBeLessThanOrEqual(1e-6 * Math.abs(constant));
              }
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("scales its forecast with series of either sign and with missing values", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constant(0),
            fc.constant(Number.NaN),
            fc.double({ min: 1e-300, max: 1000, noNaN: true }),
            fc.double({ min: -1000, max: -1e-300, noNaN: true }),
          ),
          { minLength: 1, maxLength: 80 },
        ),
        shape,
        fc.constantFrom(0.25, 2, 1024),
        async (values, s, k) => {
          const context: FitContext = { ...s, seed: 1 };
          const base = await forecastsOf(shaperMethod(), values, context);
          const scaled = await forecastsOf(
            shaperMethod(),
            values.map((v) => v * k),
            context,
          );
          base.forEach((forecast, i) => {
            const other = scaled[i] as QuantileForecast;
            [forecast.mean, ...forecast.quantiles].forEach((row, r) => {
              const otherRow = r === 0 ? other.mean : (other.quantiles[r - 1] as Float64Array);
              row.forEach((v, h) => {
                expect(Math.abs((otherRow[h] as number) - k * v)).toBeLessThanOrEqual(
                  1e-9 * k * (1 + Math.abs(v)),
                );
              });
            });
          });
        },
      ),
      { numRuns: 30 },
    );
  });
});
