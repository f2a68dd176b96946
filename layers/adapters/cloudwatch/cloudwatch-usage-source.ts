import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { poolResources, type ShaperConfig, type User, userPools } from "../../domain/config.js";
import { ConfigError } from "../../domain/errors.js";
import type { Amounts, Resource } from "../../domain/resources.js";
import { intervalStarts } from "../../domain/time.js";
import type { PoolLoadRecord, UsageRecord } from "../../domain/usage.js";
import type { ConfigSource } from "../../ports/config-source.js";
import type { UsageSource, UsageWindow } from "../../ports/usage-source.js";
import {
  type MetricReadReport,
  type ReadMetricSeriesOptions,
  readMetricSeries,
  type SeriesQuery,
} from "./metric-data-reader.js";

/** Namespace, metric names and dimensions of ECS service utilisation (published by ECS). */
const ECS_NAMESPACE = "AWS/ECS";
const ECS_CPU_METRIC = "CPUUtilization";
const ECS_MEMORY_METRIC = "MemoryUtilization";

/** A failed series, named by what it measures. */
export interface FailedUsageSeries {
  readonly userId?: string;
  readonly pool: string;
  /** A resource for usage, `CPUUtilization`/`MemoryUtilization` for pool load. */
  readonly metric: string;
  readonly statusCode: string;
  readonly messages: readonly string[];
}

/** What one read did: the reader's counts, the failed series by name, and unread resources. */
export interface UsageReadReport extends Omit<MetricReadReport, "failedSeries"> {
  readonly kind: "usage" | "pool-load";
  readonly failedSeries: readonly FailedUsageSeries[];
  /** Pool resources with no metric name in `collect.metricNames` (never read: missing). */
  readonly unmappedResources: readonly string[];
}

/** Batching, concurrency and reporting of `CloudWatchUsageSource` (see `ReadMetricSeriesOptions`). */
export interface CloudWatchUsageSourceOptions
  extends Partial<Omit<ReadMetricSeriesOptions, "what">> {
  /** Called after every read with what it did (the handler logs it and emits metrics). */
  readonly onReport?: (report: UsageReadReport) => void;
}

/**
 * Per-user usage and per-pool load from CloudWatch `GetMetricData`.
 *
 * Usage: one series per user, pool the user draws from and resource the pool offers, in the
 * config's `collect` namespace (default `Shaper/Usage`), metric `collect.metricNames[resource]`,
 * dimensions `collect.userDimension`=<userId> and `collect.poolDimension`=<pool> (in that order),
 * statistic `collect.statistic`, Period = `intervalSeconds`. An interval where no resource of the
 * pool has a datapoint is missing (`usage: null`); where some have one, the usage map holds just
 * those. A series CloudWatch failed to deliver (InternalError, Forbidden, messages) is missing
 * for the window and named in the report.
 *
 * Pool load: `AWS/ECS` `CPUUtilization` and `MemoryUtilization` (Average) of each pool's ECS
 * service (dimensions ClusterName, ServiceName), null where missing.
 *
 * @example
 * const source = new CloudWatchUsageSource(aws.cloudwatch(), configSource, {
 *   onReport: (r) => logger.info("GetMetricData", { ...r }),
 * });
 * const records = await source.readUsage(users, ["cpu"], { start, end, intervalSeconds: 300 });
 */
export class CloudWatchUsageSource implements UsageSource {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly configSource: ConfigSource,
    private readonly options: CloudWatchUsageSourceOptions = {},
  ) {}

  /**
   * @returns one record per user, pool (the user's pools that are in `pools` and configured) and
   *   interval of the window, users in input order
   * @throws ConfigError when the interval is not a valid CloudWatch period (a multiple of 60 s)
   * @throws DependencyError when GetMetricData fails
   */
  async readUsage(
    users: readonly User[],
    pools: readonly string[],
    window: UsageWindow,
  ): Promise<UsageRecord[]> {
    const config = await this.configSource.load();
    checkPeriod(window.intervalSeconds);
    const collect = config.collect;
    const wanted = new Set(pools);
    const unmapped = new Set<string>();
    const queries: SeriesQuery[] = [];
    const meta: { userId: string; pool: string; resource: Resource }[] = [];
    const cells: { userId: string; pool: string; first: number; count: number }[] = [];
    for (const user of users) {
      for (const pool of userPools(user, config)) {
        const definition = config.pools[pool];
        if (!definition || !wanted.has(pool)) continue;
        const first = queries.length;
        for (const resource of poolResources(definition)) {
          const metricName = collect.metricNames[resource];
          if (!metricName) {
            unmapped.add(`${pool}.${resource}`);
            continue;
          }
          queries.push({
            namespace: collect.namespace,
            metricName,
            dimensions: [
              { name: collect.userDimension, value: user.userId },
              { name: collect.poolDimension, value: pool },
            ],
            stat: collect.statistic,
          });
          meta.push({ userId: user.userId, pool, resource });
        }
        cells.push({ userId: user.userId, pool, first, count: queries.length - first });
      }
    }

    const { series, report } = await readMetricSeries(this.client, queries, window, {
      ...this.readOptions(),
      what: `usage of ${users.length} users`,
    });

    const starts = intervalStarts(window.start, window.end, window.intervalSeconds);
    const records: UsageRecord[] = [];
    for (const cell of cells) {
      for (const t of starts) {
        const usage: Amounts = {};
        let present = false;
        for (let i = cell.first; i < cell.first + cell.count; i++) {
          const s = series[i];
          const value = s && !s.failed ? s.values.get(t) : undefined;
          if (value === undefined) continue;
          usage[(meta[i] as (typeof meta)[number]).resource] = value;
          present = true;
        }
        records.push({
          userId: cell.userId,
          pool: cell.pool,
          intervalStart: t,
          usage: present ? usage : null,
        });
      }
    }

    this.options.onReport?.({
      kind: "usage",
      ...report,
      failedSeries: report.failedSeries.map((f) => {
        const m = meta[f.index] as (typeof meta)[number];
        return {
          userId: m.userId,
          pool: m.pool,
          metric: m.resource,
          statusCode: f.statusCode,
          messages: f.messages,
        };
      }),
      unmappedResources: [...unmapped].sort(),
    });
    return records;
  }

  /**
   * @returns one record per configured pool in `pools` and interval of the window
   * @throws ConfigError when the interval is not a valid CloudWatch period
   * @throws DependencyError when GetMetricData fails
   */
  async readPoolLoad(pools: readonly string[], window: UsageWindow): Promise<PoolLoadRecord[]> {
    const config = await this.configSource.load();
    checkPeriod(window.intervalSeconds);
    const known = pools.filter((p) => config.pools[p] !== undefined);
    const queries: SeriesQuery[] = [];
    for (const pool of known) {
      const ecs = (config.pools[pool] as ShaperConfig["pools"][string]).ecs;
      for (const metricName of [ECS_CPU_METRIC, ECS_MEMORY_METRIC]) {
        queries.push({
          namespace: ECS_NAMESPACE,
          metricName,
          dimensions: [
            { name: "ClusterName", value: ecs.cluster },
            { name: "ServiceName", value: ecs.service },
          ],
          stat: "Average",
        });
      }
    }
    const { series, report } = await readMetricSeries(this.client, queries, window, {
      ...this.readOptions(),
      what: `load of ${known.length} pools`,
    });
    const valueAt = (index: number, t: number): number | null => {
      const s = series[index];
      return (s && !s.failed ? s.values.get(t) : undefined) ?? null;
    };
    const records: PoolLoadRecord[] = [];
    known.forEach((pool, p) => {
      for (const t of intervalStarts(window.start, window.end, window.intervalSeconds)) {
        records.push({
          pool,
          intervalStart: t,
          cpuUtilizationPercent: valueAt(2 * p, t),
          memoryUtilizationPercent: valueAt(2 * p + 1, t),
        });
      }
    });
    this.options.onReport?.({
      kind: "pool-load",
      ...report,
      failedSeries: report.failedSeries.map((f) => ({
        pool: known[Math.floor(f.index / 2)] as string,
        metric: f.index % 2 === 0 ? ECS_CPU_METRIC : ECS_MEMORY_METRIC,
        statusCode: f.statusCode,
        messages: f.messages,
      })),
      unmappedResources: [],
    });
    return records;
  }

  private readOptions(): Omit<ReadMetricSeriesOptions, "what"> {
    const { batchSize, concurrency, maxPagesPerBatch } = this.options;
    return {
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(maxPagesPerBatch === undefined ? {} : { maxPagesPerBatch }),
    };
  }
}

function checkPeriod(intervalSeconds: number): void {
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 60 || intervalSeconds % 60 !== 0) {
    throw new ConfigError(
      `intervalSeconds ${intervalSeconds} cannot be a CloudWatch GetMetricData Period. Expected a multiple of 60 seconds (e.g. 300). Change "intervalSeconds" in the config.`,
    );
  }
}
