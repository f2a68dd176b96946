import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { FileUsageStore } from "../../layers/adapters/local/file-usage-store.js";
import { InMemoryUsageStore } from "../../layers/adapters/local/in-memory-usage-store.js";
import type { UsageRecord } from "../../layers/domain/usage.js";
import type { UsageStore } from "../../layers/ports/usage-store.js";
import { createTables, deleteTables } from "../helpers/tables.js";
import { tempDataDir } from "../helpers/temp-data-dir.js";

const aws = createAwsClients();
let tables: TableNames;
beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
});
afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

const T0 = 1_795_000_200; // an interval start (multiple of 300 s)

const adapters: Array<[string, () => UsageStore]> = [
  ["InMemoryUsageStore", () => new InMemoryUsageStore()],
  // A fresh data directory per store, so each test starts from an empty log.
  ["FileUsageStore", () => FileUsageStore.open(tempDataDir())],
  ["DynamoDbUsageStore", () => new DynamoDbUsageStore(aws.documentClient(), tables.usage)],
];

describe.each(adapters)("UsageStore contract: %s", (_name, make) => {
  it("returns a user's records in [from, to), oldest first, keeping missing apart from zero", async () => {
    const store = make();
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const records: UsageRecord[] = [
      { userId: user, pool: "cpu", intervalStart: T0 + 600, usage: { vcpu: 0 } },
      { userId: user, pool: "cpu", intervalStart: T0, usage: { vcpu: 3, memoryGiB: 12 } },
      { userId: user, pool: "cpu", intervalStart: T0 + 300, usage: null },
      { userId: user, pool: "cpu", intervalStart: T0 + 900, usage: { vcpu: 9 } },
      { userId: user, pool: "gpu", intervalStart: T0, usage: { gpu: 1 } },
    ];
    await store.putUsage(records);
    const got = await store.getUsage(user, "cpu", T0, T0 + 900);
    expect(got.map((r) => r.intervalStart)).toEqual([T0, T0 + 300, T0 + 600]);
    expect(got[0]?.usage).toEqual({ vcpu: 3, memoryGiB: 12 });
    expect(got[1]?.usage).toBeNull();
    expect(got[2]?.usage).toEqual({ vcpu: 0 });
  });

  it("is idempotent: writing the same window twice leaves one record per interval", async () => {
    const store = make();
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const record: UsageRecord = {
      userId: user,
      pool: "cpu",
      intervalStart: T0,
      usage: { vcpu: 2 },
      requests: {
        count: 2,
        requested: { vcpu: 4 },
        amountSeconds: { vcpu: 1200 },
        granted: { vcpu: 4 },
        criticalAsked: { vcpu: 2.5, memoryGiB: 16 },
      },
    };
    await store.putUsage([record]);
    await store.putUsage([record]);
    const got = await store.getUsage(user, "cpu", T0 - 3000, T0 + 3000);
    expect(got).toHaveLength(1);
    expect(got[0]?.requests).toEqual(record.requests);
  });

  it("writes more than one batch of records", async () => {
    const store = make();
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const records: UsageRecord[] = Array.from({ length: 60 }, (_, i) => ({
      userId: user,
      pool: "cpu",
      intervalStart: T0 + i * 300,
      usage: { vcpu: i },
    }));
    await store.putUsage(records);
    const got = await store.getUsage(user, "cpu", T0, T0 + 60 * 300);
    expect(got.map((r) => r.usage?.vcpu)).toEqual(records.map((r) => r.usage?.vcpu));
  });

  it("returns pool partials of every shard within the range", async () => {
    const store = make();
    const pool = `p${Math.random().toString(36).slice(2, 8)}`;
    await store.putPoolUsagePartials([
      { pool, intervalStart: T0, shard: 0, usage: { vcpu: 1 }, reportingUsers: 1, missingUsers: 0 },
      {
        pool,
        intervalStart: T0,
        shard: 11,
        usage: { vcpu: 2 },
        reportingUsers: 2,
        missingUsers: 1,
      },
      {
        pool,
        intervalStart: T0 + 300,
        shard: 3,
        usage: { vcpu: 5 },
        reportingUsers: 1,
        missingUsers: 0,
      },
      {
        pool,
        intervalStart: T0 + 600,
        shard: 0,
        usage: { vcpu: 7 },
        reportingUsers: 1,
        missingUsers: 0,
      },
    ]);
    const got = await store.getPoolUsagePartials(pool, T0, T0 + 600);
    expect(got.map((p) => [p.intervalStart - T0, p.shard, p.usage.vcpu])).toEqual([
      [0, 0, 1],
      [0, 11, 2],
      [300, 3, 5],
    ]);
    expect(got[1]?.missingUsers).toBe(1);
  });

  it("keeps pool partials and load in time order whatever the write order, a rewrite replacing its key", async () => {
    const store = make();
    const pool = `p${Math.random().toString(36).slice(2, 8)}`;
    const partial = (at: number, shard: number, vcpu: number) => ({
      pool,
      intervalStart: T0 + at,
      shard,
      usage: { vcpu },
      reportingUsers: 1,
      missingUsers: 0,
    });
    const late = partial(600, 2, 9);
    await store.putPoolUsagePartials([late, partial(0, 5, 1)]);
    await store.putPoolUsagePartials([partial(300, 1, 3), partial(0, 4, 2), partial(600, 2, 8)]);
    late.usage.vcpu = 100; // the caller's object: the store kept its own copy
    const got = await store.getPoolUsagePartials(pool, T0, T0 + 900);
    expect(got.map((p) => [p.intervalStart - T0, p.shard, p.usage.vcpu])).toEqual([
      [0, 4, 2],
      [0, 5, 1],
      [300, 1, 3],
      [600, 2, 8],
    ]);
    const load = (at: number, cpu: number) => ({
      pool,
      intervalStart: T0 + at,
      cpuUtilizationPercent: cpu,
      memoryUtilizationPercent: null,
    });
    await store.putPoolLoad([load(600, 60), load(0, 10)]);
    await store.putPoolLoad([load(300, 30), load(0, 11)]);
    const loads = await store.getPoolLoad(pool, T0 + 1, T0 + 900);
    expect(loads.map((r) => [r.intervalStart - T0, r.cpuUtilizationPercent])).toEqual([
      [300, 30],
      [600, 60],
    ]);
    expect((await store.getPoolLoad(pool, T0, T0 + 300))[0]?.cpuUtilizationPercent).toBe(11);
  });

  it("keeps pool load with missing values as null", async () => {
    const store = make();
    const pool = `p${Math.random().toString(36).slice(2, 8)}`;
    await store.putPoolLoad([
      { pool, intervalStart: T0, cpuUtilizationPercent: 55.5, memoryUtilizationPercent: null },
      { pool, intervalStart: T0 + 300, cpuUtilizationPercent: null, memoryUtilizationPercent: 20 },
    ]);
    const got = await store.getPoolLoad(pool, T0, T0 + 600);
    expect(got).toEqual([
      { pool, intervalStart: T0, cpuUtilizationPercent: 55.5, memoryUtilizationPercent: null },
      { pool, intervalStart: T0 + 300, cpuUtilizationPercent: null, memoryUtilizationPercent: 20 },
    ]);
  });
});
