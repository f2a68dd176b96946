import {
  type CollectWindow,
  collectWindow,
  windowIntervals,
} from "../domain/collect/collect-window.js";
import {
  attachRequestStats,
  foldRequests,
  requestOnlyRecords,
} from "../domain/collect/fold-requests.js";
import { PoolUsageAccumulator } from "../domain/collect/pool-partials.js";
import { ValidationError } from "../domain/errors.js";
import type { UsageRecord } from "../domain/usage.js";
import type { ConfigSource } from "../ports/config-source.js";
import type { RequestLog } from "../ports/request-log.js";
import type { UsageSource } from "../ports/usage-source.js";
import type { UsageStore } from "../ports/usage-store.js";
import type { UserRegistry } from "../ports/user-registry.js";

/** What collect needs: where config, users, usage and requests come from and where usage goes. */
export interface CollectUsageDeps {
  readonly configSource: ConfigSource;
  readonly userRegistry: UserRegistry;
  readonly usageSource: UsageSource;
  readonly requestLog: RequestLog;
  readonly usageStore: UsageStore;
}

/** What one shard's collect run did. */
export interface CollectShardResult {
  readonly shard: number;
  readonly shardCount: number;
  /** The intervals read, [start, end) in epoch seconds. */
  readonly window: CollectWindow;
  /** Users of the shard. */
  readonly users: number;
  /** Usage records written (user × pool × interval, plus request-only records). */
  readonly records: number;
  /** Records written with usage missing (the metrics source returned nothing). */
  readonly missingRecords: number;
  /** Request-log entries folded into the records. */
  readonly requestsFolded: number;
  /** Request-log entries left out (outside the window, or for a pool not configured). */
  readonly requestsSkipped: number;
  /** Pool partial sums written (pool × interval). */
  readonly partials: number;
}

/** What a pool-load collect run did. */
export interface CollectPoolsResult {
  readonly window: CollectWindow;
  readonly pools: number;
  /** Pool-load records written (pool × interval). */
  readonly records: number;
  /** Records with CPU or memory utilisation missing. */
  readonly missingRecords: number;
}

/**
 * Collects one shard's usage for the window before `time`: reads each user's usage from the
 * metrics source, folds the admission API's request log into it, and writes one usage record
 * per user, pool and interval plus the shard's pool partial sums. Users are read and written
 * page by page, so memory stays bounded by a page however large the shard.
 *
 * Idempotent: every write is a whole-item put keyed by interval, so running the same window
 * again writes the same items. An interval the metrics source returned nothing for is written
 * as missing (`usage: null`), never as zeros.
 *
 * @param deps config, user registry, usage source, request log and usage store
 * @param input `time` (epoch seconds; the window is the `collect.lookbackIntervals` complete
 *   intervals before the interval containing it) and `shard` (0 ≤ shard < config.shardCount)
 * @returns counts of what was read and written, and the window
 * @throws ValidationError when `shard` is not a shard of the config or `time` is not finite
 * @throws DependencyError when a source or the store fails (nothing is half-trusted: re-run)
 * @example
 * const result = await collectShard(deps, { time: clock.nowSeconds(), shard: 3 });
 * logger.info("collected", { records: result.records, missing: result.missingRecords });
 */
export async function collectShard(
  deps: CollectUsageDeps,
  input: { readonly time: number; readonly shard: number },
): Promise<CollectShardResult> {
  const config = await deps.configSource.load();
  checkTime(input.time);
  if (!Number.isInteger(input.shard) || input.shard < 0 || input.shard >= config.shardCount) {
    throw new ValidationError(
      `Shard ${input.shard} is not a shard of this deployment. Expected an integer from 0 to ${config.shardCount - 1} (shardCount ${config.shardCount}). Fan out over 0…${config.shardCount - 1}.`,
      [{ field: "shard", message: `must be an integer in [0, ${config.shardCount})` }],
    );
  }
  const window = collectWindow(
    input.time,
    config.intervalSeconds,
    config.collect.lookbackIntervals,
  );
  const pools = Object.keys(config.pools);

  const entries = await deps.requestLog.listRequests(
    input.shard,
    config.shardCount,
    window.start,
    window.end,
  );
  const folded = foldRequests(entries, window, new Set(pools));
  const attached = new Set<string>();
  const sums = new PoolUsageAccumulator({
    shard: input.shard,
    pools,
    intervalStarts: windowIntervals(window),
  });

  let users = 0;
  let records = 0;
  let missingRecords = 0;
  const write = async (batch: readonly UsageRecord[]) => {
    if (batch.length === 0) return;
    await deps.usageStore.putUsage(batch);
    records += batch.length;
    missingRecords += batch.filter((r) => r.usage === null).length;
  };

  for await (const page of deps.userRegistry.listUsersInShard(input.shard, config.shardCount)) {
    users += page.length;
    const usage = await deps.usageSource.readUsage(page, pools, window);
    sums.add(usage);
    await write(attachRequestStats(usage, folded, attached));
  }
  // Requests no usage record took still become history (usage missing), but not pool sums:
  // the partials count the users who draw from a pool, reporting or not.
  await write(requestOnlyRecords(folded, attached));

  const partials = sums.partials();
  await deps.usageStore.putPoolUsagePartials(partials);

  return {
    shard: input.shard,
    shardCount: config.shardCount,
    window,
    users,
    records,
    missingRecords,
    requestsFolded: folded.folded,
    requestsSkipped: folded.skipped,
    partials: partials.length,
  };
}

/**
 * Collects the load of every pool's ECS service (CPU and memory utilisation) for the window
 * before `time` and writes one pool-load record per pool and interval (null where the source
 * had nothing). Idempotent like `collectShard`.
 *
 * @param deps config, usage source and usage store
 * @param input `time`, epoch seconds
 * @returns counts and the window
 * @throws DependencyError when the source or the store fails
 * @example
 * const result = await collectPools(deps, { time: clock.nowSeconds() });
 */
export async function collectPools(
  deps: Pick<CollectUsageDeps, "configSource" | "usageSource" | "usageStore">,
  input: { readonly time: number },
): Promise<CollectPoolsResult> {
  const config = await deps.configSource.load();
  checkTime(input.time);
  const window = collectWindow(
    input.time,
    config.intervalSeconds,
    config.collect.lookbackIntervals,
  );
  const pools = Object.keys(config.pools);
  const load = await deps.usageSource.readPoolLoad(pools, window);
  await deps.usageStore.putPoolLoad(load);
  return {
    window,
    pools: pools.length,
    records: load.length,
    missingRecords: load.filter(
      (r) => r.cpuUtilizationPercent === null || r.memoryUtilizationPercent === null,
    ).length,
  };
}

function checkTime(time: number): void {
  if (!Number.isFinite(time)) {
    throw new ValidationError(
      `Collect time ${time} is not a time. Expected epoch seconds (the event's ISO-8601 "time").`,
      [{ field: "time", message: "must be a finite number of epoch seconds" }],
    );
  }
}
