import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { poolUsagePartials } from "../../../../layers/domain/collect/pool-partials.js";
import { RESOURCES } from "../../../../layers/domain/resources.js";
import type { UsageRecord } from "../../../../layers/domain/usage.js";

const T = 1_795_812_300;
const POOLS = ["cpu", "gpu"];
const INTERVALS = [T, T + 300, T + 600];

const amount = fc.double({ min: 0, max: 1_000, noNaN: true, noDefaultInfinity: true });
const usage = fc.option(
  fc.record({ vcpu: amount, memoryGiB: amount, gpu: amount }, { requiredKeys: [] }),
  { nil: null, freq: 3 },
);

/** One record per user, pool and interval, as collect produces them. */
const shardRecords = fc
  .array(fc.tuple(usage, usage, usage, usage, usage, usage), { maxLength: 40 })
  .map((users) =>
    users.flatMap((cells, u) =>
      POOLS.flatMap((pool, p) =>
        INTERVALS.map(
          (intervalStart, i): UsageRecord => ({
            userId: `u${u}`,
            pool,
            intervalStart,
            usage: cells[p * INTERVALS.length + i] ?? null,
          }),
        ),
      ),
    ),
  );

describe("pool usage partials (properties)", () => {
  it("sum exactly the present usage and count every missing user, never zero-filling", () => {
    fc.assert(
      fc.property(shardRecords, (records) => {
        const partials = poolUsagePartials(records, {
          shard: 0,
          pools: POOLS,
          intervalStarts: INTERVALS,
        });
        expect(partials).toHaveLength(POOLS.length * INTERVALS.length);
        for (const partial of partials) {
          const cell = records.filter(
            (r) => r.pool === partial.pool && r.intervalStart === partial.intervalStart,
          );
          const present = cell.filter((r) => r.usage !== null);
          expect(partial.reportingUsers).toBe(present.length);
          expect(partial.missingUsers).toBe(cell.length - present.length);
          for (const resource of RESOURCES) {
            const reported = present.filter((r) => r.usage?.[resource] !== undefined);
            const expected = reported.reduce((sum, r) => sum + (r.usage?.[resource] ?? 0), 0);
            if (reported.length === 0) {
              // Nobody reported the resource: the sum says nothing rather than claiming zero.
              expect(partial.usage[resource]).toBeUndefined();
            } else {
              expect(partial.usage[resource]).toBeCloseTo(expected, 6);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
