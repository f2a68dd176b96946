import type { PoolLoadRecord, PoolUsagePartial, UsageRecord } from "../../domain/usage.js";
import type { UsageStore } from "../../ports/usage-store.js";

/** Usage history in memory, keyed as the DynamoDB table is: a put replaces the item of its key. */
export class InMemoryUsageStore implements UsageStore {
  private readonly usage = new Map<string, Map<number, UsageRecord>>();
  private readonly partials = new Map<string, Map<string, PoolUsagePartial>>();
  private readonly load = new Map<string, Map<number, PoolLoadRecord>>();

  async putUsage(records: readonly UsageRecord[]): Promise<void> {
    for (const r of records)
      bucket(this.usage, `${r.pool}#${r.userId}`).set(r.intervalStart, structuredClone(r));
  }

  async getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]> {
    return inRange(this.usage.get(`${pool}#${userId}`), from, to, (r) => r.intervalStart);
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
