import { setTimeout as sleep } from "node:timers/promises";
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { DependencyError } from "../../domain/errors.js";
import { dependencyError } from "./errors.js";

/** DynamoDB's limit of items per BatchWriteItem call. */
const BATCH_LIMIT = 25;
const MAX_ROUNDS = 8;

type WriteRequest =
  | { readonly PutRequest: { readonly Item: Record<string, unknown> } }
  | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

/**
 * Puts items in batches of 25, resending unprocessed items with exponential backoff and full
 * jitter. Puts are whole-item replacements keyed by their keys, so resending is idempotent.
 *
 * @throws DependencyError when DynamoDB fails or items stay unprocessed after 8 rounds.
 */
export async function batchPut(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  await batchWrite(
    client,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

/**
 * Deletes items by key in batches of 25, as `batchPut` puts them (deleting twice is harmless).
 *
 * @throws DependencyError when DynamoDB fails or keys stay unprocessed after 8 rounds.
 */
export async function batchDelete(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
): Promise<void> {
  await batchWrite(
    client,
    tableName,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

async function batchWrite(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH_LIMIT) {
    let pending: WriteRequest[] = requests.slice(i, i + BATCH_LIMIT);
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_ROUNDS) {
        throw new DependencyError(
          "DynamoDB",
          `${pending.length} items to ${tableName} stayed unprocessed after ${MAX_ROUNDS} rounds (throttled). Retry the run; writes are idempotent.`,
          { retryable: true },
        );
      }
      if (round > 0) await sleep(Math.random() * Math.min(2_000, 50 * 2 ** round));
      let result: BatchWriteCommandOutput;
      try {
        result = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
        );
      } catch (error) {
        throw dependencyError("DynamoDB", `writing ${pending.length} items to ${tableName}`, error);
      }
      const unprocessed = result.UnprocessedItems?.[tableName] ?? [];
      pending = unprocessed.flatMap((r): WriteRequest[] => {
        if (r.PutRequest?.Item) return [{ PutRequest: { Item: r.PutRequest.Item } }];
        if (r.DeleteRequest?.Key) return [{ DeleteRequest: { Key: r.DeleteRequest.Key } }];
        return [];
      });
    }
  }
}
