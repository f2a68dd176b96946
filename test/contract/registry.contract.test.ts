import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { ManualClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbPlanStore } from "../../layers/adapters/dynamodb/dynamodb-plan-store.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { InMemoryPlanStore } from "../../layers/adapters/local/in-memory-plan-store.js";
import { InMemoryPolicyStore } from "../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../layers/adapters/local/in-memory-user-registry.js";
import type { User } from "../../layers/domain/config.js";
import { ConfigError } from "../../layers/domain/errors.js";
import type { PoolPlan } from "../../layers/domain/plan.js";
import type { PolicySet } from "../../layers/domain/policy.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { PlanStore } from "../../layers/ports/plan-store.js";
import type { PolicyStore } from "../../layers/ports/policy-store.js";
import type { UserRegistry } from "../../layers/ports/user-registry.js";
import { testConfigInput } from "../fixtures/config.js";
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

describe.each<[string, () => UserRegistry]>([
  ["InMemoryUserRegistry", () => new InMemoryUserRegistry()],
  [
    "DynamoDbUserRegistry",
    () => new DynamoDbUserRegistry(aws.documentClient(), tables.registry, SHARDS),
  ],
])("UserRegistry contract: %s", (_name, make) => {
  it("finds users by id and lists each user in exactly the shard shardOf names", async () => {
    const registry = make();
    const prefix = Math.random().toString(36).slice(2, 8);
    const users: User[] = Array.from({ length: 40 }, (_, i) => ({
      userId: `${prefix}-user-${i}`,
      tier: i % 2 ? "standard" : "premium",
      ...(i === 3 ? { pools: ["cpu"], cap: { vcpu: 4 } } : {}),
    }));
    await registry.putUsers(users);
    expect(await registry.getUser(`${prefix}-user-3`)).toEqual(users[3]);
    expect(await registry.getUser(`${prefix}-nobody`)).toBeUndefined();
    const seen: string[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      for await (const page of registry.listUsersInShard(shard, SHARDS)) {
        for (const user of page) {
          if (!user.userId.startsWith(prefix)) continue;
          expect(shardOf(user.userId, SHARDS)).toBe(shard);
          seen.push(user.userId);
        }
      }
    }
    expect(seen.sort()).toEqual(users.map((u) => u.userId).sort());
  });
});

function plan(pool: string, issuedAt: number): PoolPlan {
  return {
    pool,
    issuedAt,
    intervalSeconds: 300,
    currentTasks: 2,
    intervals: [
      {
        start: issuedAt,
        demand: { vcpu: 10 },
        guaranteed: { vcpu: 2 },
        warm: {},
        targetTasks: 3,
        capacity: { vcpu: 12, memoryGiB: 48 },
        fairShareLevel: { vcpu: 1.5 },
        reason: "demand 10 vcpu at q0.9 + headroom",
      },
    ],
    scaling: [{ at: issuedAt + 120, tasks: 3, reason: "scale ahead" }],
    warmReservations: [],
    notableAllocations: [],
    costUsd: 0.05,
  };
}

describe.each<[string, () => PlanStore]>([
  ["InMemoryPlanStore", () => new InMemoryPlanStore()],
  ["DynamoDbPlanStore", () => new DynamoDbPlanStore(aws.documentClient(), tables.plans)],
])("PlanStore contract: %s", (_name, make) => {
  it("returns the latest plan of a pool and nothing for an unplanned pool", async () => {
    const store = make();
    const pool = `p${Math.random().toString(36).slice(2, 8)}`;
    await store.putPlan(plan(pool, 1_795_000_200));
    await store.putPlan(plan(pool, 1_795_000_800));
    await store.putPlan(plan(pool, 1_795_000_500));
    expect((await store.getLatestPlan(pool))?.issuedAt).toBe(1_795_000_800);
    expect(await store.getLatestPlan(`${pool}-none`)).toBeUndefined();
    expect((await store.getLatestPlan(pool))?.intervals[0]?.reason).toBe(
      "demand 10 vcpu at q0.9 + headroom",
    );
  });
});

describe.each<[string, () => PolicyStore]>([
  ["InMemoryPolicyStore", () => new InMemoryPolicyStore()],
  [
    "DynamoDbPolicyStore",
    () => new DynamoDbPolicyStore(aws.documentClient(), `${tables.registry}`),
  ],
])("PolicyStore contract: %s", (_name, make) => {
  it("commits only on the expected version and logs each change", async () => {
    const store = make();
    const before = await store.getPolicies();
    const v0 = before?.version ?? 0;
    const next: PolicySet = {
      version: v0 + 1,
      tiers: { premium: { forecastQuantile: 0.95, headroomFraction: 0.25 } },
      updatedAt: 1_795_000_000 + v0,
    };
    const change = {
      changeId: `c${v0 + 1}`,
      tier: "premium",
      before: { forecastQuantile: 0.95, headroomFraction: 0.2 },
      after: { forecastQuantile: 0.95, headroomFraction: 0.25 },
      cause: "guarantee misses 3 > 0 in the last day",
      at: 1_795_000_000 + v0,
      version: v0 + 1,
      // What the next adaptation judges the change by: it must come back as written.
      slo: { kind: "raise" as const, grantNowRate: 0.9425 },
    };
    expect(await store.putPolicies(next, [change], v0)).toBe("committed");
    expect(await store.putPolicies({ ...next, version: v0 + 2 }, [], v0)).toBe("conflict");
    expect(await store.getPolicies()).toEqual(next);
    const log = await store.listChanges(10);
    expect(log[0]).toEqual(change);
  });
});

describe("DynamoDbConfigSource", () => {
  it("stores a validated config and loads it back with defaults filled in", async () => {
    const source = new DynamoDbConfigSource(
      aws.documentClient(),
      tables.registry,
      new ManualClock(1_795_000_000),
      0,
    );
    await source.save(testConfigInput(), 1_795_000_000);
    const loaded = await source.load();
    expect(loaded.pools.gpu?.alternatives).toEqual(["cpu"]);
    expect(loaded.quantiles).toContain(0.99);
  });

  it("refuses to store an invalid config and says which field is wrong", async () => {
    const source = new DynamoDbConfigSource(
      aws.documentClient(),
      tables.registry,
      new ManualClock(1_795_000_000),
      0,
    );
    await expect(source.save({ ...testConfigInput(), intervalSeconds: 7 }, 1)).rejects.toThrowError(
      /intervalSeconds/,
    );
  });

  it("explains how to fix a missing config", async () => {
    const empty = await createTables(aws.dynamodb());
    try {
      const source = new DynamoDbConfigSource(
        aws.documentClient(),
        empty.registry,
        new ManualClock(0),
      );
      await expect(source.load()).rejects.toBeInstanceOf(ConfigError);
      await expect(source.load()).rejects.toThrowError(/shaper config push/);
    } finally {
      await deleteTables(aws.dynamodb(), empty);
    }
  });
});
