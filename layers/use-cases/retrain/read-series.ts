import { poolResources, type ShaperConfig, userPools } from "../../domain/config.js";
import { buildUsageSeries } from "../../domain/forecasting/usage-series.js";
import { fnv1a, type SeriesKey, SeriesSample } from "../../domain/retrain/sample-series.js";
import type { UsageStore } from "../../ports/usage-store.js";
import type { UserRegistry } from "../../ports/user-registry.js";

/** Series keys a sample looks at before it stops reading shards: enough for a uniform bottom-k. */
const OFFERS_PER_SAMPLED_SERIES = 4;

/** (user, pool) histories read at once. */
const READ_CONCURRENCY = 16;

/**
 * Picks up to `limit` series (user × pool × resource) deterministically: shards are visited from
 * one chosen by the seed, wrapping around, until four times `limit` series were offered or every
 * shard was read; of those the `limit` with the smallest seeded hash are kept. Shards are a hash
 * partition of the users, so the shards read are a random subset of them, and a deployment with
 * a million users reads only a few shards.
 *
 * @param userRegistry where users are listed by shard
 * @param config pools, tiers and shard count
 * @param seed the sample's seed (the same seed and data give the same sample)
 * @param limit most series to return (config.retrain.sampleSeries)
 * @returns the sampled series, ordered by user, pool and resource
 */
export async function sampleSeries(
  userRegistry: UserRegistry,
  config: ShaperConfig,
  seed: string,
  limit: number,
): Promise<SeriesKey[]> {
  const sample = new SeriesSample(seed, limit);
  const first = fnv1a(seed) % config.shardCount;
  for (let i = 0; i < config.shardCount; i++) {
    const shard = (first + i) % config.shardCount;
    for await (const page of userRegistry.listUsersInShard(shard, config.shardCount)) {
      for (const user of page) {
        for (const pool of userPools(user, config)) {
          const poolConfig = config.pools[pool];
          if (!poolConfig) continue;
          for (const resource of poolResources(poolConfig))
            sample.offer({ userId: user.userId, pool, resource });
        }
      }
    }
    if (sample.offeredCount() >= OFFERS_PER_SAMPLED_SERIES * limit) break;
  }
  return sample.keys();
}

/**
 * Reads the sampled series on the grid [from, to): one UsageStore query per (user, pool), NaN
 * where an interval is missing (never zero).
 *
 * @param usageStore collected usage
 * @param keys the series
 * @param from first interval start, epoch seconds (aligned)
 * @param to end, epoch seconds (exclusive, aligned)
 * @param intervalSeconds the config's interval
 * @returns one target per key, in the order of `keys`
 */
export async function readSeries(
  usageStore: UsageStore,
  keys: readonly SeriesKey[],
  from: number,
  to: number,
  intervalSeconds: number,
): Promise<number[][]> {
  const groups = new Map<string, SeriesKey[]>();
  for (const key of keys) {
    const id = `${key.userId}\u0000${key.pool}`;
    const group = groups.get(id) ?? [];
    group.push(key);
    groups.set(id, group);
  }
  const targets = new Map<SeriesKey, number[]>();
  const entries = [...groups.values()];
  for (let i = 0; i < entries.length; i += READ_CONCURRENCY) {
    await Promise.all(
      entries.slice(i, i + READ_CONCURRENCY).map(async (group) => {
        const head = group[0] as SeriesKey;
        const records = await usageStore.getUsage(head.userId, head.pool, from, to);
        const series = buildUsageSeries(
          records,
          group.map((k) => k.resource),
          { from, to, intervalSeconds },
        );
        for (const key of group) targets.set(key, series[key.resource]?.target ?? []);
      }),
    );
  }
  return keys.map((key) => targets.get(key) ?? []);
}
