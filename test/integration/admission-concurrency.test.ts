/**
 * 500 simultaneous admission requests against ONE pool: the sum of capacity granted (grants and
 * booked delays) never exceeds the pool's capacity at any instant, and every request ends with
 * exactly one recorded decision — none lost, none doubled. Run twice: on the DynamoDB adapters
 * against the moto server, and on the in-memory adapters.
 *
 * Why the moto result can be trusted. The test setup serves moto ONE REQUEST AT A TIME
 * (test/helpers/moto_server.py: a non-threaded werkzeug server, HTTP/1.0, one connection per
 * request). moto's TransactWriteItems is not safe under threads: it applies the items one by one
 * and rolls back by restoring a deep copy of the whole table, so on moto's default threaded
 * server a concurrent write could interleave with, or be erased by, a rollback. Served one
 * request at a time, each GetItem and each conditional TransactWriteItems is applied whole
 * before the next starts — exactly the per-call atomicity and isolation DynamoDB guarantees for
 * a conditional write or a transaction, and no more. Everything else still races for real: the
 * 500 clients' reads and commits interleave in arbitrary order at the HTTP level, so a client
 * routinely decides on a ledger that another commits over before it does. What is exercised is
 * therefore our optimistic concurrency (ledger put conditional on the version read + decision
 * put conditional on a new requestId, in one transaction; re-read and redecide on conflict), and
 * the checks below are computed from what was stored — the decision records and a table scan —
 * not from the code under test's own bookkeeping.
 *
 * Conflict retries are counted and logged (the number is reported, not asserted: it depends on
 * scheduling).
 */
import { paginateScan } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { InMemoryAdmissionStore } from "../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../layers/adapters/local/static-config-source.js";
import { worstOverCommit } from "../../layers/domain/admission/ledger.js";
import type { DecisionRecord, PoolLedger } from "../../layers/domain/admission.js";
import type { User } from "../../layers/domain/config.js";
import { DependencyError } from "../../layers/domain/errors.js";
import { RESOURCES } from "../../layers/domain/resources.js";
import type { AdmissionStore } from "../../layers/ports/admission-store.js";
import { type AdmitRequestDeps, admitRequest } from "../../layers/use-cases/admit-request.js";
import { testConfig } from "../fixtures/config.js";
import { type RunningMoto, startMoto } from "../helpers/moto.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const REQUESTS = 500;
/**
 * Moto takes all 500 too. It serves one request at a time and deep-copies the table in every
 * transaction, so 500-way contention takes about two minutes there (its own server, below, so
 * other files' requests are not starved); on DynamoDB it takes milliseconds.
 */
const MOTO_REQUESTS = REQUESTS;
const POOL = "cpu";
const CAPACITY = { vcpu: 64, memoryGiB: 256 };
const TIERS = ["premium", "standard", "standard", "free"] as const;
const USERS: User[] = Array.from({ length: 20 }, (_, i) => ({
  userId: `load-${String(i).padStart(2, "0")}`,
  tier: TIERS[i % TIERS.length] ?? "standard",
}));
const config = testConfig({ users: USERS });

/** The seeded ledger: constant capacity, and warm reservations for two users. */
function seedLedger(now: number): PoolLedger {
  return {
    pool: POOL,
    version: 1,
    capacity: [{ start: now - 3_600, capacity: CAPACITY }],
    leases: [
      {
        leaseId: "warm:load-00:seed",
        userId: "load-00",
        kind: "warm",
        amounts: { vcpu: 8, memoryGiB: 32 },
        startAt: now - 60,
        endAt: now + 3_600,
      },
      {
        leaseId: "warm:load-01:seed",
        userId: "load-01",
        kind: "warm",
        amounts: { vcpu: 6, memoryGiB: 24 },
        startAt: now - 60,
        endAt: now + 3_600,
      },
    ],
    updatedAt: now,
  };
}

/**
 * A deterministic mix of asks (far more than the pool holds): sizes 1–8 vcpu, durations
 * 5–30 min, every criticality, some willing to wait, some taking alternatives.
 */
function workload(runId: string, count = REQUESTS): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const vcpu = 1 + ((i * 7) % 8);
    return {
      requestId: `${runId}-${String(i).padStart(3, "0")}`,
      userId: USERS[(i * 3) % USERS.length]?.userId,
      pool: POOL,
      amounts: { vcpu, memoryGiB: vcpu * 4 },
      durationSeconds: 300 * (1 + (i % 6)),
      criticality: (["normal", "critical", "deferrable", "normal"] as const)[i % 4],
      maxDelaySeconds: [0, 600, 1_800][i % 3],
      acceptAlternatives: i % 5 !== 0,
    };
  });
}

interface RunResult {
  readonly records: DecisionRecord[];
  readonly conflictRetries: number;
  readonly transientRetries: number;
  readonly clientRetries: number;
  readonly mostAttempts: number;
}

/**
 * Sends every request at once, each from its own caller (`depsFor(i)`), and waits for all of
 * them. A caller that gets a retryable DependencyError (HTTP 503) sends the same request again
 * after a pause, as the API tells clients to; idempotency makes that safe. Such client retries
 * are counted and reported.
 */
/** How long a caller keeps retrying a transient error (within the tests' 720 s budget). */
const CLIENT_RETRY_SECONDS = 540;

async function admitAll(
  depsFor: (i: number) => AdmitRequestDeps,
  bodies: Record<string, unknown>[],
): Promise<RunResult> {
  let conflictRetries = 0;
  let transientRetries = 0;
  let clientRetries = 0;
  const attempts = new Map<string, number>();
  // Callers retry transient errors until a deadline, not a count: on a starved machine the
  // emulator can refuse connections for minutes, and this test is about what gets written, not
  // about how fast (a count of 20 ran out once under three other CPU-bound processes).
  const giveUpAt = Date.now() + CLIENT_RETRY_SECONDS * 1000;
  const records = await Promise.all(
    bodies.map(async (body, i) => {
      const deps: AdmitRequestDeps = {
        ...depsFor(i),
        onRetry: ({ reason }) => {
          if (reason === "conflict") conflictRetries++;
          else transientRetries++;
          const id = String(body.requestId);
          attempts.set(id, (attempts.get(id) ?? 1) + 1);
        },
      };
      for (;;) {
        try {
          return await admitRequest(deps, body);
        } catch (error) {
          if (!(error instanceof DependencyError && error.retryable) || Date.now() > giveUpAt) {
            throw error;
          }
          clientRetries++;
          await new Promise((resolve) => setTimeout(resolve, 2_000 * Math.random()));
        }
      }
    }),
  );
  return {
    records,
    conflictRetries,
    transientRetries,
    clientRetries,
    mostAttempts: Math.max(1, ...attempts.values()),
  };
}

/** Grants and booked delays from the records, checked at every instant one of them starts. */
function expectNeverAboveCapacity(records: readonly DecisionRecord[]): void {
  const held = records.flatMap((r) =>
    r.decision.outcome === "grant" || r.decision.outcome === "delay"
      ? [{ amounts: r.request.amounts, startAt: r.decision.startAt, endAt: r.decision.endAt }]
      : [],
  );
  for (const instant of new Set(held.map((h) => h.startAt))) {
    for (const resource of RESOURCES) {
      const total = held
        .filter((h) => h.startAt <= instant && instant < h.endAt)
        .reduce((sum, h) => sum + (h.amounts[resource] ?? 0), 0);
      expect(total, `${resource} at ${instant}`).toBeLessThanOrEqual(
        (CAPACITY[resource as keyof typeof CAPACITY] ?? 0) + 1e-9,
      );
    }
  }
}

async function expectConsistentLedger(
  store: AdmissionStore,
  records: readonly DecisionRecord[],
  now: number,
) {
  const ledger = await store.getLedger(POOL);
  expect(worstOverCommit(ledger, now)).toBeLessThanOrEqual(1e-9);
  const bookedRecords = records.flatMap((r) =>
    r.decision.outcome === "grant" || r.decision.outcome === "delay"
      ? [{ requestId: r.requestId, endAt: r.decision.endAt }]
      : [],
  );
  const booked = new Set(bookedRecords.map((r) => r.requestId));
  const leases = ledger.leases
    .filter((l) => l.kind === "request")
    .map((l) => String(l.requestId))
    .sort();
  // No lease exists without its decision, and none twice.
  expect(leases.filter((id) => !booked.has(id))).toEqual([]);
  expect(new Set(leases).size).toBe(leases.length);
  // Every booked decision still running when the ledger was last written holds its lease. (A
  // decision prunes leases that have ended: on a loaded machine the run outlasts the shortest,
  // 5-minute, leases.)
  const running = bookedRecords
    .filter((r) => r.endAt > ledger.updatedAt)
    .map((r) => r.requestId)
    .sort();
  expect(running.length).toBeGreaterThan(0);
  expect(leases.filter((id) => running.includes(id))).toEqual(running);
}

function outcomes(records: readonly DecisionRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.decision.outcome] = (counts[r.decision.outcome] ?? 0) + 1;
  return counts;
}

describe(`${MOTO_REQUESTS} simultaneous admissions on the DynamoDB adapters (moto, one request at a time)`, () => {
  // A moto server of its own: moto serves one request at a time, and 500 clients hammering the
  // shared one would starve other test files' requests past their connection timeout.
  let dedicated: RunningMoto | undefined;
  let clientEnv: Readonly<Record<string, string | undefined>> = process.env;
  let aws: ReturnType<typeof createAwsClients>;
  let tables: TableNames;
  let configSource: DynamoDbConfigSource;
  let store: DynamoDbAdmissionStore;

  /**
   * One caller = one Lambda invocation: its own SDK clients (so no caller waits in another's
   * connection pool) over the shared tables. The config source is shared and loaded before the
   * burst, as in warm containers; the config is not what this test is about.
   */
  function depsFor(): AdmitRequestDeps {
    // Generous timeouts: moto answers one request at a time, so under 500 callers on a loaded
    // machine a connection can wait in its backlog for many seconds. Waiting is what a caller
    // of a slow server should do; timing out after 3 s only added retries to the queue.
    const client = createAwsClients({
      env: clientEnv,
      connectionTimeoutMs: 60_000,
      requestTimeoutMs: 120_000,
    }).documentClient();
    return {
      config: configSource,
      users: new DynamoDbUserRegistry(client, tables.registry, config.shardCount),
      admissions: new DynamoDbAdmissionStore(client, tables.admission, {
        shardCount: config.shardCount,
      }),
      forecasts: new DynamoDbForecastStore(client, tables.forecasts, config.shardCount),
      policies: new DynamoDbPolicyStore(client, tables.registry),
      clock: systemClock,
    };
  }

  beforeAll(async () => {
    if (inject("awsEndpointIsMoto")) {
      dedicated = await startMoto();
      clientEnv = { ...process.env, AWS_ENDPOINT_URL: dedicated.endpoint };
    }
    aws = createAwsClients({ env: clientEnv });
    tables = await createTables(aws.dynamodb());
    const client = aws.documentClient();
    configSource = new DynamoDbConfigSource(client, tables.registry, systemClock, 3_600);
    await configSource.save(config, Math.floor(Date.now() / 1000));
    await configSource.load();
    await new DynamoDbUserRegistry(client, tables.registry, config.shardCount).putUsers(USERS);
    store = new DynamoDbAdmissionStore(client, tables.admission, { shardCount: config.shardCount });
    expect(await store.putLedger(seedLedger(Math.floor(Date.now() / 1000)), 0)).toBe("committed");
  });

  afterAll(async () => {
    await deleteTables(aws.dynamodb(), tables);
    await dedicated?.stop();
  });

  async function scanDecisionIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of paginateScan(
      { client: aws.documentClient() },
      {
        TableName: tables.admission,
        FilterExpression: "begins_with(pk, :req)",
        ExpressionAttributeValues: { ":req": "REQ#" },
      },
    )) {
      for (const item of page.Items ?? []) ids.push(String(item.pk).slice("REQ#".length));
    }
    return ids.sort();
  }

  // A generous budget, not a timing assertion: on moto every transaction copies the whole table,
  // so 500-way contention takes about two minutes alone and more than five inside a loaded full
  // run (milliseconds on DynamoDB).
  it("never over-allocates and records exactly one decision per request", {
    timeout: 720_000,
  }, async () => {
    const bodies = workload("ddb", MOTO_REQUESTS);
    const startedAt = Math.floor(Date.now() / 1000);
    const run = await admitAll(depsFor, bodies);
    console.info(
      `moto: ${MOTO_REQUESTS} requests → ${JSON.stringify(outcomes(run.records))}; ${run.conflictRetries} conflict retries, ${run.transientRetries} transient retries, ${run.clientRetries} client retries after a 503, at most ${run.mostAttempts} attempts for one request`,
    );
    expect(run.records.map((r) => r.requestId).sort()).toEqual(
      bodies.map((b) => String(b.requestId)).sort(),
    );
    expect(await scanDecisionIds()).toEqual(bodies.map((b) => String(b.requestId)).sort());
    expectNeverAboveCapacity(run.records);
    await expectConsistentLedger(store, run.records, startedAt);
    // The workload asks for far more than the pool holds: capacity must have been contended.
    expect(outcomes(run.records).grant ?? 0).toBeGreaterThan(0);
    expect(run.records.some((r) => r.decision.outcome !== "grant")).toBe(true);

    // The same 500 again, all at once (clients retrying): the same decisions, nothing new written.
    const version = (await store.getLedger(POOL)).version;
    const retry = await admitAll(depsFor, bodies);
    expect(retry.records).toEqual(run.records);
    expect(await scanDecisionIds()).toHaveLength(MOTO_REQUESTS);
    expect((await store.getLedger(POOL)).version).toBe(version);
  });
});

describe("500 simultaneous admissions on the in-memory adapters", () => {
  it("never over-allocates and records exactly one decision per request", async () => {
    const now = Math.floor(Date.now() / 1000);
    const store = new InMemoryAdmissionStore();
    await store.putLedger(seedLedger(now), 0);
    const deps: AdmitRequestDeps = {
      config: new StaticConfigSource(config),
      users: new InMemoryUserRegistry(USERS),
      admissions: store,
      forecasts: new InMemoryForecastStore(),
      policies: new InMemoryPolicyStore(),
      clock: systemClock,
    };
    const bodies = workload("mem");
    const run = await admitAll(() => deps, bodies);
    console.info(
      `in-memory: ${REQUESTS} requests → ${JSON.stringify(outcomes(run.records))}; ${run.conflictRetries} conflict retries, ${run.transientRetries} transient retries, ${run.clientRetries} client retries after a 503, at most ${run.mostAttempts} attempts for one request`,
    );
    expect(
      store
        .allDecisions()
        .map((r) => r.requestId)
        .sort(),
    ).toEqual(bodies.map((b) => String(b.requestId)).sort());
    expectNeverAboveCapacity(run.records);
    await expectConsistentLedger(store, run.records, now);
    expect(run.conflictRetries).toBeGreaterThan(0);
    const retry = await admitAll(() => deps, bodies);
    expect(retry.records).toEqual(run.records);
    expect(store.allDecisions()).toHaveLength(REQUESTS);
  });
});
