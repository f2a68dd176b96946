import { expect } from "vitest";
import { IdSchema } from "../../../../../layers/domain/config.js";
import type { ReplayTrace } from "../../../../../layers/domain/replay/replay-trace.js";

/**
 * What every replay trace promises (replay-trace.ts): unique ids safe as admission ids, users'
 * ids safe too, requests sorted by (arrival, requestId), each asking for something, arriving
 * within the trace and ending by its end, in a pool the trace defines, with issue 4's patience.
 */
export function expectWellFormed(trace: ReplayTrace): void {
  const ids = new Set<string>();
  const badIds: string[] = [];
  const problems: string[] = [];
  let previous: ReplayTrace["requests"][number] | undefined;
  for (const r of trace.requests) {
    ids.add(r.requestId);
    if (!IdSchema.safeParse(r.requestId).success) badIds.push(r.requestId);
    if (r.arrival < trace.start || r.arrival >= trace.end) problems.push(`${r.requestId} arrival`);
    if (!Number.isInteger(r.durationSeconds) || r.durationSeconds < 1) {
      problems.push(`${r.requestId} duration ${r.durationSeconds}`);
    }
    if (r.arrival + r.durationSeconds > trace.end) problems.push(`${r.requestId} ends late`);
    if (!Object.values(r.amounts).some((v) => (v ?? 0) > 0)) problems.push(`${r.requestId} empty`);
    if (trace.pools[r.pool] === undefined) problems.push(`${r.requestId} pool ${r.pool}`);
    const patience = { critical: 0, normal: 600, deferrable: 3_600 }[r.criticality];
    if (r.maxDelaySeconds !== patience || r.acceptAlternatives !== (r.criticality !== "critical")) {
      problems.push(`${r.requestId} patience`);
    }
    if (
      previous &&
      (previous.arrival > r.arrival ||
        (previous.arrival === r.arrival && previous.requestId >= r.requestId))
    ) {
      problems.push(`${r.requestId} out of order`);
    }
    previous = r;
  }
  expect(ids.size).toBe(trace.requests.length);
  expect(badIds).toEqual([]);
  expect(problems.slice(0, 5)).toEqual([]);
  const users = new Map(trace.users.map((u) => [u.userId, u.tier]));
  expect(users.size).toBe(trace.users.length);
  expect(trace.users.filter((u) => !IdSchema.safeParse(u.userId).success)).toEqual([]);
  const tenants = new Set([...trace.requests, ...trace.initialLoad].map((x) => x.userId));
  expect([...tenants].filter((u) => !users.has(u))).toEqual([]);
  expect(tenants.size).toBe(users.size);
  expect(trace.initialLoad.filter((l) => l.endAt > trace.end)).toEqual([]);
  expect(trace.mapping.length).toBeGreaterThan(0);
}
