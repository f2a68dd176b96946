import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AdmissionInput,
  decideAdmission,
} from "../../../../layers/domain/admission/decide.js";
import {
  buildTimeline,
  fitsAt,
  heldPeakOver,
  worstOverCommit,
} from "../../../../layers/domain/admission/ledger.js";
import type {
  AdmissionRequest,
  CapacityStep,
  Lease,
  PoolLedger,
} from "../../../../layers/domain/admission.js";
import { effectiveLimits } from "../../../../layers/domain/config.js";
import { RESOURCES } from "../../../../layers/domain/resources.js";
import { testConfig } from "../../../fixtures/config.js";

// Random pools, warm reservations and request sequences over the test config's four users and
// three tiers. Every initial ledger is valid by construction: capacity steps hold at least
// 8 vcpu / 32 GiB and at most two warm leases of at most 4 vcpu / 16 GiB each are placed.
const config = testConfig();
const T = 1_795_000_200;
const USERS = ["acme", "globex", "initech", "hooli"] as const;

const stepArb = fc.record({
  offsetIntervals: fc.integer({ min: 0, max: 8 }),
  vcpu: fc.integer({ min: 8, max: 40 }),
  memoryGiB: fc.integer({ min: 32, max: 160 }),
});

const warmArb = fc.record({
  userId: fc.constantFrom(...USERS),
  vcpu: fc.double({ min: 0, max: 4, noNaN: true }),
  memoryGiB: fc.integer({ min: 0, max: 16 }),
  startOffset: fc.integer({ min: -300, max: 1_800 }),
  length: fc.integer({ min: 60, max: 3_600 }),
});

const requestArb = fc.record({
  userId: fc.constantFrom(...USERS),
  vcpu: fc.oneof(fc.integer({ min: 1, max: 24 }), fc.double({ min: 0.25, max: 24, noNaN: true })),
  memoryGiB: fc.integer({ min: 0, max: 96 }),
  durationSeconds: fc.integer({ min: 60, max: 3_600 }),
  criticality: fc.constantFrom("critical", "normal", "deferrable"),
  maxDelaySeconds: fc.constantFrom(0, 0, 300, 1_200),
  acceptAlternatives: fc.boolean(),
  advanceSeconds: fc.integer({ min: 0, max: 400 }),
});

const scenarioArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
  warm: fc.array(warmArb, { maxLength: 2 }),
  level: fc.option(fc.record({ vcpu: fc.double({ min: 0.5, max: 8, noNaN: true }) }), {
    nil: undefined,
  }),
  requests: fc.array(requestArb, { minLength: 1, maxLength: 14 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

function initialLedger(s: Scenario): PoolLedger {
  const capacity: CapacityStep[] = s.steps.map((step, i) => ({
    start: i === 0 ? T - 300 : T + step.offsetIntervals * 300,
    capacity: { vcpu: step.vcpu, memoryGiB: step.memoryGiB },
  }));
  const leases: Lease[] = s.warm.map((w, i) => ({
    leaseId: `warm:${w.userId}:${i}`,
    userId: w.userId,
    kind: "warm",
    amounts: { vcpu: w.vcpu, memoryGiB: w.memoryGiB },
    startAt: T + w.startOffset,
    endAt: T + w.startOffset + w.length,
  }));
  return {
    pool: "cpu",
    version: 1,
    capacity,
    leases,
    ...(s.level ? { fairShareLevel: s.level } : {}),
    updatedAt: T - 60,
  };
}

function inputFor(
  r: Scenario["requests"][number],
  index: number,
  ledger: PoolLedger,
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
    forecastQuantile: tier.forecastQuantile,
    ledger,
    nowSeconds: now,
    intervalSeconds: config.intervalSeconds,
    offerMinFraction: config.admission.offerMinFraction,
  };
}

/** Runs the scenario, calling `check` with each decision's input and outcome. */
function run(
  s: Scenario,
  check: (input: AdmissionInput, out: ReturnType<typeof decideAdmission>) => void,
): void {
  let ledger = initialLedger(s);
  let now = T;
  s.requests.forEach((r, i) => {
    now += r.advanceSeconds;
    const input = inputFor(r, i, ledger, now);
    const out = decideAdmission(input);
    check(input, out);
    ledger = out.ledger;
  });
}

describe("decideAdmission properties", () => {
  it("never books the pool above its capacity at any instant", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        expect(worstOverCommit(initialLedger(s), T)).toBeLessThanOrEqual(1e-9);
        run(s, (input, out) => {
          expect(worstOverCommit(out.ledger, input.nowSeconds)).toBeLessThanOrEqual(1e-6);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("grants only what fits: for the user, or by shrinking other users' warm leases for guaranteed work", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        run(s, (input, out) => {
          if (out.decision.outcome !== "grant" && out.decision.outcome !== "delay") {
            // Offers and rejections take no capacity.
            expect(out.ledger.leases.some((l) => l.requestId === input.request.requestId)).toBe(
              false,
            );
            return;
          }
          const { request } = input;
          const lease = out.ledger.leases.find((l) => l.requestId === request.requestId);
          expect(lease?.amounts).toEqual(request.amounts);
          expect(lease?.startAt).toBe(out.decision.startAt);
          expect(lease?.endAt).toBe(out.decision.startAt + request.durationSeconds);
          const { cap } = effectiveLimits(input.user, input.tier);
          const ask = {
            userId: request.userId,
            amounts: request.amounts,
            durationSeconds: request.durationSeconds,
            cap,
          };
          const before = buildTimeline(input.ledger, request.userId, input.nowSeconds);
          const withoutOthersWarm = buildTimeline(input.ledger, request.userId, input.nowSeconds, {
            ignoreOthersWarm: true,
          });
          const fits = fitsAt(before, ask, out.decision.startAt);
          const fitsByShrinking =
            out.decision.outcome === "grant" &&
            request.criticality === "critical" &&
            fitsAt(withoutOthersWarm, ask, out.decision.startAt);
          expect(fits || fitsByShrinking).toBe(true);
          // Request leases of others are never touched.
          const others = (l: PoolLedger) =>
            l.leases
              .filter(
                (x) =>
                  x.kind === "request" &&
                  x.requestId !== request.requestId &&
                  x.endAt > input.nowSeconds,
              )
              .map((x) => x.leaseId)
              .sort();
          expect(others(out.ledger)).toEqual(others(input.ledger));
        });
      }),
      { numRuns: 300 },
    );
  });

  it("never rejects critical work within the guarantee when only warm leases hold the room", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        run(s, (input, out) => {
          const { request } = input;
          if (request.criticality !== "critical") return;
          const { guaranteedMinimum, cap } = effectiveLimits(input.user, input.tier);
          const timeline = buildTimeline(input.ledger, request.userId, input.nowSeconds, {
            ignoreOthersWarm: true,
          });
          const end = input.nowSeconds + request.durationSeconds;
          const held = heldPeakOver(timeline, input.nowSeconds, end);
          const withinGuarantee = RESOURCES.every((r) => {
            const a = request.amounts[r] ?? 0;
            return a <= 0 || (held[r] ?? 0) + a <= (guaranteedMinimum[r] ?? 0);
          });
          const ask = {
            userId: request.userId,
            amounts: request.amounts,
            durationSeconds: request.durationSeconds,
            cap,
          };
          if (withinGuarantee && fitsAt(timeline, ask, input.nowSeconds)) {
            expect(out.decision.outcome).toBe("grant");
          }
        });
      }),
      { numRuns: 400 },
    );
  });

  it("grants critical work within the guarantee by shrinking warm leases that fill the pool", () => {
    // A pool mostly held by other users' warm reservations, and acme (premium: guarantee 8 vcpu,
    // 32 GiB) asking critically within its guarantee.
    const crowdedArb = fc.record({
      capacityVcpu: fc.integer({ min: 8, max: 32 }),
      requestShare: fc.double({ min: 0, max: 0.5, noNaN: true }),
      warmShares: fc.array(fc.double({ min: 0.1, max: 1, noNaN: true }), {
        minLength: 1,
        maxLength: 3,
      }),
      warmFill: fc.double({ min: 0.5, max: 1, noNaN: true }),
      askVcpu: fc.double({ min: 0.5, max: 8, noNaN: true }),
      askMemoryGiB: fc.integer({ min: 0, max: 32 }),
      durationSeconds: fc.integer({ min: 60, max: 3_600 }),
    });
    let shrunk = 0;
    let runs = 0;
    fc.assert(
      fc.property(crowdedArb, (c) => {
        runs++;
        const capacity = { vcpu: c.capacityVcpu, memoryGiB: c.capacityVcpu * 4 };
        const requested = c.capacityVcpu * c.requestShare;
        const warmTotal = (c.capacityVcpu - requested) * c.warmFill;
        const shareSum = c.warmShares.reduce((a, b) => a + b, 0);
        const others = ["globex", "initech", "hooli"] as const;
        const leases: Lease[] = [
          {
            leaseId: "request:hooli-running",
            userId: "hooli",
            kind: "request",
            amounts: { vcpu: requested, memoryGiB: requested * 4 },
            startAt: T - 60,
            endAt: T + 7_200,
          },
          ...c.warmShares.map(
            (share, i): Lease => ({
              leaseId: `warm:${others[i % 3]}:${i}`,
              userId: others[i % 3] ?? "globex",
              kind: "warm",
              amounts: {
                vcpu: (warmTotal * share) / shareSum,
                memoryGiB: (warmTotal * 4 * share) / shareSum,
              },
              startAt: T - 60 + i * 120,
              endAt: T + 1_800 + i * 600,
            }),
          ),
        ];
        const ledger: PoolLedger = {
          pool: "cpu",
          version: 1,
          capacity: [{ start: T - 300, capacity }],
          leases,
          updatedAt: T - 60,
        };
        const input = inputFor(
          {
            userId: "acme",
            vcpu: c.askVcpu,
            memoryGiB: c.askMemoryGiB,
            durationSeconds: c.durationSeconds,
            criticality: "critical",
            maxDelaySeconds: 0,
            acceptAlternatives: false,
            advanceSeconds: 0,
          },
          0,
          ledger,
          T,
        );
        const fitsWithoutWarm =
          c.askVcpu <= c.capacityVcpu - requested + 1e-9 &&
          c.askMemoryGiB <= (c.capacityVcpu - requested) * 4 + 1e-9;
        fc.pre(fitsWithoutWarm);
        const out = decideAdmission(input);
        expect(out.decision.outcome).toBe("grant");
        expect(worstOverCommit(out.ledger, T)).toBeLessThanOrEqual(1e-6);
        expect(
          out.ledger.leases.find((l) => l.leaseId === "request:hooli-running")?.amounts,
        ).toEqual(leases[0]?.amounts);
        if (out.explanation.some((line) => line.startsWith("rule 3"))) shrunk++;
      }),
      { numRuns: 300 },
    );
    // The generator must exercise the rule, not only easy fits.
    expect(shrunk).toBeGreaterThan(runs / 10);
  });

  it("decides the same way for the same input", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        run(s, (input, out) => {
          expect(decideAdmission(structuredClone(input))).toEqual(out);
        });
      }),
      { numRuns: 100 },
    );
  });
});
