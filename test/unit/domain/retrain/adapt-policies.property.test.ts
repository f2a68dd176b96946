import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicySet } from "../../../../layers/domain/policy.js";
import {
  adaptPolicies,
  allowedQuantileLevels,
  type OutcomeCounts,
  type TierObservation,
} from "../../../../layers/domain/retrain/adapt-policies.js";
import { testConfig } from "../../../fixtures/config.js";

const config = testConfig();
const levels = allowedQuantileLevels(config);
const bounds = config.policyBounds;
const tiers = Object.keys(config.tiers);

const counts = fc.record<OutcomeCounts>({
  grant: fc.nat(2_000),
  delay: fc.nat(200),
  offer: fc.nat(200),
  reject: fc.nat(200),
});
const observation = fc.record<TierObservation>(
  {
    outcomes: fc.record({
      total: counts,
      byCriticality: fc.record({ critical: counts, normal: counts, deferrable: counts }),
    }),
    coverage80: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    coveragePoints: fc.nat(1_000),
  },
  { requiredKeys: [] },
);
const tierPolicy = fc.record({
  forecastQuantile: fc.constantFrom(...levels),
  headroomFraction: fc
    .integer({ min: 0, max: 20 })
    .map((i) => Math.round(i * bounds.headroomStep * 1e6) / 1e6),
});
const input = fc.record({
  current: fc.option(
    fc.record({
      version: fc.integer({ min: 1, max: 1_000 }),
      tiers: fc.record(Object.fromEntries(tiers.map((t) => [t, tierPolicy]))),
      updatedAt: fc.constant(1_795_000_000),
    }) as fc.Arbitrary<PolicySet>,
    { nil: undefined },
  ),
  observations: fc
    .record(Object.fromEntries(tiers.map((t) => [t, observation])), { requiredKeys: [] })
    .map(
      (byTier) =>
        Object.fromEntries(
          Object.entries(byTier).filter((e): e is [string, TierObservation] => e[1] !== undefined),
        ) as Record<string, TierObservation>,
    ),
  utilisation: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
});

describe("adaptPolicies properties", () => {
  it("keeps every knob on a configured quantile within the bounds, moving at most one step, each change logged with a cause", () => {
    fc.assert(
      fc.property(input, ({ current, observations, utilisation }) => {
        const result = adaptPolicies({
          config,
          current,
          observations,
          utilisation,
          now: 1_795_000_100,
        });
        for (const change of result.changes) {
          const { before, after } = change;
          expect(levels).toContain(after.forecastQuantile);
          expect(after.headroomFraction).toBeGreaterThanOrEqual(bounds.headroomMin);
          expect(after.headroomFraction).toBeLessThanOrEqual(bounds.headroomMax);
          const levelMove = Math.abs(
            levels.indexOf(after.forecastQuantile) - levels.indexOf(before.forecastQuantile),
          );
          expect(levelMove).toBeLessThanOrEqual(1);
          expect(Math.abs(after.headroomFraction - before.headroomFraction)).toBeLessThanOrEqual(
            bounds.headroomStep + 1e-9,
          );
          expect(after).not.toEqual(before);
          expect(change.cause.length).toBeGreaterThan(10);
          expect(result.next?.tiers[change.tier]).toEqual(after);
        }
        expect(result.next === undefined).toBe(result.changes.length === 0);
        if (result.next) expect(result.next.version).toBe((current?.version ?? 0) + 1);
      }),
      { numRuns: 500 },
    );
  });
});
