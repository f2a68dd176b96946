import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { DependencyError } from "../../domain/errors.js";
import type { PolicyChange, PolicySet } from "../../domain/policy.js";
import { parseStoredPolicyChange, parseStoredPolicySet } from "../../domain/policy-schemas.js";
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
    if (!item) return undefined;
    const { version, tiers, updatedAt } = item;
    return parseStoredPolicySet({ version, tiers, updatedAt }, `${this.tableName} POLICY/CURRENT`);
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
    let items: Record<string, unknown>[];
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
      items = result.Items ?? [];
    } catch (error) {
      throw dependencyError("DynamoDB", "reading the policy change log", error);
    }
    return items.map(({ pk: _pk, sk, ...rest }) =>
      parseStoredPolicyChange(rest, `${this.tableName} POLICY/${String(sk)}`),
    );
  }
}
