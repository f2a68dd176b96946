import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { CriticalitySchema, IdSchema, toFieldIssues } from "../../domain/config.js";
import type { FieldIssue } from "../../domain/errors.js";
import { AmountsSchema } from "../../domain/resources.js";
import type { RequestLogEntry } from "../../domain/usage.js";
import type { RequestLog } from "../../ports/request-log.js";
import { queryItems } from "./query-items.js";
import { keys, REQUEST_LOG_INDEX, timeKey } from "./tables.js";

const DAY_SECONDS = 86_400;

/**
 * The parts of a decision item (docs/data-model.md, admission table) the request log reads.
 * Other attributes are ignored, so the admission side may add fields freely.
 */
const DecisionLogItemSchema = z.object({
  request: z.object({
    requestId: IdSchema,
    userId: IdSchema,
    pool: IdSchema,
    amounts: AmountsSchema,
    durationSeconds: z.number().finite().nonnegative(),
    criticality: CriticalitySchema.optional(),
  }),
  decision: z.object({ outcome: z.enum(["grant", "delay", "offer", "reject"]) }),
  decidedAt: z.number().finite().nonnegative(),
  tier: z.string().min(1).optional(),
});

/** A decision item the request log skipped because it does not have the documented shape. */
export interface MalformedLogItem {
  readonly pk: string;
  readonly logSk: string;
  readonly issues: readonly FieldIssue[];
}

/** Paging and reporting of `DynamoDbRequestLog`. */
export interface DynamoDbRequestLogOptions {
  /** Items per Query page. @default 1000 */
  readonly pageSize?: number;
  /** Called once per malformed item (skipped, never fatal); the handler logs it. */
  readonly onMalformedItem?: (item: MalformedLogItem) => void;
}

/**
 * The admission API's request log, read through the admission table's GSI `requestLog`
 * (partition `RL#<shardCount>#<shard>#<UTC day start>`, sort `<receivedAt>#<requestId>`): one
 * paginated Query per UTC day the window touches. `receivedAt` is the item's `decidedAt`.
 *
 * The GSI is eventually consistent: a decision made seconds before the read may be missed, and
 * is picked up by the next run (collect re-reads `collect.lookbackIntervals` intervals).
 *
 * @example
 * const log = new DynamoDbRequestLog(aws.documentClient(), tables.admission, {
 *   onMalformedItem: (item) => logger.warn("malformed decision item", { ...item }),
 * });
 * const entries = await log.listRequests(3, 16, windowStart, windowEnd);
 */
export class DynamoDbRequestLog implements RequestLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoDbRequestLogOptions = {},
  ) {}

  /**
   * @param from epoch seconds, inclusive
   * @param to epoch seconds, exclusive
   * @returns the shard's requests received in [from, to), oldest first; malformed items skipped
   * @throws DependencyError when DynamoDB fails
   */
  async listRequests(
    shard: number,
    shardCount: number,
    from: number,
    to: number,
  ): Promise<RequestLogEntry[]> {
    const out: RequestLogEntry[] = [];
    if (!(to > from)) return out;
    const firstDay = Math.floor(from / DAY_SECONDS) * DAY_SECONDS;
    for (let day = firstDay; day < to; day += DAY_SECONDS) {
      const { logPk } = keys.requestLog(shard, shardCount, day, "");
      const items = await this.queryDay(logPk, from, to, shard, shardCount);
      for (const item of items) {
        const entry = this.toEntry(item);
        if (entry && entry.receivedAt >= from && entry.receivedAt < to) out.push(entry);
      }
    }
    return out;
  }

  private async queryDay(
    logPk: string,
    from: number,
    to: number,
    shard: number,
    shardCount: number,
  ): Promise<Record<string, unknown>[]> {
    return queryItems(
      this.client,
      {
        TableName: this.tableName,
        IndexName: REQUEST_LOG_INDEX,
        // logSk = `<timeKey(receivedAt)>#<requestId>`; "~" sorts after "#", so the upper bound
        // takes every request of the last second before `to`.
        KeyConditionExpression: "logPk = :pk AND logSk BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": logPk,
          ":from": timeKey(from),
          ":to": `${timeKey(Math.ceil(to) - 1)}~`,
        },
      },
      `reading the request log of shard ${shard}/${shardCount} (${logPk}) from ${this.tableName}`,
      { pageSize: this.options.pageSize ?? 1_000 },
    );
  }

  private toEntry(item: Record<string, unknown>): RequestLogEntry | undefined {
    const parsed = DecisionLogItemSchema.safeParse(item);
    if (!parsed.success) {
      this.options.onMalformedItem?.({
        pk: String(item.pk),
        logSk: String(item.logSk),
        issues: toFieldIssues(parsed.error),
      });
      return undefined;
    }
    const { request, decision, decidedAt, tier } = parsed.data;
    return {
      requestId: request.requestId,
      userId: request.userId,
      pool: request.pool,
      amounts: request.amounts,
      durationSeconds: request.durationSeconds,
      receivedAt: decidedAt,
      outcome: decision.outcome,
      ...(tier === undefined ? {} : { tier }),
      ...(request.criticality === undefined ? {} : { criticality: request.criticality }),
    };
  }
}
