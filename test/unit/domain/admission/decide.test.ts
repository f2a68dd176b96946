import { describe, expect, it } from "vitest";
import {
  type AdmissionInput,
  decideAdmission,
} from "../../../../layers/domain/admission/decide.js";
import { emptyLedger, worstOverCommit } from "../../../../layers/domain/admission/ledger.js";
import type { AdmissionRequest, Lease, PoolLedger } from "../../../../layers/domain/admission.js";
import type { Forecast } from "../../../../layers/domain/forecast.js";
import { testConfig } from "../../../fixtures/config.js";

// Scenarios built by hand around the test config (tiers premium/standard/free): each ledger is
// small enough to check the expected decision on paper.
const config = testConfig();
const T = 1_795_000_200; // a multiple of 300: the start of a plan interval
const INTERVAL = config.intervalSeconds;

function user(userId: string) {
  const found = config.users.find((u) => u.userId === userId);
  if (!found) throw new Error(`fixture user ${userId} missing`);
  return found;
}

function request(partial: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    requestId: "r-1",
    userId: "globex",
    pool: "cpu",
    amounts: { vcpu: 4 },
    durationSeconds: 600,
    criticality: "normal",
    maxDelaySeconds: 0,
    acceptAlternatives: false,
    ...partial,
  };
}

function lease(partial: Partial<Lease> & Pick<Lease, "userId" | "amounts">): Lease {
  return {
    leaseId: partial.leaseId ?? `request:${partial.userId}-${partial.startAt ?? T}`,
    kind: partial.kind ?? "request",
    startAt: partial.startAt ?? T - 60,
    endAt: partial.endAt ?? T + 3_600,
    ...partial,
  };
}

function ledger(partial: Partial<PoolLedger> = {}): PoolLedger {
  return {
    pool: "cpu",
    version: 7,
    capacity: [{ start: T - 600, capacity: { vcpu: 16, memoryGiB: 64 } }],
    leases: [],
    updatedAt: T - 30,
    ...partial,
  };
}

function input(req: AdmissionRequest, l: PoolLedger, extra: Partial<AdmissionInput> = {}) {
  const u = user(req.userId);
  const tier = config.tiers[u.tier];
  if (!tier) throw new Error("fixture tier missing");
  return {
    request: req,
    user: u,
    tierName: u.tier,
    tier,
    forecastQuantile: tier.forecastQuantile,
    ledger: l,
    nowSeconds: T,
    intervalSeconds: INTERVAL,
    offerMinFraction: config.admission.offerMinFraction,
    ...extra,
  } satisfies AdmissionInput;
}

function forecast(vcpuAtQ: number): Forecast {
  return {
    pool: "cpu",
    userId: "globex",
    issuedAt: T - 60,
    start: T,
    intervalSeconds: INTERVAL,
    horizon: 2,
    byResource: {
      vcpu: { mean: [vcpuAtQ / 2, 1], quantiles: { "0.5": [vcpuAtQ / 2, 1], "0.9": [vcpuAtQ, 2] } },
    },
    model: "seasonal-naive",
    modelVersion: "v1",
  };
}

describe("decideAdmission: grants", () => {
  it("grants what fits now and books the lease over [now, now + duration)", () => {
    const out = decideAdmission(input(request(), ledger()));
    expect(out.decision).toMatchObject({ outcome: "grant", startAt: T, endAt: T + 600 });
    expect(out.ledger.leases).toEqual([
      {
        leaseId: "request:r-1",
        userId: "globex",
        kind: "request",
        amounts: { vcpu: 4 },
        startAt: T,
        endAt: T + 600,
        requestId: "r-1",
      },
    ]);
    expect([out.ledger.version, out.ledger.updatedAt]).toEqual([8, T]);
    expect(out.explanation[0]).toMatch(/cold start/);
    expect(out.explanation.some((line) => line.startsWith("rule 2"))).toBe(true);
  });

  it("lets a user use its own warm reservation and consumes it first", () => {
    const l = ledger({
      leases: [
        lease({ userId: "hooli", amounts: { vcpu: 10 } }),
        lease({ userId: "globex", kind: "warm", amounts: { vcpu: 6 }, leaseId: "w-globex" }),
      ],
    });
    const out = decideAdmission(input(request({ amounts: { vcpu: 6 } }), l));
    expect(out.decision.outcome).toBe("grant");
    expect(out.decision.reason).toMatch(/kept warm for globex/);
    expect(out.ledger.leases.some((x) => x.leaseId === "w-globex")).toBe(false);
    expect(worstOverCommit(out.ledger, T)).toBeLessThanOrEqual(0);
  });

  it("drops expired leases from the ledger it returns", () => {
    const l = ledger({ leases: [lease({ userId: "hooli", amounts: { vcpu: 16 }, endAt: T })] });
    const out = decideAdmission(input(request(), l));
    expect(out.decision.outcome).toBe("grant");
    expect(out.ledger.leases.map((x) => x.leaseId)).toEqual(["request:r-1"]);
  });
});

describe("decideAdmission: the user's cap (rule 1)", () => {
  const held = ledger({ leases: [lease({ userId: "hooli", amounts: { vcpu: 12 } })] });

  it("offers the amount the cap still allows when alternatives are accepted", () => {
    const out = decideAdmission(
      input(request({ userId: "hooli", amounts: { vcpu: 8 }, acceptAlternatives: true }), held),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      etaSeconds: 0,
      alternative: { kind: "smaller", pool: "cpu", amounts: { vcpu: 4 }, startAt: T },
    });
    expect(out.decision.reason).toMatch(/cap/);
    expect(out.ledger.leases).toEqual(held.leases);
  });

  it("rejects naming the cap when alternatives are not accepted, retrying when its leases end", () => {
    const out = decideAdmission(input(request({ userId: "hooli", amounts: { vcpu: 8 } }), held));
    expect(out.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: 3_600 });
    expect(out.decision.reason).toMatch(
      /above its cap in pool cpu \(vcpu: holds 12 \+ asks 8 > cap 16\)/,
    );
    expect(out.explanation).toContain("rule 1 (cap): above the user's cap; rejected");
  });

  it("rejects an ask larger than the cap itself with one plan interval as the retry hint", () => {
    const out = decideAdmission(
      input(
        request({ userId: "hooli", amounts: { vcpu: 100 }, acceptAlternatives: true }),
        ledger(),
      ),
    );
    expect(out.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: INTERVAL });
    expect(out.decision.reason).toMatch(/ask for at most 16 vcpu/);
  });
});

describe("decideAdmission: guaranteed minimums (rule 3)", () => {
  it("shrinks other users' warm reservations for critical work within the guarantee", () => {
    const l = ledger({
      leases: [
        lease({ userId: "hooli", amounts: { vcpu: 4 } }),
        lease({ userId: "globex", kind: "warm", amounts: { vcpu: 10 }, leaseId: "w-globex" }),
      ],
    });
    const out = decideAdmission(
      input(request({ userId: "acme", amounts: { vcpu: 8 }, criticality: "critical" }), l),
    );
    expect(out.decision.outcome).toBe("grant");
    expect(out.decision.reason).toMatch(/guaranteed minimum/);
    const warm = out.ledger.leases.find((x) => x.leaseId === "w-globex");
    expect(warm?.amounts.vcpu).toBe(4);
    expect(out.ledger.leases.find((x) => x.userId === "hooli")?.amounts.vcpu).toBe(4);
    expect(worstOverCommit(out.ledger, T)).toBeLessThanOrEqual(0);
  });

  it("never preempts running work: a pool full of request leases rejects even a guaranteed ask", () => {
    const l = ledger({
      leases: [lease({ userId: "hooli", amounts: { vcpu: 14 }, endAt: T + 900 })],
    });
    const out = decideAdmission(
      input(request({ userId: "acme", amounts: { vcpu: 8 }, criticality: "critical" }), l),
    );
    expect(out.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: 900 });
    expect(out.decision.reason).toMatch(/vcpu: 2 free of 16 for acme, asked 8/);
    expect(out.ledger.leases).toEqual(l.leases);
  });

  it("does not shrink warm reservations for critical work beyond the guarantee", () => {
    const l = ledger({
      leases: [lease({ userId: "globex", kind: "warm", amounts: { vcpu: 10 }, leaseId: "w" })],
    });
    const out = decideAdmission(
      input(request({ userId: "acme", amounts: { vcpu: 9 }, criticality: "critical" }), l),
    );
    expect(out.decision.outcome).toBe("reject");
    expect(out.ledger.leases.find((x) => x.leaseId === "w")?.amounts.vcpu).toBe(10);
  });
});

describe("decideAdmission: fair share under scarcity (rule 4)", () => {
  const scarce = ledger({ fairShareLevel: { vcpu: 2 } });

  it("delays a non-critical ask above the user's share to the next interval even though it fits", () => {
    // standard: weight 2 × level 2 = 4 vcpu; asking 6 goes above it.
    const out = decideAdmission(
      input(request({ amounts: { vcpu: 6 }, maxDelaySeconds: 600 }), scarce),
    );
    expect(out.decision).toMatchObject({ outcome: "delay", startAt: T + INTERVAL });
    expect(out.explanation.join("\n")).toMatch(/rule 4 \(fair share under scarcity\)/);
    expect(out.ledger.leases[0]).toMatchObject({
      startAt: T + INTERVAL,
      endAt: T + INTERVAL + 600,
    });
  });

  it("offers the share-sized amount now when the user may not wait", () => {
    const out = decideAdmission(
      input(request({ amounts: { vcpu: 6 }, acceptAlternatives: true }), scarce),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      alternative: { kind: "smaller", amounts: { vcpu: 4 } },
    });
  });

  it("limits the share by the user's forecast footprint when there is one", () => {
    const out = decideAdmission(
      input(request({ amounts: { vcpu: 3.5 }, acceptAlternatives: true }), scarce, {
        forecast: forecast(3),
      }),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      alternative: { amounts: { vcpu: 3 } },
    });
    expect(out.explanation[0]).toMatch(/footprint 3 vcpu at q0.9/);
  });

  it("grants within the share, and never gates critical work", () => {
    expect(decideAdmission(input(request({ amounts: { vcpu: 4 } }), scarce)).decision.outcome).toBe(
      "grant",
    );
    const critical = request({ amounts: { vcpu: 6 }, criticality: "critical" });
    expect(decideAdmission(input(critical, scarce)).decision.outcome).toBe("grant");
  });
});

describe("decideAdmission: delays and offers (rules 5 and 6)", () => {
  const busy = ledger({
    leases: [lease({ userId: "hooli", amounts: { vcpu: 14 }, endAt: T + 120 })],
  });

  it("delays to the earliest start within maxDelaySeconds and books the capacity from then", () => {
    const out = decideAdmission(input(request({ maxDelaySeconds: 600 }), busy));
    expect(out.decision).toMatchObject({ outcome: "delay", startAt: T + 120, endAt: T + 720 });
    expect(out.ledger.leases.find((x) => x.leaseId === "request:r-1")?.startAt).toBe(T + 120);
    expect(out.decision.reason).toMatch(/Delayed 120 s/);
  });

  it("offers a smaller amount now when it is at least offerMinFraction of the ask", () => {
    const out = decideAdmission(input(request({ acceptAlternatives: true }), busy));
    expect(out.decision).toMatchObject({
      outcome: "offer",
      etaSeconds: 0,
      alternative: { kind: "smaller", amounts: { vcpu: 2 }, startAt: T, durationSeconds: 600 },
    });
    expect(out.ledger.leases).toEqual(busy.leases);
  });

  it("offers another pool with room now when smaller is too small", () => {
    const full = ledger({
      pool: "gpu",
      capacity: [{ start: 0, capacity: { vcpu: 16, memoryGiB: 128, gpu: 2 } }],
      leases: [lease({ userId: "hooli", amounts: { vcpu: 16 }, endAt: T + 900 })],
    });
    const out = decideAdmission(
      input(request({ pool: "gpu", amounts: { vcpu: 8 }, acceptAlternatives: true }), full, {
        alternatives: [{ pool: "cpu", ledger: ledger() }],
      }),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      etaSeconds: 0,
      alternative: { kind: "other-pool", pool: "cpu", amounts: { vcpu: 8 } },
    });
  });

  it("offers a later start with its ETA when nothing fits sooner", () => {
    const full = ledger({
      leases: [lease({ userId: "hooli", amounts: { vcpu: 16 }, endAt: T + 900 })],
    });
    const out = decideAdmission(
      input(request({ acceptAlternatives: true, maxDelaySeconds: 300 }), full),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      etaSeconds: 900,
      alternative: { kind: "later", startAt: T + 900, amounts: { vcpu: 4 } },
    });
  });
});

describe("decideAdmission: the critical reserve (rule 0)", () => {
  // 16 vcpu, 6 held until T + 1,200, 8 kept for critical bursts: 10 free, 2 outside the reserve.
  const reserved = ledger({
    criticalReserve: { vcpu: 8 },
    leases: [lease({ userId: "hooli", amounts: { vcpu: 6 }, endAt: T + 1_200 })],
  });

  it("keeps deferrable work out of the reserve, now and booked ahead", () => {
    const out = decideAdmission(
      input(
        request({ userId: "hooli", criticality: "deferrable", maxDelaySeconds: 3_600 }),
        reserved,
      ),
    );
    // 4 fit the 10 free, not the 2 outside the reserve: delayed until the held 6 end.
    expect(out.decision).toMatchObject({ outcome: "delay", startAt: T + 1_200 });
    expect(out.explanation.join("\n")).toContain("rule 0 (critical reserve): 8 vcpu of pool cpu");
  });

  it("lets normal work take free room now but books its delays only outside the reserve", () => {
    const now = decideAdmission(input(request({ maxDelaySeconds: 600 }), reserved));
    expect(now.decision.outcome).toBe("grant");
    // Asking 9 of the 10 free (7 of them in the reserve): granted now all the same.
    const big = decideAdmission(
      input(request({ amounts: { vcpu: 9 }, maxDelaySeconds: 600 }), reserved),
    );
    expect(big.decision.outcome).toBe("grant");
    // Asking 12 does not fit now; a delay would need 12 outside the reserve (8 of 16), never: rejected.
    const tooBig = decideAdmission(
      input(request({ amounts: { vcpu: 12 }, maxDelaySeconds: 3_000 }), reserved),
    );
    expect(tooBig.decision.outcome).toBe("reject");
    // Without the reserve the same request is delayed until the held 6 end.
    const open = decideAdmission(
      input(
        request({ amounts: { vcpu: 12 }, maxDelaySeconds: 3_000 }),
        ledger({ leases: reserved.leases }),
      ),
    );
    expect(open.decision).toMatchObject({ outcome: "delay", startAt: T + 1_200 });
  });

  it("gives critical requests the whole pool, reserve included", () => {
    const out = decideAdmission(
      input(request({ userId: "acme", criticality: "critical", amounts: { vcpu: 10 } }), reserved),
    );
    expect(out.decision.outcome).toBe("grant");
    expect(out.explanation.join("\n")).not.toContain("rule 0");
  });
});

describe("decideAdmission: rejections (rule 7)", () => {
  it("says when to retry from the ledger: when the blocking lease ends", () => {
    const full = ledger({
      leases: [lease({ userId: "hooli", amounts: { vcpu: 16 }, endAt: T + 450 })],
    });
    const out = decideAdmission(input(request(), full));
    expect(out.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: 450 });
    expect(out.decision.reason).toMatch(/alternatives are not accepted/);
  });

  it("rejects in a pool with no planned capacity and retries after one plan interval", () => {
    const out = decideAdmission(input(request({ acceptAlternatives: true }), emptyLedger("cpu")));
    expect(out.decision).toMatchObject({ outcome: "reject", retryAfterSeconds: INTERVAL });
    expect(out.decision.reason).toMatch(/no planned capacity/);
    expect(out.ledger.version).toBe(1);
  });

  it("gives every decision a reason and an explanation with forecast, limits and rule", () => {
    const out = decideAdmission(input(request({ amounts: { vcpu: 40 } }), ledger()));
    expect(out.decision.reason.length).toBeGreaterThan(20);
    expect(out.explanation[0]).toMatch(/^forecast:/);
    expect(out.explanation[1]).toMatch(/^limits:/);
    expect(out.explanation.some((line) => line.startsWith("rule 7"))).toBe(true);
  });
});

describe("decideAdmission: dominant-resource fair share under scarcity (rule 4, allocation drf)", () => {
  /** globex's footprint: 8 vCPU and 64 GiB at q0.9 — a memory-heavy bundle. */
  const bundle: Forecast = {
    ...forecast(8),
    byResource: {
      vcpu: { mean: [4, 4], quantiles: { "0.9": [8, 8] } },
      memoryGiB: { mean: [32, 32], quantiles: { "0.9": [64, 64] } },
    },
  };
  const drfLedger = (saturated: ("vcpu" | "memoryGiB" | "gpu")[]) =>
    ledger({
      dominantFairShare: {
        rounds: [{ level: 0.1, saturated }],
        capacity: { vcpu: 16, memoryGiB: 64 },
      },
    });

  it("holds a user to the fraction of its bundle DRF gives it, on every resource alike", () => {
    // D = max(8/16, 64/64) = 1; fraction = max(guarantee share 0.125, weight 2 × 0.1 / 1) = 0.2:
    // 1.6 vCPU and 12.8 GiB, never below the guarantee (2 vCPU, 8 GiB) → 2 vCPU now.
    const out = decideAdmission(
      input(request({ amounts: { vcpu: 3 }, acceptAlternatives: true }), drfLedger(["memoryGiB"]), {
        forecast: bundle,
      }),
    );
    expect(out.decision).toMatchObject({
      outcome: "offer",
      alternative: { kind: "smaller", amounts: { vcpu: 2 } },
    });
    expect(out.explanation.join("\n")).toMatch(/dominant-resource fair share/);
    const within = decideAdmission(
      input(request({ amounts: { vcpu: 2 } }), drfLedger(["memoryGiB"]), { forecast: bundle }),
    );
    expect(within.decision.outcome).toBe("grant");
  });

  it("does not limit a bundle that uses no saturated resource", () => {
    const out = decideAdmission(
      input(request({ amounts: { vcpu: 6 } }), drfLedger(["gpu"]), { forecast: bundle }),
    );
    expect(out.decision.outcome).toBe("grant");
  });
});
