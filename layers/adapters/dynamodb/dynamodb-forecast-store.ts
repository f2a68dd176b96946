import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { toFieldIssues } from "../../domain/config.js";
import { ValidationError } from "../../domain/errors.js";
import type { Forecast, ForecastErrorSummary, ResourceForecast } from "../../domain/forecast.js";
import { accumulateError } from "../../domain/forecasting/forecast-error.js";
import { AmountsSchema, ResourceSchema } from "../../domain/resources.js";
import { shardOf } from "../../domain/sharding.js";
import type { ForecastStore } from "../../ports/forecast-store.js";
import { batchPut } from "./batch-write.js";
import { dependencyError } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys } from "./tables.js";

/** Forecasts and error summaries age out after a week (TTL on `expiresAt`). */
const RETENTION_SECONDS = 7 * 86_400;
/** Stay clear of DynamoDB's 400 KB item limit (JSON length over-estimates the stored size). */
const MAX_ITEM_JSON_BYTES = 380_000;
/**
 * Stored forecast values keep 6 significant digits: capacity decisions need far less, and it
 * halves item size and write units compared with full doubles.
 */
const SIGNIFICANT_DIGITS = 6;

const FiniteArray = z.array(z.number());
const ResourceForecastSchema = z.object({
  mean: FiniteArray,
  quantiles: z.record(z.string(), FiniteArray),
});
const ErrorSummarySchema = z.object({
  pinballSum: z.number(),
  absActualSum: z.number(),
  quantileCount: z.number(),
  points: z.number(),
  covered80: z.number(),
});
const ForecastItemSchema = z.object({
  pool: z.string(),
  userId: z.string().optional(),
  issuedAt: z.number(),
  start: z.number(),
  intervalSeconds: z.number(),
  horizon: z.number(),
  byResource: z.partialRecord(ResourceSchema, ResourceForecastSchema),
  model: z.string(),
  modelVersion: z.string(),
  fallbackReason: z.string().optional(),
  tier: z.string().optional(),
  limits: z
    .object({ guaranteedMinimum: AmountsSchema.optional(), cap: AmountsSchema.optional() })
    .optional(),
  coldStart: z.boolean().optional(),
  criticalPeak: z.object({ amounts: AmountsSchema, lastSeenAt: z.number() }).optional(),
  coldStartCohort: z
    .object({ basis: z.enum(["tier", "pool"]), members: z.int().positive() })
    .optional(),
  previousError: z.object({ runId: z.string(), summary: ErrorSummarySchema }).optional(),
});
const ErrorItemSchema = z.object({ byTier: z.record(z.string(), ErrorSummarySchema) });

/**
 * Forecasts in the forecasts table (see docs/data-model.md): the latest forecast of each user and
 * pool at `F#<pool>#<shard>`/`<userId>`, pool forecasts at `FP#<pool>`/`<issuedAt>`, error
 * summaries at `FE`/`<runId>#<shard>`; every item expires 7 days after it was issued.
 *
 * @example
 * const store = new DynamoDbForecastStore(aws.documentClient(), tables.forecasts, config.shardCount);
 */
export class DynamoDbForecastStore implements ForecastStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Shard count user forecasts are partitioned by; must match the config's `shardCount`. */
    private readonly shardCount: number,
  ) {}

  /** @throws ValidationError when a forecast would exceed DynamoDB's item size limit */
  async putForecasts(forecasts: readonly Forecast[]): Promise<void> {
    // BatchWriteItem refuses two puts of one key in a call: the last forecast of a key wins.
    const items = new Map<string, Record<string, unknown>>();
    for (const forecast of forecasts) {
      const item = this.toItem(forecast);
      items.set(`${item.pk}\u0000${item.sk}`, item);
    }
    await batchPut(this.client, this.tableName, [...items.values()]);
  }

  async getUserForecast(pool: string, userId: string): Promise<Forecast | undefined> {
    const key = keys.userForecast(pool, shardOf(userId, this.shardCount), userId);
    const item = await getItem(
      this.client,
      this.tableName,
      key,
      `reading the forecast of ${userId} in ${pool}`,
    );
    return item ? toForecast(item) : undefined;
  }

  async *listUserForecasts(pool: string): AsyncIterable<readonly Forecast[]> {
    for (let shard = 0; shard < this.shardCount; shard++) {
      const pk = keys.userForecast(pool, shard, "").pk;
      for await (const items of this.query(
        { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": pk } },
        `listing forecasts of ${pk}`,
      )) {
        yield items.map(toForecast);
      }
    }
  }

  async getPoolForecast(pool: string): Promise<Forecast | undefined> {
    const pk = keys.poolForecast(pool, 0).pk;
    for await (const items of this.query(
      {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ScanIndexForward: false,
        Limit: 1,
      },
      `reading the latest forecast of pool ${pool}`,
      1,
    )) {
      const [latest] = items;
      return latest ? toForecast(latest) : undefined;
    }
    return undefined;
  }

  /** @throws ValidationError when runId is not 12-digit epoch seconds (see `forecastRunId`) */
  async putErrorSummary(
    runId: string,
    shard: number,
    byTier: Readonly<Record<string, ForecastErrorSummary>>,
  ): Promise<void> {
    if (!/^\d{12}$/.test(runId)) {
      throw new ValidationError(
        `Run id "${runId}" is not 12-digit epoch seconds. Build it with forecastRunId(windowEnd).`,
        [{ field: "runId", message: "expected 12 digits" }],
      );
    }
    const item = {
      ...keys.errorSummary(runId, shard),
      runId,
      shard,
      byTier,
      expiresAt: Number(runId) + RETENTION_SECONDS,
    };
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
    } catch (error) {
      throw dependencyError("DynamoDB", `writing error summary ${runId}/${shard}`, error);
    }
  }

  async getErrorSummaries(
    fromRunId: string,
    toRunId: string,
  ): Promise<Record<string, ForecastErrorSummary>> {
    const totals: Record<string, ForecastErrorSummary> = {};
    const input: Omit<QueryCommandInput, "TableName"> = {
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": keys.errorSummary(fromRunId, 0).pk,
        ":from": keys.errorSummary(fromRunId, 0).sk,
        ":to": keys.errorSummary(toRunId, 99_999).sk,
      },
    };
    for await (const items of this.query(
      input,
      `reading error summaries ${fromRunId}…${toRunId}`,
    )) {
      for (const item of items) {
        const parsed = parseItem(ErrorItemSchema, item);
        for (const [tier, summary] of Object.entries(parsed.byTier)) {
          accumulateError(totals, tier, summary);
        }
      }
    }
    return totals;
  }

  private toItem(forecast: Forecast): Record<string, unknown> {
    const key =
      forecast.userId === undefined
        ? keys.poolForecast(forecast.pool, forecast.issuedAt)
        : keys.userForecast(
            forecast.pool,
            shardOf(forecast.userId, this.shardCount),
            forecast.userId,
          );
    const byResource: Record<string, ResourceForecast> = {};
    for (const [resource, values] of Object.entries(forecast.byResource)) {
      if (values) byResource[resource] = roundForecast(values);
    }
    const item = {
      ...forecast,
      ...key,
      byResource,
      expiresAt: forecast.issuedAt + RETENTION_SECONDS,
    };
    const size = JSON.stringify(item).length;
    if (size > MAX_ITEM_JSON_BYTES) {
      throw new ValidationError(
        `Forecast of ${forecast.userId ?? "the pool"} in ${forecast.pool} is ${size} bytes; DynamoDB items hold at most 400 KB. Lower horizonIntervals or the number of quantiles.`,
        [{ field: "horizonIntervals", message: "too long for one forecast item" }],
      );
    }
    return item;
  }

  private async *query(
    input: Omit<QueryCommandInput, "TableName">,
    doing: string,
    pageSize?: number,
  ): AsyncGenerator<Record<string, unknown>[]> {
    const pages = paginateQuery(
      { client: this.client, ...(pageSize ? { pageSize } : {}) },
      { TableName: this.tableName, ...input },
    );
    try {
      for await (const page of pages) {
        if (page.Items && page.Items.length > 0) yield page.Items;
      }
    } catch (error) {
      throw dependencyError("DynamoDB", doing, error);
    }
  }
}

function roundForecast(values: ResourceForecast): ResourceForecast {
  const round = (row: readonly number[]) =>
    row.map((v) => Number(v.toPrecision(SIGNIFICANT_DIGITS)));
  return {
    mean: round(values.mean),
    quantiles: Object.fromEntries(
      Object.entries(values.quantiles).map(([k, row]) => [k, round(row)]),
    ),
  };
}

function toForecast(item: Record<string, unknown>): Forecast {
  // Zod types optional fields as `T | undefined`; absent keys are absent, so this is a Forecast.
  return parseItem(ForecastItemSchema, item) as Forecast;
}

function parseItem<S extends z.ZodType>(schema: S, item: Record<string, unknown>): z.infer<S> {
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    throw new ValidationError(
      `Stored item ${String(item.pk)}/${String(item.sk)} is malformed: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. It was not written by this version of shaper; delete it or fix the writer.`,
      issues,
    );
  }
  return parsed.data;
}
