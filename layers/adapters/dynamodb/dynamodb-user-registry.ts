import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { type User, UserSchema } from "../../domain/config.js";
import { ValidationError } from "../../domain/errors.js";
import { shardOf } from "../../domain/sharding.js";
import type { UserRegistry } from "../../ports/user-registry.js";
import { batchPut } from "./batch-write.js";
import { dependencyError } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys, shardKeyOf, USERS_BY_SHARD_INDEX } from "./tables.js";

/**
 * Users in the registry table: `USER#<id>/PROFILE`, indexed by shard through the sparse GSI
 * `usersByShard` (`shardKey` = `SHARD#<count>#<n>`, sort `userId`).
 */
export class DynamoDbUserRegistry implements UserRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Shard count the index is written for; must match the config's `shardCount`. */
    private readonly shardCount: number,
  ) {}

  async getUser(userId: string): Promise<User | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.user(userId),
      `reading user ${userId}`,
    );
    return item ? toUser(item) : undefined;
  }

  async putUsers(users: readonly User[]): Promise<void> {
    const items = users.map((user) => ({
      ...keys.user(user.userId),
      shardKey: shardKeyOf(shardOf(user.userId, this.shardCount), this.shardCount),
      ...UserSchema.parse(user),
    }));
    await batchPut(this.client, this.tableName, items);
  }

  async *listUsersInShard(shard: number, shardCount: number): AsyncIterable<readonly User[]> {
    const pages = paginateQuery(
      { client: this.client, pageSize: 500 },
      {
        TableName: this.tableName,
        IndexName: USERS_BY_SHARD_INDEX,
        KeyConditionExpression: "shardKey = :s",
        ExpressionAttributeValues: { ":s": shardKeyOf(shard, shardCount) },
      },
    );
    try {
      for await (const page of pages) {
        const users = (page.Items ?? []).map(toUser);
        if (users.length > 0) yield users;
      }
    } catch (error) {
      throw dependencyError("DynamoDB", `listing users of shard ${shard}/${shardCount}`, error);
    }
  }
}

function toUser(item: Record<string, unknown>): User {
  const { pk: _pk, sk: _sk, shardKey: _shardKey, ...rest } = item;
  const parsed = UserSchema.safeParse(rest);
  if (!parsed.success) {
    throw new ValidationError(
      `Stored user item ${String(item.pk)} is malformed: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}
