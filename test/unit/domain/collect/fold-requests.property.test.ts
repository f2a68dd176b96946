import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldRequests } from "../../../../layers/domain/collect/fold-requests.js";
import { RESOURCES } from "../../../../layers/domain/resources.js";
import type { RequestLogEntry } from "../../../../layers/domain/usage.js";

const T = 1_795_812_300;
const window = { start: T, end: T + 900, intervalSeconds: 300 };

const entry: fc.Arbitrary<RequestLogEntry> = fc.record({
  requestId: fc.uuid(),
  userId: fc.constantFrom("acme", "globex", "initech"),
  pool: fc.constantFrom("cpu", "gpu", "retired"),
  amounts: fc.record(
    { vcpu: fc.integer({ min: 0, max: 64 }), gpu: fc.integer({ min: 0, max: 4 }) },
    { requiredKeys: [] },
  ),
  durationSeconds: fc.integer({ min: 1, max: 86_400 }),
  receivedAt: fc.integer({ min: T - 600, max: T + 1_500 }),
  outcome: fc.constantFrom("grant", "delay", "offer", "reject"),
});

describe("foldRequests (properties)", () => {
  it("folds every request in the window exactly once and never grants more than was asked", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), (entries) => {
        const folded = foldRequests(entries, window, new Set(["cpu", "gpu"]));
        const inScope = entries.filter(
          (e) => e.receivedAt >= T && e.receivedAt < T + 900 && e.pool !== "retired",
        );
        expect(folded.folded).toBe(inScope.length);
        expect(folded.skipped).toBe(entries.length - inScope.length);
        const stats = [...folded.byKey.values()];
        expect(stats.reduce((n, s) => n + s.stats.count, 0)).toBe(inScope.length);
        for (const s of stats) {
          expect((s.intervalStart - T) % 300).toBe(0);
          for (const r of RESOURCES) {
            expect(s.stats.granted[r] ?? 0).toBeLessThanOrEqual(s.stats.requested[r] ?? 0);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
