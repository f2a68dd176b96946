import type { PoolLoadRecord, PoolUsagePartial, UsageRecord } from "../domain/usage.js";

/** Collected usage history. Every write is an idempotent put keyed by its interval. */
export interface UsageStore {
  putUsage(records: readonly UsageRecord[]): Promise<void>;
  /** Records of one user and pool with intervalStart in [from, to), oldest first. Absent intervals are not returned. */
  getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]>;
  putPoolUsagePartials(partials: readonly PoolUsagePartial[]): Promise<void>;
  /** Partials of a pool with intervalStart in [from, to), all shards, oldest first. */
  getPoolUsagePartials(pool: string, from: number, to: number): Promise<PoolUsagePartial[]>;
  putPoolLoad(records: readonly PoolLoadRecord[]): Promise<void>;
  getPoolLoad(pool: string, from: number, to: number): Promise<PoolLoadRecord[]>;
}
