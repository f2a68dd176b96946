import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import type { DecisionRecord, PoolLedger } from "../../../layers/domain/admission.js";
import {
  ConflictError,
  DependencyError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from "../../../layers/domain/errors.js";
import type { Forecast } from "../../../layers/domain/forecast.js";
import type { AdmissionStore, CommitResult } from "../../../layers/ports/admission-store.js";
import {
  type AdmitRequestDeps,
  admitRequest,
  getRequestStatus,
} from "../../../layers/use-cases/admit-request.js";
import { testConfig } from "../../fixtures/config.js";

const T = 1_795_000_200;
const config = testConfig();

function capacity(pool: string, vcpu: number, partial: Partial<PoolLedger> = {}): PoolLedger {
  return {
    pool,
    version: 1,
    capacity: [{ start: T - 3_600, capacity: { vcpu, memoryGiB: vcpu * 4, gpu: vcpu / 8 } }],
    leases: [],
    updatedAt: T - 3_600,
    ...partial,
  };
}

async function setup(overrides: Partial<AdmitRequestDeps> = {}) {
  const admissions = new InMemoryAdmissionStore();
  await admissions.putLedger(capacity("cpu", 16), 0);
  await admissions.putLedger(capacity("gpu", 16), 0);
  const forecasts = new InMemoryForecastStore();
  const policies = new InMemoryPolicyStore();
  const sleeps: number[] = [];
  const deps: AdmitRequestDeps = {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(config.users),
    admissions,
    forecasts,
    policies,
    clock: new ManualClock(T),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  };
  return { deps, admissions, forecasts, policies, sleeps };
}

function body(partial: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    requestId: "req-1",
    userId: "globex",
    pool: "cpu",
    amounts: { vcpu: 4, memoryGiB: 8 },
    durationSeconds: 600,
    ...partial,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

describe("admitRequest: decisions", () => {
  it("grants a request that fits and stores the decision with the lease it takes", async () => {
    const { deps, admissions } = await setup();
    const record = await admitRequest(deps, body());
    expect(record.decision).toMatchObject({ outcome: "grant", startAt: T, endAt: T + 600 });
    expect(record).toMatchObject({ requestId: "req-1", decidedAt: T, tier: "standard" });
    expect(await admissions.getDecision("req-1")).toEqual(record);
    const ledger = await admissions.getLedger("cpu");
    expect(ledger.leases.map((l) => l.requestId)).toEqual(["req-1"]);
    expect(ledger.version).toBe(2);
  });

  it("fills in defaults from the config: maxDelaySeconds by criticality, alternatives unless critical", async () => {
    const { deps } = await setup();
    const normal = await admitRequest(deps, body({ requestId: "n" }));
    expect(normal.request).toMatchObject({
      criticality: "normal",
      maxDelaySeconds: config.admission.defaultMaxDelaySeconds.normal,
      acceptAlternatives: true,
    });
    const critical = await admitRequest(deps, body({ requestId: "c", criticality: "critical" }));
    expect(critical.request).toMatchObject({ maxDelaySeconds: 0, acceptAlternatives: false });
    const deferrable = await admitRequest(
      deps,
      body({ requestId: "d", criticality: "deferrable", maxDelaySeconds: 5 }),
    );
    expect(deferrable.request.maxDelaySeconds).toBe(5);
  });

  it("serves a registered user without history from a cold start and says so", async () => {
    const { deps } = await setup();
    const record = await admitRequest(deps, body());
    expect(record.explanation[0]).toMatch(/cold start/);
  });

  it("reads the user's forecast at the quantile the policy sets for the tier", async () => {
    const { deps, forecasts, policies } = await setup();
    const forecast: Forecast = {
      pool: "cpu",
      userId: "globex",
      issuedAt: T - 60,
      start: T,
      intervalSeconds: 300,
      horizon: 1,
      byResource: { vcpu: { mean: [3], quantiles: { "0.9": [5], "0.95": [7] } } },
      model: "seasonal-naive",
      modelVersion: "v3",
    };
    await forecasts.putForecasts([forecast]);
    await policies.putPolicies(
      {
        version: 1,
        tiers: { standard: { forecastQuantile: 0.95, headroomFraction: 0.1 } },
        updatedAt: T,
      },
      [],
      0,
    );
    const record = await admitRequest(deps, body());
    expect(record.explanation[0]).toMatch(/footprint 7 vcpu at q0.95/);
  });

  it("delays when the pool is full now and frees up within the user's maxDelaySeconds", async () => {
    const { deps, admissions } = await setup();
    await admissions.putLedger(
      capacity("cpu", 16, {
        version: 2,
        leases: [
          {
            leaseId: "request:other",
            userId: "hooli",
            kind: "request",
            amounts: { vcpu: 14 },
            startAt: T - 10,
            endAt: T + 200,
            requestId: "other",
          },
        ],
      }),
      1,
    );
    const record = await admitRequest(deps, body({ maxDelaySeconds: 300 }));
    expect(record.decision).toMatchObject({ outcome: "delay", startAt: T + 200 });
    const status = await getRequestStatus(deps, "req-1");
    expect(status).toMatchObject({ queuePosition: 1, estimatedStartAt: T + 200 });
  });
});

describe("admitRequest: bad input writes nothing", () => {
  async function expectNothingWritten(admissions: InMemoryAdmissionStore) {
    expect(admissions.allDecisions()).toEqual([]);
    expect((await admissions.getLedger("cpu")).version).toBe(1);
  }

  it("rejects a malformed body with 400 issues naming each field", async () => {
    const { deps, admissions } = await setup();
    const error = await rejection(
      admitRequest(deps, body({ amounts: { vcpu: -1 }, durationSeconds: "soon", extra: 1 })),
    );
    expect(error).toBeInstanceOf(ValidationError);
    const fields = (error as ValidationError).issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(["amounts.vcpu", "durationSeconds"]));
    expect((error as ValidationError).message).toMatch(/amounts\.vcpu/);
    await expectNothingWritten(admissions);
  });

  it("rejects an empty body and an ask for nothing", async () => {
    const { deps, admissions } = await setup();
    expect(await rejection(admitRequest(deps, undefined))).toBeInstanceOf(ValidationError);
    const nothing = await rejection(admitRequest(deps, body({ amounts: { vcpu: 0 } })));
    expect((nothing as ValidationError).issues[0]?.field).toBe("amounts");
    await expectNothingWritten(admissions);
  });

  it("rejects a resource the pool does not offer, naming amounts.<resource>", async () => {
    const { deps, admissions } = await setup();
    const error = await rejection(admitRequest(deps, body({ amounts: { vcpu: 1, gpu: 1 } })));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { field: "amounts.gpu", message: expect.stringMatching(/does not offer gpu/) },
    ]);
    await expectNothingWritten(admissions);
  });

  it("answers 404 for an unknown user and for an unknown pool, naming them", async () => {
    const { deps, admissions } = await setup();
    const user = await rejection(admitRequest(deps, body({ userId: "nobody" })));
    expect(user).toBeInstanceOf(NotFoundError);
    expect((user as Error).message).toMatch(/User "nobody" is not registered/);
    const pool = await rejection(admitRequest(deps, body({ pool: "tpu" })));
    expect(pool).toBeInstanceOf(NotFoundError);
    expect((pool as Error).message).toMatch(
      /Pool "tpu" is not configured. Expected one of: cpu, gpu/,
    );
    await expectNothingWritten(admissions);
  });

  it("refuses a pool the user does not draw from and a caller acting for another user", async () => {
    const { deps, admissions } = await setup();
    const pool = await rejection(admitRequest(deps, body({ userId: "initech", pool: "gpu" })));
    expect(pool).toBeInstanceOf(ForbiddenError);
    const caller = await rejection(admitRequest(deps, body(), { userId: "acme" }));
    expect(caller).toBeInstanceOf(ForbiddenError);
    expect(admissions.allDecisions()).toEqual([]);
  });
});

describe("admitRequest: idempotency", () => {
  it("returns the stored decision unchanged on a retry with the same body", async () => {
    const { deps, admissions } = await setup();
    const first = await admitRequest(deps, body());
    (deps.clock as ManualClock).advance(30);
    const again = await admitRequest(deps, body({ maxDelaySeconds: 600 }));
    expect(again).toEqual(first);
    expect((await admissions.getLedger("cpu")).leases).toHaveLength(1);
  });

  it("answers 409 when the same requestId comes with a different body", async () => {
    const { deps, admissions } = await setup();
    await admitRequest(deps, body());
    const error = await rejection(admitRequest(deps, body({ amounts: { vcpu: 5 } })));
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/already used for a different request/);
    expect(admissions.allDecisions()).toHaveLength(1);
  });
});

/** A store whose first `conflicts` commits lose a race, as if another writer got there first. */
class RacingStore implements AdmissionStore {
  commits = 0;
  constructor(
    private readonly inner: InMemoryAdmissionStore,
    private conflicts: number,
    private readonly sneakIn?: () => Promise<void>,
  ) {}
  getLedger(pool: string) {
    return this.inner.getLedger(pool);
  }
  getDecision(requestId: string) {
    return this.inner.getDecision(requestId);
  }
  putLedger(ledger: PoolLedger, expected: number) {
    return this.inner.putLedger(ledger, expected);
  }
  recordDecision(record: DecisionRecord) {
    return this.inner.recordDecision(record);
  }
  async commitDecision(
    ...args: Parameters<AdmissionStore["commitDecision"]>
  ): Promise<CommitResult> {
    this.commits++;
    if (this.conflicts > 0) {
      this.conflicts--;
      await this.sneakIn?.();
      return { status: "conflict" };
    }
    return this.inner.commitDecision(...args);
  }
}

describe("admitRequest: optimistic concurrency", () => {
  it("re-reads and decides again after a conflict, backing off with jitter", async () => {
    const { deps, admissions, sleeps } = await setup();
    const racing = new RacingStore(admissions, 2);
    const retries: string[] = [];
    const record = await admitRequest(
      {
        ...deps,
        admissions: racing,
        onRetry: (e) => retries.push(`${e.reason} ${e.attempt}`),
      },
      body(),
    );
    expect(record.decision.outcome).toBe("grant");
    expect(racing.commits).toBe(3);
    expect(retries).toEqual(["conflict 1", "conflict 2"]);
    // random() = 0.5 → half of 10 ms, then half of 20 ms.
    expect(sleeps).toEqual([5, 10]);
    expect(record.explanation.at(-1)).toMatch(/attempt 3/);
  });

  it("decides on the ledger as changed by the winner of the race", async () => {
    const { deps, admissions } = await setup();
    const winner = async () => {
      const ledger = await admissions.getLedger("cpu");
      await admissions.putLedger(
        {
          ...ledger,
          leases: [
            {
              leaseId: "request:winner",
              userId: "hooli",
              kind: "request",
              amounts: { vcpu: 14 },
              startAt: T,
              endAt: T + 900,
              requestId: "winner",
            },
          ],
        },
        ledger.version,
      );
    };
    const record = await admitRequest(
      { ...deps, admissions: new RacingStore(admissions, 1, winner) },
      body({ maxDelaySeconds: 0, acceptAlternatives: false }),
    );
    expect(record.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: 900 });
  });

  it("gives up with a retryable DependencyError after the last attempt", async () => {
    const { deps, admissions } = await setup();
    const racing = new RacingStore(admissions, 100);
    const error = await rejection(
      admitRequest({ ...deps, admissions: racing, maxAttempts: 4 }, body()),
    );
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retryable).toBe(true);
    expect(racing.commits).toBe(4);
    expect(admissions.allDecisions()).toEqual([]);
  });

  it("stops retrying when the time budget is spent, before maxAttempts", async () => {
    const clock = new ManualClock(T);
    const { deps, admissions } = await setup({
      clock,
      // Each pause moves the clock on by what it waited, as real time would.
      sleep: async (ms) => clock.advance(ms / 1_000),
      random: () => 1,
    });
    const racing = new RacingStore(admissions, 100);
    const error = await rejection(
      admitRequest(
        { ...deps, admissions: racing, maxAttempts: 50, retryBudgetMs: 1_000, backoffBaseMs: 100 },
        body(),
      ),
    );
    expect(error).toBeInstanceOf(DependencyError);
    // Pauses of 100, 200, 400 ms, then the 300 ms left: four pauses, five attempts.
    expect(racing.commits).toBe(5);
    expect((error as Error).message).toMatch(/could not be decided in 5 attempts/);
  });

  it("retries a transient failure, and returns the decision a timed-out commit did write", async () => {
    const { deps, admissions } = await setup();
    let failures = 0;
    // The first commit lands but its answer is lost (a timeout after DynamoDB applied it).
    const lossy: AdmissionStore = {
      getLedger: (pool) => admissions.getLedger(pool),
      getDecision: (id) => admissions.getDecision(id),
      putLedger: (l, v) => admissions.putLedger(l, v),
      recordDecision: (r) => admissions.recordDecision(r),
      commitDecision: async (l, v, r) => {
        const result = await admissions.commitDecision(l, v, r);
        if (failures++ === 0) {
          throw new DependencyError("DynamoDB", "timed out", { retryable: true });
        }
        return result;
      },
    };
    const reasons: string[] = [];
    const record = await admitRequest(
      { ...deps, admissions: lossy, onRetry: (e) => reasons.push(e.reason) },
      body(),
    );
    expect(reasons).toEqual(["transient"]);
    expect(record.decision.outcome).toBe("grant");
    expect(admissions.allDecisions()).toEqual([record]);
    expect((await admissions.getLedger("cpu")).leases).toHaveLength(1);
  });

  it("does not retry a failure that retrying cannot fix", async () => {
    const { deps, admissions } = await setup();
    const denied: AdmissionStore = {
      getLedger: async () => {
        throw new DependencyError("DynamoDB", "AccessDenied", { retryable: false });
      },
      getDecision: (id) => admissions.getDecision(id),
      putLedger: (l, v) => admissions.putLedger(l, v),
      recordDecision: (r) => admissions.recordDecision(r),
      commitDecision: (l, v, r) => admissions.commitDecision(l, v, r),
    };
    const reasons: string[] = [];
    const error = await rejection(
      admitRequest({ ...deps, admissions: denied, onRetry: (e) => reasons.push(e.reason) }, body()),
    );
    expect((error as DependencyError).retryable).toBe(false);
    expect(reasons).toEqual([]);
  });

  it("records offers and rejections without writing the ledger", async () => {
    const { deps, admissions } = await setup();
    const before = await admissions.getLedger("cpu");
    const record = await admitRequest(
      deps,
      body({ amounts: { vcpu: 100 }, maxDelaySeconds: 0, acceptAlternatives: false }),
    );
    expect(record.decision.outcome).toBe("reject");
    expect(await admissions.getLedger("cpu")).toEqual(before);
    expect(await admissions.getDecision("req-1")).toEqual(record);
  });

  it("returns the decision another process recorded for the same id meanwhile", async () => {
    const { deps, admissions } = await setup();
    const other = await admitRequest({ ...deps }, body());
    const fresh = new InMemoryAdmissionStore();
    // A store that does not see the decision on the first read but finds it on commit.
    const lagging: AdmissionStore = {
      getLedger: (pool) => admissions.getLedger(pool),
      getDecision: (id) => fresh.getDecision(id),
      putLedger: (l, v) => admissions.putLedger(l, v),
      commitDecision: (l, v, r) => admissions.commitDecision(l, v, r),
      recordDecision: (r) => admissions.recordDecision(r),
    };
    expect(await admitRequest({ ...deps, admissions: lagging }, body())).toEqual(other);
  });
});

describe("getRequestStatus", () => {
  it("answers 404 for an unknown request or another tenant's request", async () => {
    const { deps } = await setup();
    expect(await rejection(getRequestStatus(deps, "nope"))).toBeInstanceOf(NotFoundError);
    await admitRequest(deps, body());
    expect(await rejection(getRequestStatus(deps, "req-1", { userId: "acme" }))).toBeInstanceOf(
      NotFoundError,
    );
    expect((await getRequestStatus(deps, "req-1", { userId: "globex" })).record.requestId).toBe(
      "req-1",
    );
  });

  it("ranks delayed requests by start time and reports 0 once a delay has started", async () => {
    const { deps, admissions } = await setup();
    await admissions.putLedger(
      capacity("cpu", 8, {
        version: 2,
        leases: [
          {
            leaseId: "request:blocker",
            userId: "hooli",
            kind: "request",
            amounts: { vcpu: 8 },
            startAt: T - 10,
            endAt: T + 100,
            requestId: "blocker",
          },
        ],
      }),
      1,
    );
    const a = await admitRequest(
      deps,
      body({ requestId: "a", amounts: { vcpu: 8 }, durationSeconds: 100 }),
    );
    const b = await admitRequest(
      deps,
      body({ requestId: "b", amounts: { vcpu: 8 }, durationSeconds: 100 }),
    );
    expect([a.decision.outcome, b.decision.outcome]).toEqual(["delay", "delay"]);
    expect((await getRequestStatus(deps, "a")).queuePosition).toBe(1);
    expect(await getRequestStatus(deps, "b")).toMatchObject({
      queuePosition: 2,
      estimatedStartAt: T + 200,
    });
    (deps.clock as ManualClock).set(T + 150);
    expect(await getRequestStatus(deps, "a")).toMatchObject({
      queuePosition: 0,
      estimatedStartAt: T + 100,
    });
    expect((await getRequestStatus(deps, "b")).queuePosition).toBe(1);
  });
});
