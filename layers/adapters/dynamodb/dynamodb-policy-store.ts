import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { DependencyError } from "../../domain/errors.js";
import type { PolicyChange, PolicySet } from "../../domain/policy.js";
import type { PolicyStore } from "../../ports/policy-store.js";
import { dependencyError, isConditionFailure } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys } from "./tables.js";

/** A transaction holds at most 100 items: the policy set plus up to 99 change records. */
const MAX_CHANGES_PER_WRITE = 99;

/**
 * Policies in the registry table: `POLICY/CURRENT` (the set, with `version`) and
 * `POLICY/CHANGE#<at>#<id>` (the log). A new set and its changes are written in one transaction,
 * conditional on the version read, so two adapters never overwrite each other.
 */
export class DynamoDbPolicyStore implements PolicyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getPolicies(): Promise<PolicySet | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.policies(),
      "reading the policies",
    );
    return item
      ? {
          version: Number(item.version),
          tiers: item.tiers as PolicySet["tiers"],
          updatedAt: Number(item.updatedAt),
        }
      : undefined;
  }

  async putPolicies(
    next: PolicySet,
    changes: readonly PolicyChange[],
    expectedVersion: number,
  ): Promise<"committed" | "conflict"> {
    if (changes.length > MAX_CHANGES_PER_WRITE) {
      throw new DependencyError(
        "DynamoDB",
        `Cannot write ${changes.length} policy changes at once; the limit is ${MAX_CHANGES_PER_WRITE}. Adapt fewer tiers per step.`,
        { retryable: false },
      );
    }
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "version = :v",
            ExpressionAttributeValues: { ":v": expectedVersion },
          };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.policies(), ...next },
                ...condition,
              },
            },
            ...changes.map((c) => ({
              Put: {
                TableName: this.tableName,
                Item: { ...keys.policyChange(c.at, c.changeId), ...c },
              },
            })),
          ],
        }),
      );
      return "committed";
    } catch (error) {
      if (isConditionFailure(error)) return "conflict";
      throw dependencyError("DynamoDB", "writing the policies", error);
    }
  }

  async listChanges(limit: number): Promise<PolicyChange[]> {
    try {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": keys.policies().pk, ":prefix": "CHANGE#" },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map(({ pk: _pk, sk: _sk, ...rest }) => rest as PolicyChange);
    } catch (error) {
      throw dependencyError("DynamoDB", "reading the policy change log", error);
    }
  }
}
