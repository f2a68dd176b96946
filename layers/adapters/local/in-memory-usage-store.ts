import type { PoolLoadRecord, PoolUsagePartial, UsageRecord } from "../../domain/usage.js";
import type { UsageStore } from "../../ports/usage-store.js";
import { frozenCopy, samePlainData } from "./frozen-copy.js";

/**
 * Usage history in memory, keyed as the DynamoDB table is: a put replaces the item of its key.
 * Records are copied and frozen on the way in (callers cannot change stored state); usage, pool
 * partials and pool load are kept in time order so a range read costs its length, not the
 * history's (a month-long replay reads a week of history per series every interval).
 */
export class InMemoryUsageStore implements UsageStore {
  private readonly usage = new Map<string, TimeIndexed<UsageRecord>>();
  /** Per pool: per interval, the partial of each shard. */
  private readonly partials = new Map<string, TimeIndexed<Map<number, PoolUsagePartial>>>();
  private readonly load = new Map<string, TimeIndexed<PoolLoadRecord>>();

  async putUsage(records: readonly UsageRecord[]): Promise<void> {
    for (const r of records) {
      const key = `${r.pool}#${r.userId}`;
      let series = this.usage.get(key);
      if (!series) {
        series = new TimeIndexed<UsageRecord>();
        this.usage.set(key, series);
      }
      // Collect rewrites its lookback intervals every run, mostly with what is stored already.
      if (samePlainData(series.get(r.intervalStart), r)) continue;
      series.put(r.intervalStart, frozenCopy(r));
    }
  }

  async getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]> {
    return this.usage.get(`${pool}#${userId}`)?.range(from, to) ?? [];
  }

  async putPoolUsagePartials(partials: readonly PoolUsagePartial[]): Promise<void> {
    for (const p of partials) {
      const byTime = indexOf(this.partials, p.pool);
      let shards = byTime.get(p.intervalStart);
      if (!shards) {
        shards = new Map();
        byTime.put(p.intervalStart, shards);
      }
      shards.set(p.shard, frozenCopy(p));
    }
  }

  async getPoolUsagePartials(pool: string, from: number, to: number): Promise<PoolUsagePartial[]> {
    const out: PoolUsagePartial[] = [];
    for (const shards of this.partials.get(pool)?.range(from, to) ?? []) {
      out.push(...[...shards.values()].sort((a, b) => a.shard - b.shard));
    }
    return out;
  }

  async putPoolLoad(records: readonly PoolLoadRecord[]): Promise<void> {
    for (const r of records) indexOf(this.load, r.pool).put(r.intervalStart, frozenCopy(r));
  }

  async getPoolLoad(pool: string, from: number, to: number): Promise<PoolLoadRecord[]> {
    return this.load.get(pool)?.range(from, to) ?? [];
  }
}

function indexOf<V>(map: Map<string, TimeIndexed<V>>, key: string): TimeIndexed<V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new TimeIndexed<V>();
    map.set(key, inner);
  }
  return inner;
}

/** Values by time, kept sorted: appends in time order are O(1), a put elsewhere re-sorts lazily. */
class TimeIndexed<V> {
  private readonly byTime = new Map<number, V>();
  private times: number[] = [];
  private sorted = true;

  put(time: number, value: V): void {
    if (!this.byTime.has(time)) {
      const last = this.times[this.times.length - 1];
      if (last !== undefined && time < last) this.sorted = false;
      this.times.push(time);
    }
    this.byTime.set(time, value);
  }

  /** The value stored at `time`, if any. */
  get(time: number): V | undefined {
    return this.byTime.get(time);
  }

  /** Values with from ≤ time < to, in time order. */
  range(from: number, to: number): V[] {
    if (!this.sorted) {
      this.times.sort((a, b) => a - b);
      this.sorted = true;
    }
    const out: V[] = [];
    for (let i = lowerBound(this.times, from); i < this.times.length; i++) {
      const t = this.times[i] as number;
      if (t >= to) break;
      out.push(this.byTime.get(t) as V);
    }
    return out;
  }
}

/** First index whose value is ≥ x in an ascending array. */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
