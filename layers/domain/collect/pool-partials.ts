import { type Amounts, addAmounts } from "../resources.js";
import type { PoolUsagePartial, UsageRecord } from "../usage.js";

/** Where the partials of one collect run are summed: one shard, some pools, some intervals. */
export interface PoolPartialScope {
  readonly shard: number;
  /** Every configured pool: each gets a partial per interval, even with no users in the shard. */
  readonly pools: readonly string[];
  /** Interval starts of the window, epoch seconds. */
  readonly intervalStarts: readonly number[];
}

interface Cell {
  usage: Amounts;
  reportingUsers: number;
  missingUsers: number;
}

/**
 * Sums a shard's usage per pool and interval as records arrive page by page. A user with usage
 * in the interval adds what it reported (only the resources present) and counts as reporting; a
 * user with missing usage counts as missing and adds nothing: missing is never read as zero,
 * and the counts let a reader see how complete a sum is.
 *
 * @example
 * const sums = new PoolUsageAccumulator({ shard: 3, pools: ["cpu"], intervalStarts: [0, 300] });
 * sums.add(records);
 * await usageStore.putPoolUsagePartials(sums.partials());
 */
export class PoolUsageAccumulator {
  private readonly cells = new Map<string, Map<number, Cell>>();

  constructor(private readonly scope: PoolPartialScope) {
    for (const pool of scope.pools) {
      const byInterval = new Map<number, Cell>();
      for (const t of scope.intervalStarts)
        byInterval.set(t, { usage: {}, reportingUsers: 0, missingUsers: 0 });
      this.cells.set(pool, byInterval);
    }
  }

  /** Adds usage records; records of pools or intervals outside the scope are ignored. */
  add(records: readonly UsageRecord[]): void {
    for (const record of records) {
      const cell = this.cells.get(record.pool)?.get(record.intervalStart);
      if (!cell) continue;
      if (record.usage === null) {
        cell.missingUsers++;
      } else {
        cell.reportingUsers++;
        cell.usage = addAmounts(cell.usage, record.usage);
      }
    }
  }

  /** One partial per pool and interval of the scope, in pool then time order. */
  partials(): PoolUsagePartial[] {
    const out: PoolUsagePartial[] = [];
    for (const [pool, byInterval] of this.cells) {
      for (const [intervalStart, cell] of byInterval) {
        out.push({
          pool,
          intervalStart,
          shard: this.scope.shard,
          usage: { ...cell.usage },
          reportingUsers: cell.reportingUsers,
          missingUsers: cell.missingUsers,
        });
      }
    }
    return out;
  }
}

/**
 * The partials of a shard's usage records in one go (see `PoolUsageAccumulator`).
 *
 * @param records usage records of the shard's users (one per user, pool and interval)
 * @param scope shard, pools and intervals to sum over
 * @returns one partial per pool and interval of the scope
 */
export function poolUsagePartials(
  records: readonly UsageRecord[],
  scope: PoolPartialScope,
): PoolUsagePartial[] {
  const sums = new PoolUsageAccumulator(scope);
  sums.add(records);
  return sums.partials();
}
