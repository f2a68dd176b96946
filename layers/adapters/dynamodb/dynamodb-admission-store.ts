import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { emptyLedger } from "../../domain/admission/ledger.js";
import { parseStoredDecision, parseStoredLedger } from "../../domain/admission/stored-schemas.js";
import type { DecisionRecord, PoolLedger } from "../../domain/admission.js";
import { DependencyError } from "../../domain/errors.js";
import { shardOf } from "../../domain/sharding.js";
import type { AdmissionStore, CommitResult } from "../../ports/admission-store.js";
import { dependencyError, isConditionFailure } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys } from "./tables.js";

/** Default time a decision record is kept (config.admission.decisionRetentionSeconds), in seconds. */
export const DECISION_RETENTION_SECONDS = 30 * 86_400;

export interface DynamoDbAdmissionStoreOptions {
  /** Shard count of the request-log index keys; must match the config's `shardCount`. */
  readonly shardCount: number;
  /** How long decision records are kept (TTL), in seconds. @default 2592000 (30 days) */
  readonly decisionRetentionSeconds?: number;
}

/**
 * Pool ledgers and decision records in the admission table (see docs/data-model.md):
 * - ledger `LEDGER#<pool>` / `LEDGER`: `version`, `capacity`, `leases`, `planIssuedAt`,
 *   `fairShareLevel`, `criticalReserve`, `dominantFairShare`, `updatedAt`;
 * - decision `REQ#<requestId>` / `DECISION`: `request`, `decision`, `decidedAt`, `tier`,
 *   `explanation`, `planIssuedAt?`, `logPk`/`logSk` (the `requestLog` index collect reads) and
 *   `expiresAt` (TTL).
 *
 * A decision and its ledger change are one TransactWriteItems: the ledger put is conditional on
 * the version read, the decision put on the request id being new. A successful write stores
 * version = expected + 1. A decision that takes no capacity is one conditional PutItem. Reads are strongly consistent, so a writer that read an older version
 * fails its condition instead of overwriting.
 */
export class DynamoDbAdmissionStore implements AdmissionStore {
  private readonly retentionSeconds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoDbAdmissionStoreOptions,
  ) {
    this.retentionSeconds = options.decisionRetentionSeconds ?? DECISION_RETENTION_SECONDS;
  }

  async getLedger(pool: string): Promise<PoolLedger> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.ledger(pool),
      `reading the ledger of pool ${pool}`,
      {
        consistent: true,
      },
    );
    if (!item) return emptyLedger(pool);
    const { pk: _pk, sk: _sk, ...rest } = item;
    return parseStoredLedger({ ...rest, pool }, `${this.tableName} LEDGER#${pool}`);
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.decision(requestId),
      `reading the decision of request ${requestId}`,
      { consistent: true },
    );
    if (!item) return undefined;
    const { request, decision, decidedAt, tier, explanation, planIssuedAt } = item;
    return parseStoredDecision(
      {
        requestId,
        request,
        decision,
        decidedAt,
        tier,
        explanation,
        ...(planIssuedAt === undefined ? {} : { planIssuedAt }),
      },
      `${this.tableName} REQ#${requestId}`,
    );
  }

  async commitDecision(
    ledger: PoolLedger,
    expectedVersion: number,
    record: DecisionRecord,
  ): Promise<CommitResult> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: this.ledgerPut(ledger, expectedVersion) },
            {
              Put: {
                TableName: this.tableName,
                Item: this.decisionItem(record),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      );
      return { status: "committed" };
    } catch (error) {
      const reasons = cancellationCodes(error);
      if (reasons === undefined) {
        throw dependencyError(
          "DynamoDB",
          `committing the decision of request ${record.requestId}`,
          error,
        );
      }
      // CancellationReasons come in the order of TransactItems: [0] the ledger, [1] the decision.
      if (reasons[1] === "ConditionalCheckFailed") {
        const existing = await this.getDecision(record.requestId);
        if (existing) return { status: "duplicate", existing };
        // Written and gone again (TTL) between the two calls: the ledger decides what to do.
      }
      if (reasons[0] === "ConditionalCheckFailed" || reasons.includes("TransactionConflict")) {
        // Another writer changed the ledger, or (DynamoDB only) was changing it at the same
        // moment: re-read and decide again.
        return { status: "conflict" };
      }
      throw dependencyError(
        "DynamoDB",
        `committing the decision of request ${record.requestId} (cancelled: ${reasons.join(", ")})`,
        error,
      );
    }
  }

  async recordDecision(
    record: DecisionRecord,
  ): Promise<Exclude<CommitResult, { status: "conflict" }>> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.decisionItem(record),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { status: "committed" };
    } catch (error) {
      if (!isConditionFailure(error)) {
        throw dependencyError(
          "DynamoDB",
          `recording the decision of request ${record.requestId}`,
          error,
        );
      }
      const existing = await this.getDecision(record.requestId);
      if (existing) return { status: "duplicate", existing };
      throw new DependencyError(
        "DynamoDB",
        `The decision of request ${record.requestId} existed when it was written and was gone when read back (expired?). Send the request again.`,
        { retryable: true },
      );
    }
  }

  async putLedger(ledger: PoolLedger, expectedVersion: number): Promise<"committed" | "conflict"> {
    try {
      await this.client.send(new PutCommand(this.ledgerPut(ledger, expectedVersion)));
      return "committed";
    } catch (error) {
      if (isConditionFailure(error)) return "conflict";
      throw dependencyError("DynamoDB", `writing the ledger of pool ${ledger.pool}`, error);
    }
  }

  private ledgerPut(ledger: PoolLedger, expectedVersion: number) {
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": expectedVersion },
          };
    return {
      TableName: this.tableName,
      Item: {
        ...keys.ledger(ledger.pool),
        version: expectedVersion + 1,
        capacity: ledger.capacity,
        leases: ledger.leases,
        planIssuedAt: ledger.planIssuedAt,
        fairShareLevel: ledger.fairShareLevel,
        criticalReserve: ledger.criticalReserve,
        dominantFairShare: ledger.dominantFairShare,
        updatedAt: ledger.updatedAt,
      },
      ...condition,
    };
  }

  private decisionItem(record: DecisionRecord): Record<string, unknown> {
    return {
      ...keys.decision(record.requestId),
      request: record.request,
      decision: record.decision,
      decidedAt: record.decidedAt,
      tier: record.tier,
      explanation: record.explanation,
      planIssuedAt: record.planIssuedAt,
      ...keys.requestLog(
        shardOf(record.request.userId, this.options.shardCount),
        this.options.shardCount,
        record.decidedAt,
        record.requestId,
      ),
      expiresAt: Math.floor(record.decidedAt) + this.retentionSeconds,
    };
  }
}

/**
 * The cancellation codes of a cancelled transaction, in item order ("None" for items that
 * passed), or undefined when the error is not a transaction cancellation.
 */
function cancellationCodes(error: unknown): string[] | undefined {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== "TransactionCanceledException") return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? "None");
}
