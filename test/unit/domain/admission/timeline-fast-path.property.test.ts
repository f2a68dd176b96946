import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  type AdmissionInput,
  type AlternativePoolLedger,
  decideAdmission,
} from "../../../../layers/domain/admission/decide.js";
import { buildTimeline, pruneLedger } from "../../../../layers/domain/admission/ledger.js";
import type {
  AdmissionRequest,
  CapacityStep,
  Lease,
  PoolLedger,
} from "../../../../layers/domain/admission.js";
import type { Forecast } from "../../../../layers/domain/forecast.js";
import type { Amounts } from "../../../../layers/domain/resources.js";
import { testConfig } from "../../../fixtures/config.js";
import { referenceBuildTimeline, referencePruneLedger } from "./full-rebuild-reference.js";

// The fast timeline sweep (counting sort by instant, amounts read into vectors) against the
// comparison-sorted sweep it replaced (full-rebuild-reference.ts): the same segments to the last
// bit, hence the same decisions. Ledgers are random and need not be valid: over-committed pools,
// unsorted and tied capacity steps, zero-length and ended leases, fractional and missing amounts,
// many leases sharing an instant, -0.
const config = testConfig();
const T = 1_795_000_200;
const USERS = ["acme", "globex", "initech", "hooli"] as const;
const LEDGER_MODULE = "../../../../layers/domain/admission/ledger.js";

const amountArb = fc.oneof(
  fc.integer({ min: 0, max: 12 }),
  fc.double({ min: 0, max: 12, noNaN: true }),
  fc.constantFrom(0, -0, 0.1, 0.2, 0.3),
);

/**
 * Seconds from T: often on a one-minute grid (so leases share instants), else any whole second
 * or quarter second (epoch seconds need not be whole; quarters are exact in binary).
 */
const offsetArb = fc.oneof(
  fc.integer({ min: -20, max: 40 }).map((k) => k * 60),
  fc.integer({ min: -1_200, max: 2_400 }),
  fc.integer({ min: -4_800, max: 9_600 }).map((k) => k / 4),
);

const leaseArb = fc.record({
  kind: fc.constantFrom("request", "request", "warm"),
  userId: fc.constantFrom(...USERS),
  vcpu: fc.option(amountArb, { nil: undefined }),
  memoryGiB: fc.option(amountArb, { nil: undefined }),
  startOffset: offsetArb,
  length: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 3_600 }),
    fc.integer({ min: 1, max: 30 }).map((k) => k * 60),
  ),
});

const stepArb = fc.record({
  offset: fc.oneof(fc.constantFrom(-300, 0, 300), offsetArb),
  vcpu: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  memoryGiB: fc.option(fc.oneof(fc.integer({ min: 0, max: 240 }), amountArb), { nil: undefined }),
});

const ledgerArb = fc.record({
  steps: fc.array(stepArb, { maxLength: 4 }),
  leases: fc.array(leaseArb, { maxLength: 80 }),
  level: fc.option(fc.record({ vcpu: fc.double({ min: 0.5, max: 8, noNaN: true }) }), {
    nil: undefined,
  }),
});

type LedgerSpec = typeof ledgerArb extends fc.Arbitrary<infer S> ? S : never;

function amounts(a: { vcpu?: number | undefined; memoryGiB?: number | undefined }): Amounts {
  return {
    ...(a.vcpu === undefined ? {} : { vcpu: a.vcpu }),
    ...(a.memoryGiB === undefined ? {} : { memoryGiB: a.memoryGiB }),
  };
}

function ledgerOf(spec: LedgerSpec, pool: string): PoolLedger {
  const capacity: CapacityStep[] = spec.steps.map((step) => ({
    start: T + step.offset,
    capacity: amounts(step),
  }));
  const leases: Lease[] = spec.leases.map((l, i) => ({
    leaseId: `${l.kind}:${pool}:${i}`,
    userId: l.userId,
    kind: l.kind,
    amounts: amounts(l),
    startAt: T + l.startOffset,
    endAt: T + l.startOffset + l.length,
    ...(l.kind === "request" ? { requestId: `old-${pool}-${i}` } : {}),
  }));
  return {
    pool,
    version: 3,
    capacity,
    leases,
    ...(spec.level ? { fairShareLevel: spec.level } : {}),
    updatedAt: T - 60,
  };
}

/** A footprint of `vcpu` (at q0.5, the quantile the inputs ask for), for the fair-share gate. */
function forecastOf(userId: string, vcpu: number): Forecast {
  return {
    pool: "cpu",
    userId,
    issuedAt: T - 60,
    start: T - 300,
    intervalSeconds: 300,
    horizon: 24,
    byResource: {
      vcpu: {
        mean: Array.from({ length: 24 }, () => vcpu / 2),
        quantiles: { "0.5": Array.from({ length: 24 }, () => vcpu) },
      },
    },
    model: "seasonal-naive",
    modelVersion: "v1",
  };
}

const requestArb = fc.record({
  userId: fc.constantFrom(...USERS),
  vcpu: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.double({ min: 0.25, max: 24, noNaN: true })),
  memoryGiB: fc.integer({ min: 0, max: 96 }),
  durationSeconds: fc.oneof(
    fc.integer({ min: 60, max: 3_600 }),
    fc.integer({ min: 1, max: 30 }).map((k) => k * 60),
  ),
  criticality: fc.constantFrom("critical", "normal", "deferrable"),
  maxDelaySeconds: fc.constantFrom(0, 0, 300, 1_200, 3_600),
  acceptAlternatives: fc.boolean(),
  advanceSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
  footprint: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
});

const scenarioArb = fc.record({
  ledger: ledgerArb,
  alternative: fc.option(ledgerArb, { nil: undefined }),
  requests: fc.array(requestArb, { minLength: 1, maxLength: 12 }),
});

function inputFor(
  r: typeof requestArb extends fc.Arbitrary<infer R> ? R : never,
  index: number,
  ledger: PoolLedger,
  alternatives: readonly AlternativePoolLedger[],
  now: number,
): AdmissionInput {
  const user = config.users.find((u) => u.userId === r.userId);
  const tier = user ? config.tiers[user.tier] : undefined;
  if (!user || !tier) throw new Error("fixture user or tier missing");
  const request: AdmissionRequest = {
    requestId: `r-${index}`,
    userId: r.userId,
    pool: "cpu",
    amounts: { vcpu: r.vcpu, ...(r.memoryGiB > 0 ? { memoryGiB: r.memoryGiB } : {}) },
    durationSeconds: r.durationSeconds,
    criticality: r.criticality,
    maxDelaySeconds: r.maxDelaySeconds,
    acceptAlternatives: r.acceptAlternatives,
  };
  return {
    request,
    user,
    tierName: user.tier,
    tier,
    forecastQuantile: 0.5,
    ...(r.footprint === undefined ? {} : { forecast: forecastOf(r.userId, r.footprint) }),
    ledger,
    alternatives,
    nowSeconds: now,
    intervalSeconds: config.intervalSeconds,
    offerMinFraction: config.admission.offerMinFraction,
  };
}

/**
 * decideAdmission from a second copy of decide.ts whose ledger module has the reference
 * timeline and pruning: the decisions of the full comparison-sorted rebuild.
 */
async function loadReferenceDecide(onTimeline: () => void): Promise<typeof decideAdmission> {
  vi.resetModules();
  vi.doMock(LEDGER_MODULE, async (importOriginal) => ({
    ...(await importOriginal<typeof import("../../../../layers/domain/admission/ledger.js")>()),
    buildTimeline: (...args: Parameters<typeof referenceBuildTimeline>) => {
      onTimeline();
      return referenceBuildTimeline(...args);
    },
    pruneLedger: referencePruneLedger,
  }));
  try {
    return (await import("../../../../layers/domain/admission/decide.js")).decideAdmission;
  } finally {
    vi.doUnmock(LEDGER_MODULE);
    vi.resetModules();
  }
}

describe("the fast timeline sweep", () => {
  it("builds every segment the comparison-sorted sweep builds, to the last bit", () => {
    const fromArb = fc.oneof(offsetArb, fc.double({ min: -1_200, max: 2_400, noNaN: true }));
    fc.assert(
      fc.property(
        ledgerArb,
        fc.constantFrom(...USERS, "nobody"),
        fromArb,
        fc.boolean(),
        (spec, userId, fromOffset, ignoreOthersWarm) => {
          const ledger = ledgerOf(spec, "cpu");
          const from = T + fromOffset;
          // toStrictEqual compares numbers with Object.is: 0 ≠ -0, and no rounding slack.
          expect(buildTimeline(ledger, userId, from, { ignoreOthersWarm })).toStrictEqual(
            referenceBuildTimeline(ledger, userId, from, { ignoreOthersWarm }),
          );
          expect(pruneLedger(ledger, from)).toStrictEqual(referencePruneLedger(ledger, from));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("agrees at instants near zero, where -0 and +0 are one instant", () => {
    const ledger: PoolLedger = {
      pool: "cpu",
      version: 1,
      capacity: [{ start: -0, capacity: { vcpu: 8 } }],
      leases: [
        {
          leaseId: "a",
          userId: "acme",
          kind: "request",
          amounts: { vcpu: 1 },
          startAt: -0,
          endAt: 5,
        },
        {
          leaseId: "b",
          userId: "globex",
          kind: "warm",
          amounts: { vcpu: 2 },
          startAt: 0,
          endAt: -0,
        },
        {
          leaseId: "c",
          userId: "hooli",
          kind: "request",
          amounts: { vcpu: 3 },
          startAt: 0,
          endAt: 5,
        },
      ],
      updatedAt: 0,
    };
    const fast = buildTimeline(ledger, "acme", -1);
    expect(fast).toStrictEqual(referenceBuildTimeline(ledger, "acme", -1));
    expect(fast.map((s) => s.start)).toStrictEqual([-1, 0, 5]);
    expect(fast[1]?.free).toStrictEqual({ vcpu: 8 - 1 - 3 });
  });
});

describe("decideAdmission with the fast sweep", () => {
  it("decides exactly what the full comparison-sorted rebuild decides, request after request", async () => {
    let referenceTimelines = 0;
    const referenceDecide = await loadReferenceDecide(() => referenceTimelines++);
    expect(referenceDecide).not.toBe(decideAdmission);
    fc.assert(
      fc.property(scenarioArb, (s) => {
        let ledger = ledgerOf(s.ledger, "cpu");
        const alternatives = s.alternative
          ? [{ pool: "spot", ledger: ledgerOf(s.alternative, "spot") }]
          : [];
        let now = T;
        s.requests.forEach((r, i) => {
          now += r.advanceSeconds;
          const input = inputFor(r, i, ledger, alternatives, now);
          const fast = decideAdmission(input);
          expect(fast).toStrictEqual(referenceDecide(input));
          ledger = fast.ledger;
        });
      }),
      { numRuns: 400 },
    );
    // The reference copy really did decide with the reference sweep.
    expect(referenceTimelines).toBeGreaterThan(0);
  });
});
