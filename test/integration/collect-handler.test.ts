import { type MetricDatum, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetCommand, PutCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as collectPoolsHandler } from "../../functions/collect/pools.js";
import { handler as collectShardHandler } from "../../functions/collect/shard.js";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { keys, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import type { User } from "../../layers/domain/config.js";
import type { Amounts } from "../../layers/domain/resources.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { RequestStats } from "../../layers/domain/usage.js";
import { testConfigInput } from "../fixtures/config.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import { createTables, deleteTables, tableEnv, uniquePrefix } from "../helpers/tables.js";

/**
 * collect end to end against moto: metrics put into CloudWatch and decisions written into the
 * admission table → the collect handlers run in-process → usage rows in DynamoDB.
 *
 * Times are real (the last three complete 5-minute intervals), because CloudWatch keeps only
 * recent datapoints at 1-minute resolution and rejects PutMetricData older than two weeks.
 * Every name carries a unique prefix: moto's CloudWatch is shared by the test files, and it
 * matches dimensions without looking at the namespace.
 */

const aws = createAwsClients();
const prefix = uniquePrefix();
const SHARDS = 2;
const SHARD = 0;
const INTERVAL = 300;
const NOW = Math.floor(Date.now() / 1000);
const END = Math.floor(NOW / INTERVAL) * INTERVAL;
const W = [END - 900, END - 600, END - 300];
const [W0, W1, W2] = W as [number, number, number];
const EVENT = {
  version: "0",
  source: "aws.events",
  "detail-type": "Scheduled Event",
  time: new Date(NOW * 1000).toISOString(),
  shard: SHARD,
};

/** Shard-0 users: 110 of them × (cpu: 2 + gpu: 3 resources) = 550 series, more than one call. */
const SHARD_USERS = 110;
let tables: TableNames;
let users: User[];
let usageStore: DynamoDbUsageStore;
let firstRun: Awaited<ReturnType<typeof collectShardHandler>>;

/**
 * What each shard-0 user (k-th) reports, per pool and interval:
 * - k % 10 == 0: nothing at all (user 0 sends requests, so it has requests but no series);
 * - W0, W1: cpu vcpu samples k and k+2 (Average k+1), memoryGiB 4k; gpu (even k, W0 only);
 * - W2: only users with k % 3 == 0 report, and only cpu vcpu (a partial map).
 */
function expectedUsage(k: number, pool: string, t: number): Amounts | null {
  if (k % 10 === 0) return null;
  if (pool === "cpu") {
    if (t === W2) return k % 3 === 0 ? { vcpu: k + 1 } : null;
    return { vcpu: k + 1, memoryGiB: 4 * k };
  }
  return k % 2 === 0 && t === W0 ? { vcpu: 8, memoryGiB: 64, gpu: 1 } : null;
}

function datums(k: number, userId: string): MetricDatum[] {
  const out: { name: string; pool: string; t: number; value: number }[] = [];
  if (k % 10 === 0) return [];
  for (const t of [W0, W1]) {
    out.push({ name: "vcpu", pool: "cpu", t: t + 10, value: k });
    out.push({ name: "vcpu", pool: "cpu", t: t + 130, value: k + 2 });
    out.push({ name: "memoryGiB", pool: "cpu", t: t + 70, value: 4 * k });
  }
  if (k % 3 === 0) out.push({ name: "vcpu", pool: "cpu", t: W2 + 200, value: k + 1 });
  if (k % 2 === 0) {
    out.push({ name: "vcpu", pool: "gpu", t: W0 + 1, value: 8 });
    out.push({ name: "memoryGiB", pool: "gpu", t: W0 + 1, value: 64 });
    out.push({ name: "gpu", pool: "gpu", t: W0 + 1, value: 1 });
  }
  return out.map((d) => ({
    MetricName: d.name,
    // Published in the order the adapter queries them (moto matches dimensions in order).
    Dimensions: [
      { Name: "UserId", Value: userId },
      { Name: "Pool", Value: d.pool },
    ],
    Timestamp: new Date(d.t * 1000),
    Value: d.value,
  }));
}

async function putMetrics(namespace: string, data: readonly MetricDatum[]) {
  // PutMetricData takes at most 1,000 datums per call.
  for (let i = 0; i < data.length; i += 1_000) await putOne(namespace, data.slice(i, i + 1_000));
}
async function putOne(namespace: string, MetricData: MetricDatum[]) {
  await aws.cloudwatch().send(new PutMetricDataCommand({ Namespace: namespace, MetricData }));
}

/** A decision item as the admission API writes it (docs/data-model.md). */
async function putDecision(
  requestId: string,
  userId: string,
  decidedAt: number,
  request: { pool: string; amounts: Amounts; durationSeconds: number },
  outcome: "grant" | "delay" | "offer" | "reject",
  overrides: Record<string, unknown> = {},
) {
  await aws.documentClient().send(
    new PutCommand({
      TableName: tables.admission,
      Item: {
        ...keys.decision(requestId),
        ...keys.requestLog(shardOf(userId, SHARDS), SHARDS, decidedAt, requestId),
        request: {
          requestId,
          userId,
          ...request,
          criticality: "normal",
          maxDelaySeconds: 600,
          acceptAlternatives: false,
        },
        decision:
          outcome === "reject"
            ? { outcome, reason: "pool full", retryAfterSeconds: 300 }
            : {
                outcome,
                startAt: decidedAt,
                endAt: decidedAt + request.durationSeconds,
                reason: "fits",
              },
        decidedAt,
        tier: "standard",
        explanation: ["integration test"],
        ...overrides,
      },
    }),
  );
}

async function scanUsageTable(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan(
    { client: aws.documentClient() },
    { TableName: tables.usage },
  ))
    items.push(...(page.Items ?? []));
  return items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}

beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
  Object.assign(process.env, tableEnv(tables));
  const base = testConfigInput();
  await new DynamoDbConfigSource(aws.documentClient(), tables.registry, systemClock).save(
    {
      ...base,
      shardCount: SHARDS,
      users: [],
      pools: {
        cpu: { ...base.pools.cpu, ecs: { cluster: `${prefix}-cluster`, service: "cpu-pool" } },
        gpu: { ...base.pools.gpu, ecs: { cluster: `${prefix}-cluster`, service: "gpu-pool" } },
      },
      collect: { namespace: `ShaperTest/${prefix}`, lookbackIntervals: 3 },
    },
    NOW,
  );

  // Users until shard 0 holds SHARD_USERS of them; the other shard's users get no metrics.
  users = [];
  let inShard = 0;
  for (let i = 0; inShard < SHARD_USERS; i++) {
    const userId = `${prefix}-u${i}`;
    users.push({ userId, tier: "standard" });
    if (shardOf(userId, SHARDS) === SHARD) inShard++;
  }
  await new DynamoDbUserRegistry(aws.documentClient(), tables.registry, SHARDS).putUsers(users);
  await putMetrics(
    `ShaperTest/${prefix}`,
    shardUsers().flatMap((u, k) => datums(k, u.userId)),
  );

  const u0 = shardUsers()[0]!.userId;
  const u1 = shardUsers()[1]!.userId;
  await putDecision(
    `${prefix}-r1`,
    u0,
    W1 + 10,
    { pool: "cpu", amounts: { vcpu: 4 }, durationSeconds: 600 },
    "grant",
  );
  await putDecision(
    `${prefix}-r2`,
    u0,
    W1 + 20,
    { pool: "cpu", amounts: { vcpu: 2 }, durationSeconds: 60 },
    "reject",
  );
  await putDecision(
    `${prefix}-r3`,
    u1,
    W0 + 5,
    { pool: "gpu", amounts: { gpu: 1 }, durationSeconds: 600 },
    "delay",
  );
  // In the interval still open: read by a later run, not this one.
  await putDecision(
    `${prefix}-r4`,
    u1,
    END + 1,
    { pool: "cpu", amounts: { vcpu: 1 }, durationSeconds: 60 },
    "grant",
  );
  // Malformed: skipped and counted, never fatal.
  await putDecision(
    `${prefix}-r5`,
    u1,
    W1 + 1,
    { pool: "cpu", amounts: { vcpu: 1 }, durationSeconds: 60 },
    "grant",
    {
      decision: { verdict: "yes" },
    },
  );

  usageStore = new DynamoDbUsageStore(aws.documentClient(), tables.usage);
  firstRun = await collectShardHandler(EVENT, lambdaContext("collect-shard"));
}, 300_000);

afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

function shardUsers(): User[] {
  return users.filter((u) => shardOf(u.userId, SHARDS) === SHARD);
}

describe("collect shard handler against moto", () => {
  it("reads more than 500 series in several GetMetricData calls and reports what it wrote", () => {
    const missing = shardUsers().reduce(
      (n, _u, k) =>
        n +
        ["cpu", "gpu"].reduce(
          (m, pool) => m + W.filter((t) => expectedUsage(k, pool, t) === null).length,
          0,
        ),
      0,
    );
    expect(firstRun).toMatchObject({
      shard: SHARD,
      shardCount: SHARDS,
      window: { start: W0, end: END, intervalSeconds: INTERVAL },
      users: SHARD_USERS,
      records: SHARD_USERS * 2 * 3,
      missingRecords: missing,
      requestsFolded: 3,
      partials: 2 * 3,
      reads: { metricQueries: SHARD_USERS * 5, failedSeries: 0, malformedLogItems: 1 },
    });
    expect(firstRun.reads.getMetricDataCalls).toBeGreaterThanOrEqual(2);
  });

  it("stores every user's usage per pool and interval with the values CloudWatch aggregated", async () => {
    for (const [k, user] of shardUsers().entries()) {
      for (const pool of ["cpu", "gpu"]) {
        const rows = await usageStore.getUsage(user.userId, pool, W0, END);
        expect(rows.map((r) => [r.intervalStart, r.usage])).toEqual(
          W.map((t) => [t, expectedUsage(k, pool, t)]),
        );
      }
    }
  });

  it("stores an interval with no datapoints as missing, not as zeros", async () => {
    const k = shardUsers().findIndex((_u, i) => i % 3 !== 0 && i % 10 !== 0);
    const user = shardUsers()[k]!;
    const item = (
      await aws
        .documentClient()
        .send(new GetCommand({ TableName: tables.usage, Key: keys.usage("cpu", user.userId, W2) }))
    ).Item;
    expect(item?.missing).toBe(true);
    expect(item).not.toHaveProperty("usage");
    expect(item?.requests).toEqual({ count: 0, requested: {}, amountSeconds: {}, granted: {} });
  });

  it("folds the request log into the records, also for a user without any metric series", async () => {
    const [u0, u1] = shardUsers() as [User, User];
    const [cpuW0, cpuW1] = await usageStore.getUsage(u0.userId, "cpu", W0, W2);
    expect(cpuW1?.usage).toBeNull();
    expect(cpuW1?.requests).toEqual<RequestStats>({
      count: 2,
      requested: { vcpu: 6 },
      amountSeconds: { vcpu: 4 * 600 + 2 * 60 },
      granted: { vcpu: 4 },
    });
    expect(cpuW0?.requests?.count).toBe(0);
    const [gpuW0] = await usageStore.getUsage(u1.userId, "gpu", W0, W1);
    expect(gpuW0?.usage).toBeNull(); // k = 1 is odd: no gpu series
    expect(gpuW0?.requests).toEqual<RequestStats>({
      count: 1,
      requested: { gpu: 1 },
      amountSeconds: { gpu: 600 },
      granted: { gpu: 1 },
    });
  });

  it("writes the shard's pool sums over reporting users and counts the missing ones", async () => {
    const partials = await usageStore.getPoolUsagePartials("cpu", W0, END);
    expect(partials.map((p) => p.intervalStart)).toEqual(W);
    for (const partial of partials) {
      const cells = shardUsers().map((_u, k) => expectedUsage(k, "cpu", partial.intervalStart));
      const present = cells.filter((c): c is Amounts => c !== null);
      expect(partial.shard).toBe(SHARD);
      expect(partial.reportingUsers).toBe(present.length);
      expect(partial.missingUsers).toBe(cells.length - present.length);
      expect(partial.usage.vcpu).toBeCloseTo(
        present.reduce((s, c) => s + (c.vcpu ?? 0), 0),
        6,
      );
      const memory = present.filter((c) => c.memoryGiB !== undefined);
      expect(partial.usage.memoryGiB).toBe(
        memory.length === 0 ? undefined : memory.reduce((s, c) => s + (c.memoryGiB ?? 0), 0),
      );
    }
  });

  it("changes nothing when the same window is collected again", async () => {
    const before = await scanUsageTable();
    expect(before.length).toBeGreaterThan(SHARD_USERS * 2 * 3);
    const again = await collectShardHandler(
      { ...EVENT, time: new Date((NOW + 1) * 1000).toISOString() },
      lambdaContext(),
    );
    expect(again.window).toEqual(firstRun.window);
    expect(await scanUsageTable()).toEqual(before);
  });

  it("rejects an event without a valid shard and writes nothing", async () => {
    const before = await scanUsageTable();
    await expect(
      collectShardHandler({ time: EVENT.time, shard: -1 }, lambdaContext()),
    ).rejects.toThrow(/shard/);
    await expect(
      collectShardHandler({ time: EVENT.time, shard: SHARDS }, lambdaContext()),
    ).rejects.toThrow(/not a shard/);
    await expect(
      collectShardHandler({ time: "yesterday", shard: 0 }, lambdaContext()),
    ).rejects.toThrow(/time/);
    expect(await scanUsageTable()).toEqual(before);
  });
});

describe("collect pools handler against moto", () => {
  it("stores each pool's ECS CPU and memory utilisation per interval, null where ECS reported nothing", async () => {
    const dims = (service: string) => [
      { Name: "ClusterName", Value: `${prefix}-cluster` },
      { Name: "ServiceName", Value: service },
    ];
    await putOne("AWS/ECS", [
      {
        MetricName: "CPUUtilization",
        Dimensions: dims("cpu-pool"),
        Timestamp: new Date((W0 + 60) * 1000),
        Value: 30,
      },
      {
        MetricName: "CPUUtilization",
        Dimensions: dims("cpu-pool"),
        Timestamp: new Date((W0 + 120) * 1000),
        Value: 50,
      },
      {
        MetricName: "MemoryUtilization",
        Dimensions: dims("cpu-pool"),
        Timestamp: new Date((W0 + 60) * 1000),
        Value: 70,
      },
      {
        MetricName: "CPUUtilization",
        Dimensions: dims("cpu-pool"),
        Timestamp: new Date((W2 + 60) * 1000),
        Value: 90,
      },
    ]);
    const result = await collectPoolsHandler(
      { time: EVENT.time, id: "evt-1", resources: [] },
      lambdaContext(),
    );
    expect(result).toMatchObject({ pools: 2, records: 6, missingRecords: 5 });
    const cpu = await usageStore.getPoolLoad("cpu", W0, END);
    expect(
      cpu.map((r) => [r.intervalStart, r.cpuUtilizationPercent, r.memoryUtilizationPercent]),
    ).toEqual([
      [W0, 40, 70],
      [W1, null, null],
      [W2, 90, null],
    ]);
    const gpu = await usageStore.getPoolLoad("gpu", W0, END);
    expect(gpu.map((r) => [r.cpuUtilizationPercent, r.memoryUtilizationPercent])).toEqual([
      [null, null],
      [null, null],
      [null, null],
    ]);
  });
});
