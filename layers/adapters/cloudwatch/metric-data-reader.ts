import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataOutput,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { DependencyError } from "../../domain/errors.js";
import { intervalStartOf } from "../../domain/time.js";
import { dependencyError } from "../dynamodb/errors.js";

/** GetMetricData's limit of MetricDataQueries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** One metric series to read: a metric, its dimensions and the statistic per interval. */
export interface SeriesQuery {
  readonly namespace: string;
  readonly metricName: string;
  /** In the order they were published (some emulators match dimensions in order). */
  readonly dimensions: readonly { readonly name: string; readonly value: string }[];
  readonly stat: string;
}

/** The window to read, [start, end) in epoch seconds, and the period (interval) in seconds. */
export interface ReadWindow {
  readonly start: number;
  readonly end: number;
  readonly intervalSeconds: number;
}

/** A series CloudWatch could not deliver for the window (read as missing, never as zeros). */
export interface FailedSeries {
  readonly index: number;
  /** `InternalError`, `Forbidden`, `Complete`/`PartialData` with messages, or `NotReturned`. */
  readonly statusCode: string;
  readonly messages: readonly string[];
}

/** What a read did, for logs and metrics. */
export interface MetricReadReport {
  readonly queries: number;
  /** Batches of at most `MAX_QUERIES_PER_CALL` queries. */
  readonly batches: number;
  /** GetMetricData calls, pages included. */
  readonly calls: number;
  /** Datapoints placed on the interval grid. */
  readonly datapoints: number;
  /** Datapoints dropped: outside the window after alignment, or not a finite non-negative number. */
  readonly droppedDatapoints: number;
  readonly failedSeries: readonly FailedSeries[];
  /** Messages about whole calls (e.g. "Maximum number of allowed metrics exceeded"). */
  readonly callMessages: readonly string[];
}

/** Per query (same order as the input): value per interval start, or `failed`. */
export type SeriesValues =
  | { readonly failed: false; readonly values: ReadonlyMap<number, number> }
  | { readonly failed: true };

/** How `readMetricSeries` batches and pages. */
export interface ReadMetricSeriesOptions {
  /** Queries per call; at most the API's limit. @default 500 */
  readonly batchSize?: number;
  /** Calls in flight at once. @default 2 */
  readonly concurrency?: number;
  /** Safety stop for a server that keeps answering with a NextToken. @default 1000 */
  readonly maxPagesPerBatch?: number;
  /** Names what is read in error messages, e.g. "usage of shard 3". */
  readonly what: string;
}

/**
 * Reads metric series with GetMetricData: batches of at most 500 queries, each followed through
 * every NextToken page, with Period = the interval. Query ids are `q<index>` (matching the API's
 * `^[a-z][a-zA-Z0-9_]*$`) and map back to the input position. Datapoint timestamps are aligned
 * down to the interval grid and kept only inside the window.
 *
 * A series whose result says `InternalError` or `Forbidden`, or carries messages, on any page is
 * failed for the whole window: its values are dropped (missing), never zero-filled. A result
 * with `PartialData` is followed through its NextToken pages and merged.
 *
 * @throws DependencyError ("CloudWatch") when a call fails, or a batch never stops paginating
 */
export async function readMetricSeries(
  client: CloudWatchClient,
  queries: readonly SeriesQuery[],
  window: ReadWindow,
  options: ReadMetricSeriesOptions,
): Promise<{ series: SeriesValues[]; report: MetricReadReport }> {
  const batchSize = Math.min(options.batchSize ?? MAX_QUERIES_PER_CALL, MAX_QUERIES_PER_CALL);
  const maxPages = options.maxPagesPerBatch ?? 1_000;
  const values = queries.map(() => new Map<number, number>());
  const failures = new Map<number, FailedSeries>();
  const returned = new Set<number>();
  const callMessages: string[] = [];
  let calls = 0;
  let datapoints = 0;
  let dropped = 0;

  const batches: number[][] = [];
  for (let i = 0; i < queries.length; i += batchSize) {
    batches.push(Array.from({ length: Math.min(batchSize, queries.length - i) }, (_, k) => i + k));
  }

  const readBatch = async (indexes: readonly number[]) => {
    const inBatch = new Set(indexes);
    const MetricDataQueries: MetricDataQuery[] = indexes.map((index) =>
      toQuery(index, queries[index] as SeriesQuery, window.intervalSeconds),
    );
    let nextToken: string | undefined;
    const seenTokens = new Set<string>();
    for (let page = 0; ; page++) {
      if (page >= maxPages) {
        throw new DependencyError(
          "CloudWatch",
          `GetMetricData kept returning a NextToken after ${maxPages} pages while reading ${options.what}. Expected the pages to end. Retry the run; if it persists, lower collect.lookbackIntervals.`,
          { retryable: true },
        );
      }
      let output: GetMetricDataOutput;
      try {
        calls++;
        output = await client.send(
          new GetMetricDataCommand({
            MetricDataQueries,
            StartTime: new Date(window.start * 1000),
            EndTime: new Date(window.end * 1000),
            ScanBy: "TimestampAscending",
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (error) {
        throw dependencyError(
          "CloudWatch",
          `reading ${options.what} (GetMetricData, ${MetricDataQueries.length} queries)`,
          error,
        );
      }
      for (const m of output.Messages ?? []) callMessages.push(formatMessage(m));
      for (const result of output.MetricDataResults ?? []) {
        const index = indexOfId(result.Id);
        if (index === undefined || !inBatch.has(index)) continue;
        returned.add(index);
        const status = result.StatusCode ?? "Complete";
        const messages = (result.Messages ?? []).map(formatMessage);
        if (status === "InternalError" || status === "Forbidden" || messages.length > 0) {
          const previous = failures.get(index);
          failures.set(index, {
            index,
            statusCode: previous?.statusCode ?? status,
            messages: [...(previous?.messages ?? []), ...messages],
          });
          continue;
        }
        const timestamps = result.Timestamps ?? [];
        const vals = result.Values ?? [];
        const series = values[index] as Map<number, number>;
        for (let k = 0; k < timestamps.length; k++) {
          const at = timestamps[k];
          const value = vals[k];
          if (!at || value === undefined || !Number.isFinite(value) || value < 0) {
            dropped++;
            continue;
          }
          const t = intervalStartOf(Math.floor(at.getTime() / 1000), window.intervalSeconds);
          if (t < window.start || t >= window.end) {
            dropped++;
            continue;
          }
          series.set(t, value);
          datapoints++;
        }
      }
      nextToken = output.NextToken || undefined;
      if (!nextToken) break;
      if (seenTokens.has(nextToken)) {
        throw new DependencyError(
          "CloudWatch",
          `GetMetricData returned the same NextToken twice while reading ${options.what}. Expected a new token per page. Retry the run.`,
          { retryable: true },
        );
      }
      seenTokens.add(nextToken);
    }
  };

  await runLimited(batches, Math.max(1, options.concurrency ?? 2), readBatch);

  for (let index = 0; index < queries.length; index++) {
    if (!returned.has(index) && !failures.has(index)) {
      failures.set(index, { index, statusCode: "NotReturned", messages: [] });
    }
  }
  const series: SeriesValues[] = values.map((v, index) =>
    failures.has(index) ? { failed: true } : { failed: false, values: v },
  );
  return {
    series,
    report: {
      queries: queries.length,
      batches: batches.length,
      calls,
      datapoints,
      droppedDatapoints: dropped,
      failedSeries: [...failures.values()].sort((a, b) => a.index - b.index),
      callMessages,
    },
  };
}

/** Query id of the series at `index`: `q0`, `q1`… (the API wants `^[a-z][a-zA-Z0-9_]*$`). */
export function queryId(index: number): string {
  return `q${index}`;
}

function indexOfId(id: string | undefined): number | undefined {
  const m = id === undefined ? null : /^q(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

function toQuery(index: number, query: SeriesQuery, periodSeconds: number): MetricDataQuery {
  return {
    Id: queryId(index),
    ReturnData: true,
    MetricStat: {
      Metric: {
        Namespace: query.namespace,
        MetricName: query.metricName,
        Dimensions: query.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
      },
      Period: periodSeconds,
      Stat: query.stat,
    },
  };
}

function formatMessage(m: { Code?: string | undefined; Value?: string | undefined }): string {
  return [m.Code, m.Value].filter(Boolean).join(": ") || "(empty message)";
}

async function runLimited<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
