import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type Amounts, AmountsSchema } from "../../domain/resources.js";
import type {
  PoolLoadRecord,
  PoolUsagePartial,
  RequestStats,
  UsageRecord,
} from "../../domain/usage.js";
import type { UsageStore } from "../../ports/usage-store.js";
import { batchPut } from "./batch-write.js";
import { queryItems } from "./query-items.js";
import { keys, timeKey } from "./tables.js";

/** How long collected usage is kept, in seconds (35 days: a month of history plus slack). */
export const USAGE_RETENTION_SECONDS = 35 * 86_400;

/**
 * Usage history in the usage table (see docs/data-model.md). Every write is a whole-item put keyed
 * by interval, so writing the same window twice leaves the same items.
 */
export class DynamoDbUsageStore implements UsageStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionSeconds = USAGE_RETENTION_SECONDS,
  ) {}

  async putUsage(records: readonly UsageRecord[]): Promise<void> {
    await batchPut(
      this.client,
      this.tableName,
      records.map((r) => ({
        ...keys.usage(r.pool, r.userId, r.intervalStart),
        userId: r.userId,
        pool: r.pool,
        intervalStart: r.intervalStart,
        ...(r.usage === null ? { missing: true } : { usage: r.usage }),
        ...(r.requests ? { requests: r.requests } : {}),
        expiresAt: r.intervalStart + this.retentionSeconds,
      })),
    );
  }

  async getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]> {
    const items = await this.queryRange(
      keys.usage(pool, userId, 0).pk,
      timeKey(from),
      timeKey(to - 1),
      `usage of ${userId} in ${pool}`,
    );
    return items.map((item) => ({
      userId,
      pool,
      intervalStart: Number(item.intervalStart),
      usage: item.missing === true ? null : amounts(item.usage),
      ...(item.requests ? { requests: requestStats(item.requests) } : {}),
    }));
  }

  async putPoolUsagePartials(partials: readonly PoolUsagePartial[]): Promise<void> {
    await batchPut(
      this.client,
      this.tableName,
      partials.map((p) => ({
        ...keys.poolUsagePartial(p.pool, p.intervalStart, p.shard),
        ...p,
        expiresAt: p.intervalStart + this.retentionSeconds,
      })),
    );
  }

  async getPoolUsagePartials(pool: string, from: number, to: number): Promise<PoolUsagePartial[]> {
    // Sort keys are `<time>#<shard>`: "~" sorts after "#<digits>", so the range covers every shard of `to - 1`.
    const items = await this.queryRange(
      `PU#${pool}`,
      timeKey(from),
      `${timeKey(to - 1)}~`,
      `pool partials of ${pool}`,
    );
    return items.map((item) => ({
      pool,
      intervalStart: Number(item.intervalStart),
      shard: Number(item.shard),
      usage: amounts(item.usage),
      reportingUsers: Number(item.reportingUsers ?? 0),
      missingUsers: Number(item.missingUsers ?? 0),
    }));
  }

  async putPoolLoad(records: readonly PoolLoadRecord[]): Promise<void> {
    await batchPut(
      this.client,
      this.tableName,
      records.map((r) => ({
        ...keys.poolLoad(r.pool, r.intervalStart),
        ...r,
        expiresAt: r.intervalStart + this.retentionSeconds,
      })),
    );
  }

  async getPoolLoad(pool: string, from: number, to: number): Promise<PoolLoadRecord[]> {
    const items = await this.queryRange(
      `PL#${pool}`,
      timeKey(from),
      timeKey(to - 1),
      `pool load of ${pool}`,
    );
    return items.map((item) => ({
      pool,
      intervalStart: Number(item.intervalStart),
      cpuUtilizationPercent: nullableNumber(item.cpuUtilizationPercent),
      memoryUtilizationPercent: nullableNumber(item.memoryUtilizationPercent),
    }));
  }

  private async queryRange(
    pk: string,
    fromSk: string,
    toSk: string,
    what: string,
  ): Promise<Record<string, unknown>[]> {
    if (fromSk > toSk) return [];
    return queryItems(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": pk, ":from": fromSk, ":to": toSk },
      },
      `reading ${what}`,
    );
  }
}

function amounts(value: unknown): Amounts {
  const parsed = AmountsSchema.safeParse(value ?? {});
  return parsed.success ? parsed.data : {};
}

function requestStats(value: unknown): RequestStats {
  const v = (value ?? {}) as Record<string, unknown>;
  return {
    count: Number(v.count ?? 0),
    requested: amounts(v.requested),
    amountSeconds: amounts(v.amountSeconds),
    granted: amounts(v.granted),
    ...(v.criticalAsked === undefined ? {} : { criticalAsked: amounts(v.criticalAsked) }),
  };
}

function nullableNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
