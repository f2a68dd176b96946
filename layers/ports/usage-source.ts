import type { User } from "../domain/config.js";
import type { PoolLoadRecord, UsageRecord } from "../domain/usage.js";

export interface UsageWindow {
  /** Epoch seconds, aligned to `intervalSeconds`; the window is [start, end). */
  readonly start: number;
  readonly end: number;
  readonly intervalSeconds: number;
}

/**
 * Where observed usage comes from (CloudWatch GetMetricData in AWS, a workload generator locally).
 */
export interface UsageSource {
  /**
   * One record per user, pool the user draws from, and interval of the window. An interval the
   * source returned no data for has `usage: null` (missing), never zeros.
   */
  readUsage(
    users: readonly User[],
    pools: readonly string[],
    window: UsageWindow,
  ): Promise<UsageRecord[]>;
  /** ECS service utilisation per pool and interval; null fields where the source had nothing. */
  readPoolLoad(pools: readonly string[], window: UsageWindow): Promise<PoolLoadRecord[]>;
}
