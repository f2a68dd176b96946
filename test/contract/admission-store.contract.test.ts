import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { keys, REQUEST_LOG_INDEX, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { FileAdmissionStore } from "../../layers/adapters/local/file-admission-store.js";
import { InMemoryAdmissionStore } from "../../layers/adapters/local/in-memory-admission-store.js";
import { emptyLedger, pruneLedger } from "../../layers/domain/admission/ledger.js";
import type { DecisionRecord, Lease, PoolLedger } from "../../layers/domain/admission.js";
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

  it("holds a pool whose leases outgrow one DynamoDB item (400 KB), and drops expired ones", async () => {
    // dlrm's cpu pool holds ≈ 4,650 live leases (≈ 770 KB as JSON). Here 330 leases with long
    // ids (≈ 430 KB), written 90 at a time (one DynamoDB transaction holds 100 items), then one
    // decision booked on top. (Fewer, larger leases: moto copies the table for every item of a
    // transaction, so its time grows with leases × leases.)
    const store = make();
    const pool = unique("pool");
    const long = (i: number) => `${unique("r")}-${String(i).padStart(4, "0")}`.padEnd(120, "x");
    const lease = (requestId: string, i: number): Lease => ({
      leaseId: `request:${requestId}`.padEnd(1_000, "-"),
      userId: `user-${i % 7}`.padEnd(120, "u"),
      kind: "request",
      amounts: { vcpu: 0.01, memoryGiB: 0.02 },
      startAt: T,
      // Every other lease ends early: the prune below drops those.
      endAt: i % 2 === 0 ? T + 100 : T + 10_000,
      requestId,
    });
    let current = ledger(pool, 0, { leases: [] });
    for (let from = 0; from < 330; from += 90) {
      const added = Array.from({ length: Math.min(90, 330 - from) }, (_, k) =>
        lease(long(from + k), from + k),
      );
      const next = {
        ...current,
        version: current.version + 1,
        leases: [...current.leases, ...added],
      };
      expect(await store.putLedger(next, current.version)).toBe("committed");
      current = next;
    }
    expect(JSON.stringify(current.leases).length).toBeGreaterThan(400_000);
    const requestId = long(330);
    const booked = {
      ...current,
      version: current.version + 1,
      leases: [...current.leases, lease(requestId, 1)],
    };
    expect(await store.commitDecision(booked, current.version, record(requestId, pool))).toEqual({
      status: "committed",
    });
    expect(await store.getLedger(pool)).toEqual(booked);
    // The plan's next write at T + 200: the 165 ended leases go, the rest stay in their order.
    const pruned = {
      ...pruneLedger(booked, T + 200),
      version: booked.version + 1,
      updatedAt: T + 200,
    };
    expect(pruned.leases).toHaveLength(166);
    expect(await store.putLedger(pruned, booked.version)).toBe("committed");
    expect(await store.getLedger(pool)).toEqual(pruned);
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
      ["pk", "sk", "version", "nextSeq", "capacity", "warmLeases", "updatedAt"].sort(),
    );
    // The request lease is an item of its own in the ledger's partition, with a TTL after its end.
    const leaseItem = (
      await aws.documentClient().send(
        new GetCommand({
          TableName: tables.admission,
          Key: keys.ledgerLease(pool, `request:${requestId}`),
        }),
      )
    ).Item;
    expect(leaseItem).toMatchObject({
      seq: 1, // after the warm lease
      kind: "request",
      requestId,
      endAt: T + 600,
      expiresAt: T + 600 + 86_400,
    });
  });
});

describe("DynamoDbAdmissionStore leases", () => {
  const store = () =>
    new DynamoDbAdmissionStore(aws.documentClient(), tables.admission, { shardCount: SHARDS });
  const requestLease = (requestId: string, endAt: number): Lease => ({
    leaseId: `request:${requestId}`,
    userId: "globex",
    kind: "request",
    amounts: { vcpu: 1 },
    startAt: T,
    endAt,
    requestId,
  });

  it("writes over a ledger another instance wrote: leases booked, released early and ended", async () => {
    const [a, b] = [store(), store()];
    const pool = unique("pool");
    const [warm] = ledger(pool, 1).leases;
    const first = ledger(pool, 1, {
      leases: [requestLease("r1", T + 600), warm as Lease, requestLease("r2", T + 100)],
    });
    expect(await a.putLedger(first, 0)).toBe("committed");
    expect(await b.getLedger(pool)).toEqual(first);
    // b releases r1 before its end, drops r2 (ended) and books r3.
    const second = {
      ...first,
      version: 2,
      updatedAt: T + 200,
      leases: [warm as Lease, requestLease("r3", T + 900)],
    };
    expect(await b.commitDecision(second, 1, record("r3", pool))).toEqual({ status: "committed" });
    // a still holds version 1: its write is a conflict, and it reads b's ledger.
    expect(await a.putLedger({ ...first, version: 2 }, 1)).toBe("conflict");
    expect(await a.getLedger(pool)).toEqual(second);
    const items = await aws.documentClient().send(
      new QueryCommand({
        TableName: tables.admission,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.ledger(pool).pk },
      }),
    );
    expect(items.Items?.map((i) => i.sk)).toEqual(["LEASE#request:r3", "LEDGER"]);
  });

  it("refuses a write that changes more leases than one transaction holds, and writes nothing", async () => {
    const s = store();
    const pool = unique("pool");
    const many = Array.from({ length: 99 }, (_, i) => requestLease(`bulk-${i}`, T + 600));
    await expect(s.putLedger(ledger(pool, 1, { leases: many }), 0)).rejects.toThrow(
      /would change 99 leases at once; one DynamoDB transaction holds at most 98/,
    );
    expect(await s.getLedger(pool)).toEqual(emptyLedger(pool));
    expect(await s.putLedger(ledger(pool, 1, { leases: many.slice(0, 98) }), 0)).toBe("committed");
    expect((await store().getLedger(pool)).leases).toEqual(many.slice(0, 98));
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
