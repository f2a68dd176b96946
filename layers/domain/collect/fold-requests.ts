import { type Amounts, addAmounts, scaleAmounts } from "../resources.js";
import { intervalStartOf } from "../time.js";
import type { RequestLogEntry, RequestStats, UsageRecord } from "../usage.js";
import { type CollectWindow, inWindow } from "./collect-window.js";

/** Stats of an interval in which the request log holds nothing for the user and pool. */
export const NO_REQUESTS: RequestStats = Object.freeze({
  count: 0,
  requested: Object.freeze({}),
  amountSeconds: Object.freeze({}),
  granted: Object.freeze({}),
});

/** Request stats of one user, pool and interval. */
export interface IntervalRequestStats {
  readonly userId: string;
  readonly pool: string;
  readonly intervalStart: number;
  readonly stats: RequestStats;
}

/** The request log of a window, folded per user, pool and interval. */
export interface FoldedRequests {
  /** Keyed by `requestKey(userId, pool, intervalStart)`; only intervals with requests. */
  readonly byKey: ReadonlyMap<string, IntervalRequestStats>;
  /** Entries folded in. */
  readonly folded: number;
  /** Entries left out: received outside the window, or for a pool not in `pools`. */
  readonly skipped: number;
}

/** Key of a (user, pool, interval) in `FoldedRequests.byKey`. */
export function requestKey(userId: string, pool: string, intervalStart: number): string {
  // Newline never occurs in ids (IdSchema), so keys cannot collide.
  return `${userId}\n${pool}\n${intervalStart}`;
}

/**
 * Adds one request to an interval's stats: `count` + 1, `requested` + amounts,
 * `amountSeconds` + amounts × durationSeconds, and `granted` + amounts when the outcome
 * committed capacity (grant now, or delay to a later start). Offers and rejections commit
 * nothing for the request as asked. A critical request also adds its amounts to `criticalAsked`,
 * whatever the outcome (a rejected critical request is the one the plan most missed).
 */
export function addRequest(stats: RequestStats, entry: RequestLogEntry): RequestStats {
  const committed = entry.outcome === "grant" || entry.outcome === "delay";
  const criticalAsked: Amounts | undefined =
    entry.criticality === "critical"
      ? addAmounts(stats.criticalAsked ?? {}, entry.amounts)
      : stats.criticalAsked;
  return {
    count: stats.count + 1,
    requested: addAmounts(stats.requested, entry.amounts),
    amountSeconds: addAmounts(
      stats.amountSeconds,
      scaleAmounts(entry.amounts, entry.durationSeconds),
    ),
    granted: committed ? addAmounts(stats.granted, entry.amounts) : stats.granted,
    ...(criticalAsked ? { criticalAsked } : {}),
  };
}

/**
 * Folds request-log entries into per (user, pool, interval) stats: each entry counts in the
 * interval containing its `receivedAt`.
 *
 * @param entries the request log of a shard (any order; entries outside the window are skipped)
 * @param window the collect window; only entries received in [start, end) are folded
 * @param pools the configured pools; entries for other pools are skipped
 * @returns the stats per key, how many entries were folded and how many skipped
 * @example
 * const folded = foldRequests(entries, { start: 0, end: 900, intervalSeconds: 300 }, new Set(["cpu"]));
 * folded.byKey.get(requestKey("acme", "cpu", 300))?.stats.count; // requests acme sent in [300, 600)
 */
export function foldRequests(
  entries: readonly RequestLogEntry[],
  window: CollectWindow,
  pools: ReadonlySet<string>,
): FoldedRequests {
  const byKey = new Map<string, IntervalRequestStats>();
  let folded = 0;
  let skipped = 0;
  for (const entry of entries) {
    if (!inWindow(window, entry.receivedAt) || !pools.has(entry.pool)) {
      skipped++;
      continue;
    }
    const intervalStart = intervalStartOf(entry.receivedAt, window.intervalSeconds);
    const key = requestKey(entry.userId, entry.pool, intervalStart);
    const current = byKey.get(key);
    byKey.set(key, {
      userId: entry.userId,
      pool: entry.pool,
      intervalStart,
      stats: addRequest(current?.stats ?? NO_REQUESTS, entry),
    });
    folded++;
  }
  return { byKey, folded, skipped };
}

/**
 * Gives each usage record the request stats of its user, pool and interval (`NO_REQUESTS` when
 * the log held nothing: the log was read, nobody asked). Usage is left as it is, so a missing
 * interval stays missing. The keys used are added to `attached`.
 */
export function attachRequestStats(
  records: readonly UsageRecord[],
  folded: FoldedRequests,
  attached: Set<string>,
): UsageRecord[] {
  return records.map((record) => {
    const key = requestKey(record.userId, record.pool, record.intervalStart);
    const found = folded.byKey.get(key);
    if (found) attached.add(key);
    return { ...record, requests: found?.stats ?? NO_REQUESTS };
  });
}

/**
 * Records for request stats no usage record took (a user who asked but for whom the metrics
 * source has no series, e.g. a pool outside the user's list): usage missing, requests kept, so
 * the request history is never lost.
 */
export function requestOnlyRecords(
  folded: FoldedRequests,
  attached: ReadonlySet<string>,
): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (const [key, s] of folded.byKey) {
    if (attached.has(key)) continue;
    out.push({
      userId: s.userId,
      pool: s.pool,
      intervalStart: s.intervalStart,
      usage: null,
      requests: s.stats,
    });
  }
  return out.sort(
    (a, b) =>
      a.intervalStart - b.intervalStart || compare(a.pool, b.pool) || compare(a.userId, b.userId),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
