import { describe, expect, it } from "vitest";
import type { Amounts } from "../../../layers/domain/resources.js";
import type { UsageRecord } from "../../../layers/domain/usage.js";
import { criticalPeakOf } from "../../../layers/use-cases/forecast-users.js";

const INTERVAL = 300;
const NOW = 1_700_000_100 - (1_700_000_100 % INTERVAL);

/** A record `back` intervals before NOW in which critical requests asked `asked`. */
function record(back: number, asked?: Amounts): UsageRecord {
  return {
    userId: "acme",
    pool: "cpu",
    intervalStart: NOW - back * INTERVAL,
    usage: { vcpu: 1 },
    requests: {
      count: 1,
      requested: asked ?? { vcpu: 1 },
      amountSeconds: {},
      granted: {},
      ...(asked ? { criticalAsked: asked } : {}),
    },
  };
}

describe("criticalPeakOf", () => {
  it("is a single interval's critical ask when the window is one interval", () => {
    const records = [record(3, { vcpu: 12.5 }), record(2, { vcpu: 12.5 }), record(1, { vcpu: 4 })];
    expect(criticalPeakOf(records, undefined, NOW, 30, INTERVAL)).toEqual({
      amounts: { vcpu: 12.5 },
      lastSeenAt: NOW - INTERVAL,
    });
  });

  it("adds up the intervals within the window (provisioning lag + one interval), in any order", () => {
    // 600 s: an interval and the one before; three in a row never count together.
    const records = [record(1, { vcpu: 4 }), record(3, { vcpu: 12.5 }), record(2, { vcpu: 12.5 })];
    expect(criticalPeakOf(records, undefined, NOW, 30, 2 * INTERVAL)).toEqual({
      amounts: { vcpu: 25 },
      lastSeenAt: NOW - INTERVAL,
    });
    expect(criticalPeakOf(records, undefined, NOW, 30, 3 * INTERVAL)?.amounts).toEqual({
      vcpu: 29,
    });
  });

  it("takes the most per resource, even from different bursts", () => {
    const records = [
      record(40, { vcpu: 2, memoryGiB: 64 }),
      record(10, { vcpu: 20, memoryGiB: 8 }),
    ];
    expect(criticalPeakOf(records, undefined, NOW, 30, 2 * INTERVAL)?.amounts).toEqual({
      vcpu: 20,
      memoryGiB: 64,
    });
  });

  it("ignores intervals without critical requests and forgets after keepDays", () => {
    const old = NOW - 31 * 86_400;
    const records = [record(5), { ...record(0, { vcpu: 50 }), intervalStart: old }];
    expect(criticalPeakOf(records, undefined, NOW, 30, 2 * INTERVAL)).toBeUndefined();
    const carried = { amounts: { vcpu: 7 }, lastSeenAt: old };
    expect(criticalPeakOf([], carried, NOW, 30, 2 * INTERVAL)).toBeUndefined();
    expect(criticalPeakOf([], carried, NOW, 32, 2 * INTERVAL)).toEqual(carried);
  });

  it("keeps the carried peak when it is larger and moves lastSeenAt to the newest ask", () => {
    const carried = { amounts: { vcpu: 30 }, lastSeenAt: NOW - 10 * 86_400 };
    expect(criticalPeakOf([record(2, { vcpu: 3 })], carried, NOW, 30, 2 * INTERVAL)).toEqual({
      amounts: { vcpu: 30 },
      lastSeenAt: NOW - 2 * INTERVAL,
    });
  });

  it("keeps no room when keepDays is 0", () => {
    expect(criticalPeakOf([record(1, { vcpu: 3 })], undefined, NOW, 0, INTERVAL)).toBeUndefined();
  });
});
