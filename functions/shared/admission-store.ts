import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  DynamoDbAdmissionStore,
  type DynamoDbAdmissionStoreOptions,
} from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";

const stores = new WeakMap<DynamoDBDocumentClient, Map<string, DynamoDbAdmissionStore>>();

/**
 * The admission store of a warm function instance, kept across invocations for the same client,
 * table and options. It remembers each pool's ledger as it last read or wrote it, so a read that
 * finds the ledger at that version skips the Query of its lease items (docs/data-model.md).
 */
export function admissionStoreFor(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: DynamoDbAdmissionStoreOptions,
): DynamoDbAdmissionStore {
  let byKey = stores.get(client);
  if (byKey === undefined) {
    byKey = new Map();
    stores.set(client, byKey);
  }
  const key = JSON.stringify([tableName, options.shardCount, options.decisionRetentionSeconds]);
  let store = byKey.get(key);
  if (store === undefined) {
    store = new DynamoDbAdmissionStore(client, tableName, options);
    byKey.set(key, store);
  }
  return store;
}
