import type { ShaperConfig, User } from "../layers/domain/config.js";
import { userPools } from "../layers/domain/config.js";
import { intervalStarts } from "../layers/domain/time.js";
import type { PoolLoadRecord, UsageRecord } from "../layers/domain/usage.js";
import type { UsageSource, UsageWindow } from "../layers/ports/usage-source.js";
import type { SyntheticWorkload } from "./workload.js";

/**
 * The UsageSource of the local runtime: reads the built-in workload the way collect reads
 * CloudWatch, including the occasional interval an agent did not report (recorded as missing).
 */
export class SyntheticUsageSource implements UsageSource {
  constructor(
    private readonly workload: SyntheticWorkload,
    private readonly config: ShaperConfig,
    /** Utilisation of each pool's service, 0–100 %, for pool load; none → missing. */
    private readonly poolUtilization: (pool: string, intervalStart: number) => number | null = () =>
      null,
  ) {}

  async readUsage(
    users: readonly User[],
    pools: readonly string[],
    window: UsageWindow,
  ): Promise<UsageRecord[]> {
    const out: UsageRecord[] = [];
    for (const user of users) {
      for (const pool of userPools(user, this.config)) {
        if (!pools.includes(pool)) continue;
        for (const t of intervalStarts(window.start, window.end, window.intervalSeconds)) {
          const reported = this.workload.reported(user, pool, t);
          out.push({
            userId: user.userId,
            pool,
            intervalStart: t,
            usage: reported ? this.workload.usage(user, pool, t) : null,
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
