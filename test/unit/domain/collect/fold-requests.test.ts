import { describe, expect, it } from "vitest";
import {
  attachRequestStats,
  foldRequests,
  NO_REQUESTS,
  requestKey,
  requestOnlyRecords,
} from "../../../../layers/domain/collect/fold-requests.js";
import type { RequestLogEntry, UsageRecord } from "../../../../layers/domain/usage.js";

const T = 1_795_812_300;
const window = { start: T, end: T + 900, intervalSeconds: 300 };
const pools = new Set(["cpu", "gpu"]);

function entry(overrides: Partial<RequestLogEntry>): RequestLogEntry {
  return {
    requestId: `r-${Math.random().toString(36).slice(2)}`,
    userId: "acme",
    pool: "cpu",
    amounts: { vcpu: 2, memoryGiB: 8 },
    durationSeconds: 600,
    receivedAt: T + 10,
    outcome: "grant",
    ...overrides,
  };
}

describe("foldRequests", () => {
  it("sums count, amounts asked, resource-seconds and committed amounts per user, pool and interval", () => {
    const folded = foldRequests(
      [
        entry({ amounts: { vcpu: 2, memoryGiB: 8 }, durationSeconds: 600, outcome: "grant" }),
        entry({ amounts: { vcpu: 4 }, durationSeconds: 60, outcome: "delay", receivedAt: T + 299 }),
        entry({ amounts: { vcpu: 8 }, durationSeconds: 100, outcome: "offer", receivedAt: T + 5 }),
        entry({ amounts: { vcpu: 1 }, durationSeconds: 100, outcome: "reject", receivedAt: T + 6 }),
      ],
      window,
      pools,
    );
    expect(folded.folded).toBe(4);
    expect(folded.byKey.size).toBe(1);
    expect(folded.byKey.get(requestKey("acme", "cpu", T))?.stats).toEqual({
      count: 4,
      requested: { vcpu: 15, memoryGiB: 8 },
      amountSeconds: { vcpu: 2 * 600 + 4 * 60 + 8 * 100 + 1 * 100, memoryGiB: 8 * 600 },
      granted: { vcpu: 6, memoryGiB: 8 },
    });
  });

  it("sums, per resource, what critical requests asked, whatever their outcome", () => {
    const folded = foldRequests(
      [
        entry({ amounts: { vcpu: 20, memoryGiB: 4 }, criticality: "normal" }),
        entry({ amounts: { vcpu: 12.5, memoryGiB: 8 }, criticality: "critical" }),
        entry({ amounts: { vcpu: 3, memoryGiB: 64 }, criticality: "critical", outcome: "reject" }),
        entry({ amounts: { vcpu: 1 }, criticality: "critical", userId: "globex" }),
        entry({ amounts: { vcpu: 9 }, criticality: "deferrable", userId: "initech" }),
      ],
      window,
      pools,
    );
    expect(folded.byKey.get(requestKey("acme", "cpu", T))?.stats.criticalAsked).toEqual({
      vcpu: 15.5,
      memoryGiB: 72,
    });
    expect(folded.byKey.get(requestKey("globex", "cpu", T))?.stats.criticalAsked).toEqual({
      vcpu: 1,
    });
    expect(folded.byKey.get(requestKey("initech", "cpu", T))?.stats).not.toHaveProperty(
      "criticalAsked",
    );
  });

  it("puts each request in the interval containing its arrival, per user and pool", () => {
    const folded = foldRequests(
      [
        entry({ receivedAt: T + 300 }),
        entry({ receivedAt: T + 599 }),
        entry({ receivedAt: T + 600, userId: "globex" }),
        entry({ receivedAt: T + 601, pool: "gpu", amounts: { gpu: 1 } }),
      ],
      window,
      pools,
    );
    expect(folded.byKey.get(requestKey("acme", "cpu", T + 300))?.stats.count).toBe(2);
    expect(folded.byKey.get(requestKey("globex", "cpu", T + 600))?.stats.count).toBe(1);
    expect(folded.byKey.get(requestKey("acme", "gpu", T + 600))?.stats.requested).toEqual({
      gpu: 1,
    });
    expect(folded.byKey.get(requestKey("acme", "cpu", T))).toBeUndefined();
  });

  it("skips requests outside the window or for pools that are not configured", () => {
    const folded = foldRequests(
      [
        entry({ receivedAt: T - 1 }),
        entry({ receivedAt: T + 900 }),
        entry({ pool: "retired" }),
        entry({ receivedAt: T + 899 }),
      ],
      window,
      pools,
    );
    expect(folded.folded).toBe(1);
    expect(folded.skipped).toBe(3);
    expect([...folded.byKey.values()].map((s) => s.intervalStart)).toEqual([T + 600]);
  });
});

describe("attaching request stats to usage records", () => {
  const records: UsageRecord[] = [
    { userId: "acme", pool: "cpu", intervalStart: T, usage: { vcpu: 3 } },
    { userId: "acme", pool: "cpu", intervalStart: T + 300, usage: null },
    { userId: "globex", pool: "cpu", intervalStart: T, usage: { vcpu: 1 } },
  ];

  it("gives every record its stats, keeps missing usage missing, and zero stats where nobody asked", () => {
    const folded = foldRequests(
      [entry({ receivedAt: T + 310 }), entry({ receivedAt: T + 20 })],
      window,
      pools,
    );
    const attached = new Set<string>();
    const out = attachRequestStats(records, folded, attached);
    expect(out[0]?.usage).toEqual({ vcpu: 3 });
    expect(out[0]?.requests?.count).toBe(1);
    expect(out[1]?.usage).toBeNull();
    expect(out[1]?.requests?.count).toBe(1);
    expect(out[2]?.requests).toEqual(NO_REQUESTS);
    expect(attached.size).toBe(2);
    expect(requestOnlyRecords(folded, attached)).toEqual([]);
  });

  it("turns requests no usage record took into records with missing usage", () => {
    const folded = foldRequests(
      [
        entry({ userId: "initech", receivedAt: T + 650, outcome: "reject" }),
        entry({ pool: "gpu", amounts: { gpu: 1 }, receivedAt: T + 1 }),
      ],
      window,
      pools,
    );
    const attached = new Set<string>();
    attachRequestStats(records, folded, attached);
    const extra = requestOnlyRecords(folded, attached);
    expect(extra.map((r) => [r.userId, r.pool, r.intervalStart, r.usage])).toEqual([
      ["acme", "gpu", T, null],
      ["initech", "cpu", T + 600, null],
    ]);
    expect(extra[1]?.requests?.granted).toEqual({});
    expect(extra[1]?.requests?.requested).toEqual({ vcpu: 2, memoryGiB: 8 });
  });
});
