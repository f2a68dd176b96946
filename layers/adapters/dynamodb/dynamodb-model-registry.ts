import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../domain/errors.js";
import type { ModelRecord } from "../../domain/model-registry.js";
import { parseModelRecord } from "../../domain/retrain/model-record-schema.js";
import {
  missingModelVersion,
  promotedModelOverwrite,
  rejectedModelPromotion,
} from "../../domain/retrain/registry-errors.js";
import type { ModelRegistry } from "../../ports/model-registry.js";
import { dependencyError, isConditionFailure } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys } from "./tables.js";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/**
 * The model registry in the registry table: `MODEL#<name>/CURRENT` (the pointer: `version`) and
 * `MODEL#<name>/VERSION#<version>` (one record per trained version). Promotion is one
 * TransactWriteItems: the pointer moves only if it still names the expected version, the new
 * version becomes "promoted" (never a "rejected" one) and the replaced version "retired".
 */
export class DynamoDbModelRegistry implements ModelRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getCurrent(modelName: string): Promise<ModelRecord | undefined> {
    const pointer = await getItem(
      this.client,
      this.tableName,
      keys.modelCurrent(modelName),
      `reading the current version of model ${modelName}`,
      { consistent: true },
    );
    const version = pointer?.version;
    if (version === undefined) return undefined;
    const record = await this.getVersion(modelName, String(version));
    if (!record) throw missingModelVersion(modelName, String(version));
    return record;
  }

  async getVersion(modelName: string, version: string): Promise<ModelRecord | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.modelVersion(modelName, version),
      `reading model ${modelName} version ${version}`,
      { consistent: true },
    );
    return item ? toRecord(item) : undefined;
  }

  async putVersion(record: ModelRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.modelVersion(record.modelName, record.version), ...record },
          // Only promote() changes the record of the promoted version.
          ConditionExpression: "attribute_not_exists(pk) OR #status <> :promoted",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":promoted": "promoted" },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw promotedModelOverwrite(record);
      throw dependencyError(
        "DynamoDB",
        `writing model ${record.modelName} version ${record.version}`,
        error,
      );
    }
  }

  async promote(
    modelName: string,
    version: string,
    expectedCurrent: string | undefined,
  ): Promise<"promoted" | "conflict"> {
    const pointer: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: keys.modelCurrent(modelName),
        UpdateExpression:
          expectedCurrent === undefined
            ? "SET version = :v"
            : "SET version = :v, previousVersion = :expected",
        ...(expectedCurrent === undefined
          ? {
              ConditionExpression: "attribute_not_exists(pk)",
              ExpressionAttributeValues: { ":v": version },
            }
          : {
              ConditionExpression: "version = :expected",
              ExpressionAttributeValues: { ":v": version, ":expected": expectedCurrent },
            }),
      },
    };
    const promoted: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: keys.modelVersion(modelName, version),
        UpdateExpression: "SET #status = :promoted",
        ConditionExpression: "attribute_exists(pk) AND #status <> :rejected",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":promoted": "promoted", ":rejected": "rejected" },
      },
    };
    const retire = expectedCurrent !== undefined && expectedCurrent !== version;
    const retired: TransactItem[] = retire
      ? [
          {
            Update: {
              TableName: this.tableName,
              Key: keys.modelVersion(modelName, expectedCurrent),
              UpdateExpression: "SET #status = :retired",
              ConditionExpression: "attribute_exists(pk)",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":retired": "retired" },
            },
          },
        ]
      : [];
    try {
      await this.client.send(
        new TransactWriteCommand({ TransactItems: [pointer, promoted, ...retired] }),
      );
      return "promoted";
    } catch (error) {
      if (!isConditionFailure(error)) {
        throw dependencyError("DynamoDB", `promoting model ${modelName} version ${version}`, error);
      }
      const failed = failedItems(error);
      if (failed.includes(0)) return "conflict";
      if (failed.includes(1)) {
        const record = await this.getVersion(modelName, version);
        if (!record) throw missingModelVersion(modelName, version);
        throw rejectedModelPromotion(record);
      }
      // Only the retirement failed: the pointer named a version with no record.
      throw missingModelVersion(modelName, expectedCurrent ?? "(none)");
    }
  }
}

/** Indexes of the transaction items whose condition failed. */
function failedItems(error: unknown): number[] {
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  if (!reasons) return [0];
  return reasons.flatMap((r, i) => (r.Code === "ConditionalCheckFailed" ? [i] : []));
}

function toRecord(item: Record<string, unknown>): ModelRecord {
  const { pk, sk: _sk, ...rest } = item;
  try {
    return parseModelRecord(rest);
  } catch (error) {
    throw new ValidationError(
      `Stored model registry item ${String(pk)} is malformed: ${(error as Error).message}. Expected a ModelRecord; rewrite it with putVersion.`,
    );
  }
}
