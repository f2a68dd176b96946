import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { ManualClock } from "../../layers/adapters/clock.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { DynamoDbUsageStore } from "../../layers/adapters/dynamodb/dynamodb-usage-store.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { InMemoryForecastStore } from "../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../layers/adapters/local/static-config-source.js";
import { DependencyError } from "../../layers/domain/errors.js";
import type { UsageRecord } from "../../layers/domain/usage.js";
import { type AdmitRequestDeps, admitRequest } from "../../layers/use-cases/admit-request.js";
import { testConfig } from "../fixtures/config.js";
import { createTables, deleteTables } from "../helpers/tables.js";

/**
 * DynamoDB throttling and transient faults, injected into the real SDK clients that talk to moto
 * (moto never throttles and never leaves items unprocessed): a middleware below the SDK's retry
 * step fails chosen calls the way DynamoDB does. The SDK retries them with backoff and jitter,
 * the use case retries what outlasts the SDK, and no failure leaves half a write behind.
 */

const config = testConfig();
const NOW = 1_795_000_200;
let tables: TableNames;

/** The error DynamoDB answers when a table or partition is over its throughput. */
function throttled(): Error {
  return Object.assign(new Error("The level of configured provisioned throughput was exceeded"), {
    name: "ProvisionedThroughputExceededException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

function internalError(): Error {
  return Object.assign(new Error("Internal server error"), {
    name: "InternalServerError",
    $fault: "server",
    $metadata: { httpStatusCode: 500 },
  });
}

type Handler = (args: { request: { body?: unknown } }) => Promise<{ output: unknown }>;
type AddMiddleware = (
  middleware: (next: Handler, context: { commandName?: string }) => Handler,
  options: { step: "deserialize"; name: string },
) => void;

/**
 * A document client (from the factory, so it reaches moto) whose calls of commands matching a
 * pattern fail while `plan` says so. The middleware sits in the deserialize step, inside the SDK's
 * retry loop, so every attempt of the SDK meets it.
 */
function faultyClient() {
  const aws = createAwsClients();
  const client = aws.documentClient();
  const calls: string[] = [];
  const faults: {
    pattern: RegExp;
    /** Attempts still to fail; Infinity fails until cleared. */
    remaining: number;
    error?: () => Error;
    /** BatchWriteItem: answer every item as unprocessed instead of failing. */
    unprocessed?: boolean;
  }[] = [];
  (client.middlewareStack as unknown as { add: AddMiddleware }).add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      calls.push(command);
      const fault = faults.find((f) => f.pattern.test(command) && f.remaining > 0);
      if (!fault) return next(args);
      fault.remaining--;
      if (fault.unprocessed) {
        const { RequestItems } = JSON.parse(String(args.request.body)) as {
          RequestItems: unknown;
        };
        // An HTTP answer for the SDK's deserializer, which runs around this middleware.
        return {
          output: undefined,
          response: {
            statusCode: 200,
            headers: { "content-type": "application/x-amz-json-1.0" },
            body: Buffer.from(JSON.stringify({ UnprocessedItems: RequestItems })),
          },
        } as { output: unknown };
      }
      throw (fault.error ?? throttled)();
    },
    { step: "deserialize", name: "injectFaults" },
  );
  return {
    client,
    calls,
    fail(pattern: RegExp, times: number, error?: () => Error) {
      faults.push({ pattern, remaining: times, ...(error ? { error } : {}) });
    },
    leaveUnprocessed(times: number) {
      faults.push({ pattern: /BatchWrite/, remaining: times, unprocessed: true });
    },
    clear() {
      faults.length = 0;
    },
    count: (pattern: RegExp) => calls.filter((c) => pattern.test(c)).length,
  };
}

async function admissionWorld(pool: string) {
  const faulty = faultyClient();
  const admissions = new DynamoDbAdmissionStore(faulty.client, tables.admission, {
    shardCount: config.shardCount,
  });
  await admissions.putLedger(
    {
      pool,
      version: 0,
      capacity: [{ start: NOW - 3_600, capacity: { vcpu: 64, memoryGiB: 256 } }],
      leases: [],
      updatedAt: NOW - 3_600,
    },
    0,
  );
  const sleeps: number[] = [];
  const deps: AdmitRequestDeps = {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(config.users),
    admissions,
    forecasts: new InMemoryForecastStore(),
    policies: new InMemoryPolicyStore(),
    clock: new ManualClock(NOW),
    maxAttempts: 3,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  };
  return { faulty, admissions, deps, sleeps };
}

const body = (requestId: string, pool: string) => ({
  requestId,
  userId: "globex",
  pool,
  amounts: { vcpu: 4, memoryGiB: 8 },
  durationSeconds: 600,
});

beforeAll(async () => {
  tables = await createTables(createAwsClients().dynamodb());
});

afterAll(async () => {
  await deleteTables(createAwsClients().dynamodb(), tables);
});

describe("DynamoDB throttling and transient errors (faults)", () => {
  it("retries a throttled decision commit inside the SDK and commits it exactly once", async () => {
    // The pool name is unique per test: moto's tables are shared by the tests of this file.
    const { faulty, admissions, deps } = await admissionWorld("cpu");
    faulty.fail(/TransactWrite/, 2);
    faulty.fail(/GetItem/, 1, internalError);
    const record = await admitRequest(deps, body("throttled-once", "cpu"));
    expect(record.decision.outcome).toBe("grant");
    // Two throttled attempts and the one that went through, all within one SDK call.
    expect(faulty.count(/TransactWrite/)).toBe(3);
    const ledger = await admissions.getLedger("cpu");
    expect(ledger.version).toBe(2);
    expect(ledger.leases.filter((l) => l.requestId === "throttled-once")).toHaveLength(1);
    expect((await admissions.getDecision("throttled-once"))?.decision).toEqual(record.decision);
  });

  it("fails retryably with nothing written when throttling outlasts every retry, then decides once when it ends", async () => {
    const { faulty, admissions, deps, sleeps } = await admissionWorld("gpu");
    faulty.fail(/TransactWrite|PutItem/, Number.POSITIVE_INFINITY);
    const error = await admitRequest(deps, body("throttled-long", "gpu")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/ProvisionedThroughputExceededException/);
    // The SDK tried 3 times per attempt, the use case made 3 attempts with growing, jittered waits.
    expect(faulty.count(/TransactWrite/)).toBe(9);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBeGreaterThan(sleeps[0] as number);
    // Nothing half-written: no decision, the ledger as it was.
    expect(await admissions.getDecision("throttled-long")).toBeUndefined();
    const before = await admissions.getLedger("gpu");
    expect(before).toMatchObject({ version: 1, leases: [] });

    faulty.clear();
    const record = await admitRequest(deps, body("throttled-long", "gpu"));
    expect(record.decision.outcome).toBe("grant");
    const again = await admitRequest(deps, body("throttled-long", "gpu"));
    expect(again).toEqual(record);
    const after = await admissions.getLedger("gpu");
    expect(after.version).toBe(2);
    expect(after.leases.filter((l) => l.requestId === "throttled-long")).toHaveLength(1);
  });

  it("keeps a committed write when deleting its ended leases fails; the next write deletes them", async () => {
    const { faulty, admissions } = await admissionWorld("ended-cleanup");
    const lease = (id: string, endAt: number) => ({
      leaseId: `request:${id}`,
      userId: "globex",
      kind: "request" as const,
      amounts: { vcpu: 1 },
      startAt: NOW,
      endAt,
      requestId: id,
    });
    const first = await admissions.getLedger("ended-cleanup");
    const booked = {
      ...first,
      leases: [lease("ends-soon", NOW + 60), lease("runs-on", NOW + 3_600)],
    };
    expect(await admissions.putLedger(booked, first.version)).toBe("committed");
    // The plan's next write drops the ended lease; deleting its item outlasts the SDK's retries.
    faulty.fail(/BatchWrite/, Number.POSITIVE_INFINITY, internalError);
    const pruned = { ...booked, leases: [lease("runs-on", NOW + 3_600)], updatedAt: NOW + 120 };
    expect(await admissions.putLedger(pruned, first.version + 1)).toBe("committed");
    faulty.clear();
    // The ended lease's item is still there: a reader sees it, ended (and prunes it as any).
    const read = await admissions.getLedger("ended-cleanup");
    expect(read.version).toBe(first.version + 2);
    expect(read.leases.map((l) => l.requestId).sort()).toEqual(["ends-soon", "runs-on"]);
    // The next write, of the ledger without it, deletes it.
    expect(await admissions.putLedger({ ...pruned, updatedAt: NOW + 180 }, read.version)).toBe(
      "committed",
    );
    const after = await new DynamoDbAdmissionStore(
      createAwsClients().documentClient(),
      tables.admission,
      {
        shardCount: config.shardCount,
      },
    ).getLedger("ended-cleanup");
    expect(after.leases.map((l) => l.requestId)).toEqual(["runs-on"]);
  });

  it("resends items DynamoDB left unprocessed until every one is written, none twice", async () => {
    const faulty = faultyClient();
    const store = new DynamoDbUsageStore(faulty.client, tables.usage);
    const records: UsageRecord[] = Array.from({ length: 60 }, (_, i) => ({
      userId: `user-${i % 6}`,
      pool: "cpu",
      intervalStart: NOW - 300 * Math.floor(i / 6),
      usage: i % 7 === 0 ? null : { vcpu: i, memoryGiB: 2 * i },
    }));
    faulty.leaveUnprocessed(2);
    await store.putUsage(records);
    // 60 items are three batches; the first was answered "unprocessed" twice, then resent.
    expect(faulty.count(/BatchWrite/)).toBe(5);
    for (const user of ["user-0", "user-3"]) {
      const stored = await store.getUsage(user, "cpu", NOW - 3_000, NOW + 300);
      const expected = records
        .filter((r) => r.userId === user)
        .sort((a, b) => a.intervalStart - b.intervalStart);
      expect(stored.map((r) => [r.intervalStart, r.usage])).toEqual(
        expected.map((r) => [r.intervalStart, r.usage]),
      );
    }
  });

  it("fails a usage write retryably when throttling outlasts the SDK's retries, and a rerun completes it", async () => {
    const faulty = faultyClient();
    const store = new DynamoDbUsageStore(faulty.client, tables.usage);
    const records: UsageRecord[] = Array.from({ length: 30 }, (_, i) => ({
      userId: `rerun-${i % 3}`,
      pool: "gpu",
      intervalStart: NOW - 300 * Math.floor(i / 3),
      usage: { gpu: i },
    }));
    faulty.fail(/BatchWrite/, Number.POSITIVE_INFINITY);
    const error = await store.putUsage(records).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retryable).toBe(true);
    faulty.clear();
    await store.putUsage(records);
    const stored = await store.getUsage("rerun-1", "gpu", NOW - 3_000, NOW + 300);
    expect(stored.map((r) => r.usage?.gpu)).toEqual([28, 25, 22, 19, 16, 13, 10, 7, 4, 1]);
  });
});
