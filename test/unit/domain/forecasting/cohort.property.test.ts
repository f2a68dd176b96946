import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cohortForecast } from "../../../../layers/domain/forecasting/cohort.js";

const LEVELS = ["0.1", "0.5", "0.9"];

/** A member forecast with monotone quantiles: cumulative non-negative offsets per step. */
const member = (steps: number) =>
  fc
    .array(
      fc.tuple(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e3, noNaN: true }),
        fc.double({ min: 0, max: 1e3, noNaN: true }),
      ),
      { minLength: steps, maxLength: steps },
    )
    .map((rows) => ({
      mean: rows.map(([a, b]) => a + b),
      quantiles: {
        "0.1": rows.map(([a]) => a),
        "0.5": rows.map(([a, b]) => a + b),
        "0.9": rows.map(([a, b, c]) => a + b + c),
      },
    }));

describe("cohortForecast", () => {
  it("keeps quantiles monotone and within the members' range at every step", () => {
    fc.assert(
      fc.property(fc.array(member(6), { minLength: 1, maxLength: 9 }), (members) => {
        const cohort = cohortForecast(members);
        expect(cohort).toBeDefined();
        for (let h = 0; h < 6; h++) {
          const row = LEVELS.map((k) => cohort?.quantiles[k]?.[h] as number);
          expect(row[0]).toBeLessThanOrEqual(row[1] as number);
          expect(row[1]).toBeLessThanOrEqual(row[2] as number);
          LEVELS.forEach((k, i) => {
            const values = members.map((m) => m.quantiles[k as "0.1"][h] as number);
            expect(row[i]).toBeGreaterThanOrEqual(Math.min(...values));
            expect(row[i]).toBeLessThanOrEqual(Math.max(...values));
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is the member itself for one member, and undefined for none", () => {
    fc.assert(
      fc.property(member(4), (m) => {
        expect(cohortForecast([m])).toEqual(m);
      }),
      { numRuns: 50 },
    );
    expect(cohortForecast([])).toBeUndefined();
  });
});
