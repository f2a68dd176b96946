import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { monotone } from "../../../../../layers/domain/forecasting/methods/conformal.js";
import { rearrangeQuantiles } from "../../../../../layers/domain/forecasting/quantiles.js";

/** The conformal forecaster's in-place rearrangement is the shared one, on typed rows. */
describe("conformal monotone", () => {
  it("gives what rearrangeQuantiles gives, whatever the order of the levels", () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.double({ min: 0.01, max: 0.99, noNaN: true }), {
          minLength: 1,
          maxLength: 9,
        }),
        fc.integer({ min: 1, max: 12 }),
        fc.infiniteStream(value),
        (levels, horizon, values) => {
          const rows = levels.map(() =>
            Float64Array.from({ length: horizon }, () => values.next().value),
          );
          const byKey: Record<string, number[]> = {};
          levels.forEach((level, k) => {
            byKey[String(level)] = Array.from(rows[k] as Float64Array);
          });
          const expected = rearrangeQuantiles(byKey);
          const got = monotone(levels, rows);
          expect(got).toBe(rows);
          levels.forEach((level, k) => {
            expect(Array.from(got[k] as Float64Array)).toEqual(expected[String(level)]);
          });
        },
      ),
    );
  });
});
