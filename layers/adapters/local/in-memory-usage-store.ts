import type { PoolLoadRecord, PoolUsagePartial, UsageRecord } from "../../domain/usage.js";
import type { UsageStore } from "../../ports/usage-store.js";

/**
 * Usage history in memory, keyed as the DynamoDB table is: a put replaces the item of its key.
 * Records are copied and frozen on the way in (callers cannot change stored state); per-user usage is kept in
 * time order so a range read costs its length, not the history's (a month-long replay reads a
 * week of history per series every interval).
 */
export class InMemoryUsageStore implements UsageStore {
  private readonly usage = new Map<string, TimeIndexed<UsageRecord>>();
  private readonly partials = new Map<string, Map<string, PoolUsagePartial>>();
  private readonly load = new Map<string, Map<number, PoolLoadRecord>>();

  async putUsage(records: readonly UsageRecord[]): Promise<void> {
    for (const r of records) {
      const key = `${r.pool}#${r.userId}`;
      let series = this.usage.get(key);
      if (!series) {
        series = new TimeIndexed<UsageRecord>();
        this.usage.set(key, series);
      }
      series.put(r.intervalStart, frozenUsage(r));
    }
  }

  async getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]> {
    return this.usage.get(`${pool}#${userId}`)?.range(from, to) ?? [];
  }

  async putPoolUsagePartials(partials: readonly PoolUsagePartial[]): Promise<void> {
    for (const p of partials)
      bucket(this.partials, p.pool).set(`${p.intervalStart}#${p.shard}`, structuredClone(p));
  }

  async getPoolUsagePartials(pool: string, from: number, to: number): Promise<PoolUsagePartial[]> {
    return inRange(this.partials.get(pool), from, to, (p) => p.intervalStart).sort(
      (a, b) => a.intervalStart - b.intervalStart || a.shard - b.shard,
    );
  }

  async putPoolLoad(records: readonly PoolLoadRecord[]): Promise<void> {
    for (const r of records) bucket(this.load, r.pool).set(r.intervalStart, structuredClone(r));
  }

  async getPoolLoad(pool: string, from: number, to: number): Promise<PoolLoadRecord[]> {
    return inRange(this.load.get(pool), from, to, (r) => r.intervalStart);
  }
}

function bucket<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

function inRange<K, V>(
  items: Map<K, V> | undefined,
  from: number,
  to: number,
  timeOf: (v: V) => number,
): V[] {
  if (!items) return [];
  return [...items.values()]
    .filter((v) => timeOf(v) >= from && timeOf(v) < to)
    .sort((a, b) => timeOf(a) - timeOf(b))
    .map((v) => structuredClone(v));
}

/**
 * A frozen copy of a usage record (its only nested value is the amounts): stored once, handed
 * out as is, so readers cannot change stored state and reads copy nothing.
 */
function frozenUsage(r: UsageRecord): UsageRecord {
  return Object.freeze({
    ...r,
    usage: r.usage === null ? null : Object.freeze({ ...r.usage }),
  });
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
