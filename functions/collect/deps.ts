import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  CloudWatchUsageSource,
  type UsageReadReport,
} from "../../layers/adapters/cloudwatch/cloudwatch-usage-source.js";
import {
  DynamoDbRequestLog,
  type MalformedLogItem,
} from "../../layers/adapters/dynamodb/dynamodb-request-log.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { logger, metrics } from "../../layers/lambda/observability.js";
import type { CollectUsageDeps } from "../../layers/use-cases/collect-usage.js";
import { type AwsRuntime, awsRuntime } from "../shared/runtime.js";

/** Failed series named in one log line at most (the rest are counted). */
const FAILED_SERIES_LOGGED = 20;

/** What the CloudWatch and request-log reads of one invocation did. */
export interface CollectReadStats {
  getMetricDataCalls: number;
  metricQueries: number;
  failedSeries: number;
  droppedDatapoints: number;
  malformedLogItems: number;
}

/** Adapters of the collect functions, built once per cold start. */
export interface CollectRuntime {
  readonly runtime: AwsRuntime;
  readonly usageStore: DynamoDbUsageStore;
  readonly usageSource: CloudWatchUsageSource;
  readonly requestLog: DynamoDbRequestLog;
  /** Reset at the start of every invocation, read at its end. */
  readonly stats: CollectReadStats;
}

let cached: CollectRuntime | undefined;

/** The collect functions' adapters (built on first use, then reused while the container lives). */
export function collectRuntime(): CollectRuntime {
  cached ??= buildCollectRuntime(awsRuntime());
  return cached;
}

function buildCollectRuntime(runtime: AwsRuntime): CollectRuntime {
  const stats = emptyStats();
  const onReport = (report: UsageReadReport) => {
    stats.getMetricDataCalls += report.calls;
    stats.metricQueries += report.queries;
    stats.failedSeries += report.failedSeries.length;
    stats.droppedDatapoints += report.droppedDatapoints;
    const problems =
      report.failedSeries.length > 0 ||
      report.callMessages.length > 0 ||
      report.unmappedResources.length > 0;
    const summary = {
      kind: report.kind,
      queries: report.queries,
      batches: report.batches,
      calls: report.calls,
      datapoints: report.datapoints,
      droppedDatapoints: report.droppedDatapoints,
      failedSeriesCount: report.failedSeries.length,
      failedSeries: report.failedSeries.slice(0, FAILED_SERIES_LOGGED),
      callMessages: report.callMessages,
      unmappedResources: report.unmappedResources,
    };
    if (problems) {
      logger.warn(
        "CloudWatch did not deliver every series; those are recorded as missing, not zero",
        summary,
      );
    } else {
      logger.debug("GetMetricData read", summary);
    }
  };
  const onMalformedItem = (item: MalformedLogItem) => {
    stats.malformedLogItems++;
    logger.warn("Skipped a malformed decision item in the request log", { ...item });
  };
  return {
    runtime,
    usageStore: new DynamoDbUsageStore(runtime.documentClient, runtime.tables.usage),
    usageSource: new CloudWatchUsageSource(runtime.aws.cloudwatch(), runtime.configSource, {
      onReport,
    }),
    requestLog: new DynamoDbRequestLog(runtime.documentClient, runtime.tables.admission, {
      onMalformedItem,
    }),
    stats,
  };
}

/** Deps of `collectShard`: the user registry is built for the loaded config's shard count. */
export async function collectShardDeps(rt: CollectRuntime): Promise<CollectUsageDeps> {
  const config = await rt.runtime.configSource.load();
  return {
    configSource: rt.runtime.configSource,
    userRegistry: new DynamoDbUserRegistry(
      rt.runtime.documentClient,
      rt.runtime.tables.registry,
      config.shardCount,
    ),
    usageSource: rt.usageSource,
    requestLog: rt.requestLog,
    usageStore: rt.usageStore,
  };
}

/** Zeroes the per-invocation read stats. */
export function resetStats(stats: CollectReadStats): void {
  Object.assign(stats, emptyStats());
}

/** Emits the read stats as metrics (GetMetricDataCalls, FailedSeries, MalformedLogItems). */
export function emitReadMetrics(stats: CollectReadStats): void {
  metrics.addMetric("GetMetricDataCalls", MetricUnit.Count, stats.getMetricDataCalls);
  metrics.addMetric("FailedSeries", MetricUnit.Count, stats.failedSeries);
  metrics.addMetric("MalformedLogItems", MetricUnit.Count, stats.malformedLogItems);
}

function emptyStats(): CollectReadStats {
  return {
    getMetricDataCalls: 0,
    metricQueries: 0,
    failedSeries: 0,
    droppedDatapoints: 0,
    malformedLogItems: 0,
  };
}
