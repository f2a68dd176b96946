import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { PoolPlan } from "../../domain/plan.js";
import type { PlanStore } from "../../ports/plan-store.js";
import { dependencyError } from "./errors.js";
import { keys } from "./tables.js";

/** How long plans are kept, in seconds. */
export const PLAN_RETENTION_SECONDS = 7 * 86_400;

/** Plans in the plans table: `PLAN#<pool>` / `<issuedAt>`, the whole plan in attribute `plan`. */
export class DynamoDbPlanStore implements PlanStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionSeconds = PLAN_RETENTION_SECONDS,
  ) {}

  async putPlan(plan: PoolPlan): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.plan(plan.pool, plan.issuedAt),
            plan,
            expiresAt: Math.floor(plan.issuedAt) + this.retentionSeconds,
          },
        }),
      );
    } catch (error) {
      throw dependencyError("DynamoDB", `storing the plan of pool ${plan.pool}`, error);
    }
  }

  async getLatestPlan(pool: string): Promise<PoolPlan | undefined> {
    try {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.plan(pool, 0).pk },
          ScanIndexForward: false,
          Limit: 1,
        }),
      );
      return result.Items?.[0]?.plan as PoolPlan | undefined;
    } catch (error) {
      throw dependencyError("DynamoDB", `reading the latest plan of pool ${pool}`, error);
    }
  }
}
