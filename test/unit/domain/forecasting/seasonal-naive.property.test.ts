import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forecastSeasonalNaive } from "../../../../layers/domain/forecasting/seasonal-naive.js";

/**
 * Invariants of the seasonal-naive model over arbitrary inputs: empty, one-point, all-zero,
 * negative, NaN-bearing and huge series included.
 */

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double({ min: -1.7e308, max: 1.7e308, noNaN: true }) },
);
const series = fc.array(value, { maxLength: 120 });
const levels = fc.uniqueArray(fc.double({ min: 0.001, max: 0.999, noNaN: true }), {
  minLength: 1,
  maxLength: 8,
});
const options = fc.record({
  predictionLength: fc.integer({ min: 1, max: 40 }),
  seasonLength: fc.integer({ min: 1, max: 30 }),
  quantiles: levels,
  numSamples: fc.integer({ min: 0, max: 5 }),
});

function allValues(f: ReturnType<typeof forecastSeasonalNaive>): number[] {
  return [...f.mean, ...Object.values(f.quantiles).flat(), ...(f.samples ?? []).flat()];
}

describe("forecastSeasonalNaive properties", () => {
  it("gives a defined, finite, non-negative forecast of the right length for any input", () => {
    fc.assert(
      fc.property(series, options, (target, opts) => {
        const f = forecastSeasonalNaive(target, opts);
        expect(f.mean).toHaveLength(opts.predictionLength);
        for (const row of Object.values(f.quantiles))
          expect(row).toHaveLength(opts.predictionLength);
        for (const v of allValues(f)) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it("keeps quantiles monotone in their level at every step", () => {
    fc.assert(
      fc.property(series, options, (target, opts) => {
        const f = forecastSeasonalNaive(target, opts);
        const ordered = [...opts.quantiles]
          .sort((a, b) => a - b)
          .map((q) => f.quantiles[String(q)] ?? []);
        for (let i = 1; i < ordered.length; i++) {
          ordered[i]?.forEach((v, h) => {
            expect(v).toBeGreaterThanOrEqual(ordered[i - 1]?.[h] ?? 0);
          });
        }
      }),
    );
  });

  it("gives a constant series zero-width intervals at the constant", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.array(fc.boolean(), { minLength: 2, maxLength: 80 }),
        options,
        (constant, observed, opts) => {
          const target = observed.map((seen) => (seen ? constant : Number.NaN));
          fc.pre(observed.filter(Boolean).length >= 2);
          const f = forecastSeasonalNaive(target, opts);
          for (const v of allValues(f)) expect(v).toBeCloseTo(constant, 6);
        },
      ),
    );
  });

  it("scales the forecast by k when the input is scaled by k", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constant(Number.NaN)),
          {
            maxLength: 80,
          },
        ),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        options,
        (target, k, opts) => {
          const base = allValues(forecastSeasonalNaive(target, opts));
          const scaled = allValues(
            forecastSeasonalNaive(
              target.map((v) => v * k),
              opts,
            ),
          );
          // Rounding is relative to the input's scale (the model works on the series / max |y|).
          const magnitude = Math.max(
            1e-300,
            ...base.map(Math.abs),
            ...target.filter(Number.isFinite).map(Math.abs),
          );
          scaled.forEach((v, i) => {
            expect(Math.abs(v - (base[i] as number) * k)).toBeLessThanOrEqual(1e-9 * magnitude * k);
          });
        },
      ),
    );
  });

  it("forecasts zeros with zero width for an all-zero series", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), options, (length, opts) => {
        const f = forecastSeasonalNaive(new Array(length).fill(0), opts);
        for (const v of allValues(f)) expect(v).toBe(0);
      }),
    );
  });
});
