import type { User } from "../../layers/domain/config.js";
import type { ReplayTrace } from "../../layers/domain/replay/replay-trace.js";
import { type Amounts, RESOURCES } from "../../layers/domain/resources.js";
import { intervalStarts } from "../../layers/domain/time.js";
import type { PoolLoadRecord, UsageRecord } from "../../layers/domain/usage.js";
import type { UsageSource, UsageWindow } from "../../layers/ports/usage-source.js";

/** Key of a pool's total among the per-tenant levels (no tenant id contains a NUL). */
const POOL_TOTAL = "\u0000";

/**
 * The UsageSource of `shaper replay`: what each tenant ran in each pool according to the trace
 * (every request as it ran there, plus the initial load), read the way collect reads CloudWatch —
 * one record per user, pool and interval, the amounts live at the interval's start. The trace is
 * the demand the forecasts learn from, whatever the policy under test decided.
 */
export class TraceUsageSource implements UsageSource {
  /** Per "user pool": per resource, the amount live at each grid point. */
  private readonly levels = new Map<string, Float64Array[]>();
  private readonly length: number;

  /**
   * @param trace the replayed trace
   * @param stepSeconds the grid (the config's interval)
   * @param poolUtilization utilisation of a pool's tasks at an interval, 0–100 %, or null
   */
  constructor(
    private readonly trace: ReplayTrace,
    private readonly stepSeconds: number,
    private readonly poolUtilization: (pool: string, intervalStart: number) => number | null,
  ) {
    this.length = Math.ceil((trace.end - trace.start) / stepSeconds) + 1;
    const addTo = (key: string, from: number, to: number, amounts: Amounts) => {
      let rows = this.levels.get(key);
      if (!rows) {
        rows = RESOURCES.map(() => new Float64Array(this.length + 1));
        this.levels.set(key, rows);
      }
      const a = Math.max(0, Math.ceil((from - trace.start) / stepSeconds));
      const b = Math.min(this.length, Math.ceil((to - trace.start) / stepSeconds));
      if (b <= a) return;
      RESOURCES.forEach((r, k) => {
        const v = amounts[r] ?? 0;
        const row = rows[k] as Float64Array;
        row[a] = (row[a] as number) + v;
        row[b] = (row[b] as number) - v;
      });
    };
    // Every tenant's levels and the pool's total (what its utilisation is measured against).
    const add = (userId: string, pool: string, from: number, to: number, amounts: Amounts) => {
      addTo(`${userId} ${pool}`, from, to, amounts);
      addTo(`${POOL_TOTAL} ${pool}`, from, to, amounts);
    };
    for (const load of trace.initialLoad)
      add(load.userId, load.pool, trace.start, load.endAt, load.amounts);
    for (const r of trace.requests) {
      add(
        r.userId,
        r.pool,
        r.arrival,
        Math.min(trace.end, r.arrival + r.durationSeconds),
        r.amounts,
      );
    }
    for (const rows of this.levels.values()) {
      for (const row of rows)
        for (let i = 1; i < row.length; i++) row[i] = (row[i] as number) + (row[i - 1] as number);
    }
  }

  /** The tenant's amounts live in the pool at `time` (rounded to the grid). */
  usageAt(userId: string, pool: string, time: number): Amounts {
    const rows = this.levels.get(`${userId} ${pool}`);
    const i = Math.floor((time - this.trace.start) / this.stepSeconds);
    const out: Amounts = {};
    RESOURCES.forEach((r, k) => {
      const v = i >= 0 && i < this.length ? (rows?.[k]?.[i] ?? 0) : 0;
      out[r] = Math.max(0, Math.round(v * 1e6) / 1e6);
    });
    return out;
  }

  /** The pool's total (every tenant) at `time`. */
  poolUsageAt(pool: string, time: number): Amounts {
    return this.usageAt(POOL_TOTAL, pool, time);
  }

  async readUsage(
    users: readonly User[],
    pools: readonly string[],
    window: UsageWindow,
  ): Promise<UsageRecord[]> {
    const out: UsageRecord[] = [];
    for (const user of users) {
      for (const pool of user.pools ?? pools) {
        if (!pools.includes(pool)) continue;
        for (const t of intervalStarts(window.start, window.end, window.intervalSeconds)) {
          // Before the trace starts nothing was observed: missing, not zero.
          out.push({
            userId: user.userId,
            pool,
            intervalStart: t,
            usage: t < this.trace.start ? null : this.usageAt(user.userId, pool, t),
          });
        }
      }
    }
    return out;
  }

  async readPoolLoad(pools: readonly string[], window: UsageWindow): Promise<PoolLoadRecord[]> {
    const out: PoolLoadRecord[] = [];
    for (const pool of pools) {
      for (const t of intervalStarts(window.start, window.end, window.intervalSeconds)) {
        const cpu = this.poolUtilization(pool, t);
        out.push({
          pool,
          intervalStart: t,
          cpuUtilizationPercent: cpu,
          memoryUtilizationPercent: cpu,
        });
      }
    }
    return out;
  }
}
