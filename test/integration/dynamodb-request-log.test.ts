import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import {
  DynamoDbRequestLog,
  type MalformedLogItem,
} from "../../layers/adapters/dynamodb/dynamodb-request-log.js";
import { keys, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { shardOf } from "../../layers/domain/sharding.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const aws = createAwsClients();
let tables: TableNames;
beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
});
afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

const SHARDS = 4;
const MIDNIGHT = 1_795_824_000; // 2026-11-28 00:00:00 UTC, a day boundary
let seq = 0;

/** A decision item as the admission API writes it (docs/data-model.md, admission table). */
async function putDecision(
  userId: string,
  decidedAt: number,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const requestId = `req-${++seq}`;
  const shard = shardOf(userId, SHARDS);
  await aws.documentClient().send(
    new PutCommand({
      TableName: tables.admission,
      Item: {
        ...keys.decision(requestId),
        ...keys.requestLog(shard, SHARDS, decidedAt, requestId),
        request: {
          requestId,
          userId,
          pool: "cpu",
          amounts: { vcpu: 2, memoryGiB: 4 },
          durationSeconds: 600,
          criticality: "deferrable",
          maxDelaySeconds: 3_600,
          acceptAlternatives: true,
        },
        decision: {
          outcome: "delay",
          startAt: decidedAt + 60,
          endAt: decidedAt + 660,
          reason: "r",
        },
        decidedAt,
        tier: "standard",
        explanation: ["test"],
        ...overrides,
      },
    }),
  );
  return requestId;
}

/** Two users in different shards. */
function usersInDifferentShards(): [string, string] {
  const first = `log-${Math.random().toString(36).slice(2)}`;
  for (let i = 0; ; i++) {
    const other = `${first}-${i}`;
    if (shardOf(other, SHARDS) !== shardOf(first, SHARDS)) return [first, other];
  }
}

describe("DynamoDbRequestLog", () => {
  it("returns a shard's requests received in [from, to), across a UTC day boundary, oldest first", async () => {
    const [user, otherShardUser] = usersInDifferentShards();
    const shard = shardOf(user, SHARDS);
    const before = await putDecision(user, MIDNIGHT - 301); // too early
    const lateYesterday = await putDecision(user, MIDNIGHT - 300);
    const lastSecond = await putDecision(user, MIDNIGHT - 1);
    const today = await putDecision(user, MIDNIGHT + 299);
    await putDecision(user, MIDNIGHT + 300); // `to` is exclusive
    await putDecision(otherShardUser, MIDNIGHT); // another shard's partition

    const log = new DynamoDbRequestLog(aws.documentClient(), tables.admission);
    const entries = await log.listRequests(shard, SHARDS, MIDNIGHT - 300, MIDNIGHT + 300);

    expect(entries.map((e) => e.requestId)).toEqual([lateYesterday, lastSecond, today]);
    expect(entries.map((e) => e.requestId)).not.toContain(before);
    expect(entries[0]).toEqual({
      requestId: lateYesterday,
      userId: user,
      pool: "cpu",
      amounts: { vcpu: 2, memoryGiB: 4 },
      durationSeconds: 600,
      receivedAt: MIDNIGHT - 300,
      outcome: "delay",
      tier: "standard",
      criticality: "deferrable",
    });
  });

  it("reads every page of a busy day", async () => {
    const [user] = usersInDifferentShards();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await putDecision(user, MIDNIGHT + 3_600 + i));
    const log = new DynamoDbRequestLog(aws.documentClient(), tables.admission, { pageSize: 2 });
    const entries = await log.listRequests(
      shardOf(user, SHARDS),
      SHARDS,
      MIDNIGHT + 3_600,
      MIDNIGHT + 3_900,
    );
    expect(entries.filter((e) => e.userId === user).map((e) => e.requestId)).toEqual(ids);
  });

  it("skips and reports a malformed decision item instead of failing the run", async () => {
    const [user] = usersInDifferentShards();
    const t = MIDNIGHT + 7_200;
    const good = await putDecision(user, t);
    const bad = await putDecision(user, t + 1, { decision: { outcome: "maybe" } });
    const bad2 = await putDecision(user, t + 2, { request: { userId: user } });
    const malformed: MalformedLogItem[] = [];
    const log = new DynamoDbRequestLog(aws.documentClient(), tables.admission, {
      onMalformedItem: (item) => malformed.push(item),
    });
    const entries = await log.listRequests(shardOf(user, SHARDS), SHARDS, t, t + 300);
    expect(entries.map((e) => e.requestId)).toEqual([good]);
    expect(malformed.map((m) => m.pk)).toEqual([`REQ#${bad}`, `REQ#${bad2}`]);
    expect(malformed[0]?.issues.map((i) => i.field)).toEqual(["decision.outcome"]);
    expect(malformed[1]?.issues.map((i) => i.field)).toContain("request.amounts");
  });

  it("returns nothing for an empty window", async () => {
    const log = new DynamoDbRequestLog(aws.documentClient(), tables.admission);
    expect(await log.listRequests(0, SHARDS, MIDNIGHT, MIDNIGHT)).toEqual([]);
  });
});
