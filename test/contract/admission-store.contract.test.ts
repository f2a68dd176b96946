import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { keys, REQUEST_LOG_INDEX, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { FileAdmissionStore } from "../../layers/adapters/local/file-admission-store.js";
import { InMemoryAdmissionStore } from "../../layers/adapters/local/in-memory-admission-store.js";
import type { DecisionRecord, PoolLedger } from "../../layers/domain/admission.js";
import { shardOf } from "../../layers/domain/sharding.js";
import type { AdmissionStore } from "../../layers/ports/admission-store.js";
import { createTables, deleteTables } from "../helpers/tables.js";
import { tempDataDir } from "../helpers/temp-data-dir.js";

// One suite, two adapters: the in-memory store and the DynamoDB store against moto.
const aws = createAwsClients();
let tables: TableNames;
beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
});
afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

const SHARDS = 4;
const T = 1_795_000_200;

function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

function ledger(pool: string, version: number, partial: Partial<PoolLedger> = {}): PoolLedger {
  return {
    pool,
    version,
    capacity: [{ start: T - 300, capacity: { vcpu: 16, memoryGiB: 64 } }],
    leases: [
      {
        leaseId: "warm:acme:1",
        userId: "acme",
        kind: "warm",
        amounts: { vcpu: 2 },
        startAt: T,
        endAt: T + 300,
      },
    ],
    updatedAt: T,
    ...partial,
  };
}

function record(
  requestId: string,
  pool: string,
  partial: Partial<DecisionRecord> = {},
): DecisionRecord {
  return {
    requestId,
    request: {
      requestId,
      userId: "globex",
      pool,
      amounts: { vcpu: 4, memoryGiB: 8 },
      durationSeconds: 600,
      criticality: "normal",
      maxDelaySeconds: 600,
      acceptAlternatives: true,
    },
    decision: { outcome: "grant", startAt: T, endAt: T + 600, reason: "fits now" },
    decidedAt: T,
    tier: "standard",
    explanation: ["forecast: none (cold start)", "rule 2 (fits now)"],
    planIssuedAt: T - 300,
    ...partial,
  };
}

function withLease(l: PoolLedger, requestId: string): PoolLedger {
  return {
    ...l,
    version: l.version + 1,
    leases: [
      ...l.leases,
      {
        leaseId: `request:${requestId}`,
        userId: "globex",
        kind: "request",
        amounts: { vcpu: 4, memoryGiB: 8 },
        startAt: T,
        endAt: T + 600,
        requestId,
      },
    ],
  };
}

describe.each<[string, () => AdmissionStore]>([
  ["InMemoryAdmissionStore", () => new InMemoryAdmissionStore()],
  // A fresh data directory per store, so each test starts from an empty log.
  ["FileAdmissionStore", () => FileAdmissionStore.open(tempDataDir())],
  [
    "DynamoDbAdmissionStore",
    () =>
      new DynamoDbAdmissionStore(aws.documentClient(), tables.admission, { shardCount: SHARDS }),
  ],
])("AdmissionStore contract: %s", (_name, make) => {
  it("reads a never-written ledger as version 0 with no capacity and no leases", async () => {
    const pool = unique("pool");
    expect(await make().getLedger(pool)).toEqual({
      pool,
      version: 0,
      capacity: [],
      leases: [],
      updatedAt: 0,
    });
  });

  it("writes a ledger only on the expected version and stores version + 1", async () => {
    const store = make();
    const pool = unique("pool");
    expect(await store.putLedger(ledger(pool, 1, { fairShareLevel: { vcpu: 2 } }), 0)).toBe(
      "committed",
    );
    expect(await store.putLedger(ledger(pool, 1), 0)).toBe("conflict");
    const read = await store.getLedger(pool);
    expect(read).toEqual(ledger(pool, 1, { fairShareLevel: { vcpu: 2 } }));
    const reserved = { planIssuedAt: T, criticalReserve: { vcpu: 12.5, memoryGiB: 40 } };
    expect(await store.putLedger(ledger(pool, 2, reserved), 1)).toBe("committed");
    expect(await store.putLedger(ledger(pool, 2), 1)).toBe("conflict");
    expect(await store.getLedger(pool)).toEqual(ledger(pool, 2, reserved));
  });

  it("keeps a ledger's dominant-resource fair share (rounds and capacity)", async () => {
    const store = make();
    const pool = unique("pool");
    const dominantFairShare = {
      rounds: [
        { level: 0.25, saturated: ["vcpu" as const] },
        { level: 0.5, saturated: ["memoryGiB" as const, "gpu" as const] },
      ],
      capacity: { vcpu: 16, memoryGiB: 64, gpu: 2 },
    };
    expect(await store.putLedger(ledger(pool, 1, { dominantFairShare }), 0)).toBe("committed");
    expect(await store.getLedger(pool)).toEqual(ledger(pool, 1, { dominantFairShare }));
  });

  it("commits a decision with its ledger change and reads both back", async () => {
    const store = make();
    const pool = unique("pool");
    await store.putLedger(ledger(pool, 1), 0);
    const requestId = unique("req");
    const next = withLease(await store.getLedger(pool), requestId);
    expect(await store.commitDecision(next, 1, record(requestId, pool))).toEqual({
      status: "committed",
    });
    expect(await store.getDecision(requestId)).toEqual(record(requestId, pool));
    expect(await store.getLedger(pool)).toEqual({ ...next, version: 2 });
  });

  it("reports a conflict on a stale version and writes neither the ledger nor the decision", async () => {
    const store = make();
    const pool = unique("pool");
    await store.putLedger(ledger(pool, 1), 0);
    await store.putLedger(ledger(pool, 2, { updatedAt: T + 5 }), 1);
    const requestId = unique("req");
    const stale = withLease(ledger(pool, 1), requestId);
    expect(await store.commitDecision(stale, 1, record(requestId, pool))).toEqual({
      status: "conflict",
    });
    expect(await store.getDecision(requestId)).toBeUndefined();
    expect(await store.getLedger(pool)).toEqual(ledger(pool, 2, { updatedAt: T + 5 }));
  });

  it("reports a duplicate with the stored decision and leaves the ledger alone", async () => {
    const store = make();
    const pool = unique("pool");
    const requestId = unique("req");
    await store.commitDecision(withLease(ledger(pool, 0), requestId), 0, record(requestId, pool));
    const again = record(requestId, pool, {
      decidedAt: T + 9,
      decision: { outcome: "reject", reason: "other", retryAfterSeconds: 5 },
    });
    const current = await store.getLedger(pool);
    const result = await store.commitDecision(withLease(current, "other"), current.version, again);
    expect(result).toEqual({ status: "duplicate", existing: record(requestId, pool) });
    expect(await store.getLedger(pool)).toEqual(current);
    // Stale ledger AND existing decision: still a duplicate (the retry is answered, not redone).
    const both = await store.commitDecision(withLease(current, "x"), 0, again);
    expect(both.status).toBe("duplicate");
  });

  it("records a decision that takes no capacity without touching the ledger, once", async () => {
    const store = make();
    const pool = unique("pool");
    await store.putLedger(ledger(pool, 1), 0);
    const requestId = unique("req");
    const rejected = record(requestId, pool, {
      decision: { outcome: "reject", reason: "full", retryAfterSeconds: 60 },
    });
    expect(await store.recordDecision(rejected)).toEqual({ status: "committed" });
    expect(await store.getDecision(requestId)).toEqual(rejected);
    expect(await store.getLedger(pool)).toEqual(ledger(pool, 1));
    const again = await store.recordDecision({ ...rejected, decidedAt: T + 60 });
    expect(again).toEqual({ status: "duplicate", existing: rejected });
    // A commit that takes capacity for the same id is a duplicate too, and writes nothing.
    const dup = await store.commitDecision(
      withLease(ledger(pool, 1), requestId),
      1,
      record(requestId, pool),
    );
    expect(dup.status).toBe("duplicate");
    expect((await store.getLedger(pool)).version).toBe(1);
  });

  it("keeps a decision without planIssuedAt and every decision variant intact", async () => {
    const store = make();
    const pool = unique("pool");
    const variants: DecisionRecord["decision"][] = [
      { outcome: "delay", startAt: T + 60, endAt: T + 660, reason: "wait" },
      {
        outcome: "offer",
        alternative: {
          kind: "other-pool",
          pool: "gpu",
          amounts: { vcpu: 4 },
          startAt: T,
          durationSeconds: 600,
        },
        etaSeconds: 0,
        reason: "other pool",
      },
      { outcome: "reject", reason: "full", retryAfterSeconds: 120 },
    ];
    for (const [i, decision] of variants.entries()) {
      const requestId = unique(`req${i}`);
      const current = await store.getLedger(pool);
      const { planIssuedAt: _p, ...rest } = record(requestId, pool, { decision });
      expect((await store.commitDecision(current, current.version, rest)).status).toBe("committed");
      expect(await store.getDecision(requestId)).toEqual(rest);
    }
    expect((await store.getLedger(pool)).version).toBe(variants.length);
  });
});

describe("DynamoDbAdmissionStore items", () => {
  it("stores the decision with the attributes and request-log keys collect reads", async () => {
    const store = new DynamoDbAdmissionStore(aws.documentClient(), tables.admission, {
      shardCount: SHARDS,
      decisionRetentionSeconds: 7_200,
    });
    const pool = unique("pool");
    const requestId = unique("req");
    await store.commitDecision(withLease(ledger(pool, 0), requestId), 0, record(requestId, pool));
    const item = (
      await aws
        .documentClient()
        .send(new GetCommand({ TableName: tables.admission, Key: keys.decision(requestId) }))
    ).Item;
    const logKeys = keys.requestLog(shardOf("globex", SHARDS), SHARDS, T, requestId);
    expect(Object.keys(item ?? {}).sort()).toEqual(
      [
        "pk",
        "sk",
        "request",
        "decision",
        "decidedAt",
        "tier",
        "explanation",
        "planIssuedAt",
        "logPk",
        "logSk",
        "expiresAt",
      ].sort(),
    );
    expect(item).toMatchObject({ ...logKeys, expiresAt: T + 7_200, tier: "standard" });
    const viaIndex = await aws.documentClient().send(
      new QueryCommand({
        TableName: tables.admission,
        IndexName: REQUEST_LOG_INDEX,
        KeyConditionExpression: "logPk = :pk",
        ExpressionAttributeValues: { ":pk": logKeys.logPk },
      }),
    );
    expect(viaIndex.Items?.map((i) => i.pk)).toContain(`REQ#${requestId}`);
    const ledgerItem = (
      await aws
        .documentClient()
        .send(new GetCommand({ TableName: tables.admission, Key: keys.ledger(pool) }))
    ).Item;
    expect(Object.keys(ledgerItem ?? {}).sort()).toEqual(
      ["pk", "sk", "version", "capacity", "leases", "updatedAt"].sort(),
    );
  });
});

describe("InMemoryAdmissionStore as the request log", () => {
  it("lists the decisions of a shard received in a window, with tier and criticality", async () => {
    const store = new InMemoryAdmissionStore();
    const pool = unique("pool");
    const users = ["acme", "globex", "initech", "hooli"];
    for (const [i, userId] of users.entries()) {
      const requestId = `req-${i}`;
      const base = record(requestId, pool, { decidedAt: T + i * 100 });
      const current = await store.getLedger(pool);
      await store.commitDecision(current, current.version, {
        ...base,
        request: { ...base.request, userId },
      });
    }
    const seen: string[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      for (const entry of await store.listRequests(shard, SHARDS, T, T + 300)) {
        expect(shardOf(entry.userId, SHARDS)).toBe(shard);
        expect(entry).toMatchObject({ tier: "standard", criticality: "normal", outcome: "grant" });
        seen.push(entry.userId);
      }
    }
    expect(seen.sort()).toEqual(["acme", "globex", "initech"]);
  });

  it("lists decisions recorded out of time order by when they were decided, within the window", async () => {
    const store = new InMemoryAdmissionStore();
    const pool = unique("pool");
    for (const [i, offset] of [300, 100, 200, 100, 0].entries()) {
      await store.recordDecision(record(`late-${i}`, pool, { decidedAt: T + offset }));
    }
    const listed = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      listed.push(...(await store.listRequests(shard, SHARDS, T + 100, T + 300)));
    }
    expect(listed.map((e) => [e.requestId, e.receivedAt])).toEqual([
      ["late-1", T + 100],
      ["late-3", T + 100],
      ["late-2", T + 200],
    ]);
  });
});
