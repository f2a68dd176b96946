import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../layers/adapters/clock.js";
import { InMemoryForecastStore } from "../../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUsageStore } from "../../../../layers/adapters/local/in-memory-usage-store.js";
import { StaticConfigSource } from "../../../../layers/adapters/local/static-config-source.js";
import { forecastRunId } from "../../../../layers/domain/forecasting/forecast-error.js";
import type { PolicyChange, PolicySet } from "../../../../layers/domain/policy.js";
import type { RequestLogEntry } from "../../../../layers/domain/usage.js";
import type { RequestLog } from "../../../../layers/ports/request-log.js";
import { adaptPolicies } from "../../../../layers/use-cases/retrain/adapt-policies.js";
import { testConfig } from "../../../fixtures/config.js";

const NOW = 1_795_000_200;
const config = testConfig();

/** A request log holding fixed entries (shard 0 gets them all). */
class FixedRequestLog implements RequestLog {
  constructor(private readonly entries: RequestLogEntry[]) {}
  async listRequests(shard: number, _count: number, from: number, to: number) {
    return shard === 0 ? this.entries.filter((e) => e.receivedAt >= from && e.receivedAt < to) : [];
  }
}

/** A policy store another writer updates once, just before our first write. */
class ContendedPolicyStore extends InMemoryPolicyStore {
  private raced = false;
  override async putPolicies(next: PolicySet, changes: readonly PolicyChange[], expected: number) {
    if (!this.raced) {
      this.raced = true;
      await super.putPolicies(
        {
          version: 1,
          tiers: { standard: { forecastQuantile: 0.95, headroomFraction: 0.1 } },
          updatedAt: NOW - 5,
        },
        [],
        0,
      );
    }
    return super.putPolicies(next, changes, expected);
  }
}

function rejections(n: number, grants: number): RequestLogEntry[] {
  return Array.from({ length: n + grants }, (_, i) => ({
    requestId: `r${i}`,
    userId: "globex",
    pool: "cpu",
    amounts: { vcpu: 1 },
    durationSeconds: 60,
    receivedAt: NOW - 600 - i,
    outcome: i < n ? ("reject" as const) : ("grant" as const),
    tier: "standard",
    criticality: "normal" as const,
  }));
}

describe("adaptPolicies use case", () => {
  it("re-reads and decides again when another writer changed the policies first", async () => {
    const policyStore = new ContendedPolicyStore();
    const out = await adaptPolicies(
      {
        configSource: new StaticConfigSource(config),
        forecastStore: new InMemoryForecastStore(),
        requestLog: new FixedRequestLog(rejections(10, 40)),
        usageStore: new InMemoryUsageStore(),
        policyStore,
        clock: new ManualClock(NOW),
      },
      { asOf: NOW },
    );
    // Built on the other writer's version 1 (quantile already 0.95), not on the config defaults.
    expect(out.policyVersion).toBe(2);
    expect(out.changes[0]?.before).toEqual({ forecastQuantile: 0.95, headroomFraction: 0.1 });
    expect(out.changes[0]?.after).toEqual({ forecastQuantile: 0.99, headroomFraction: 0.15 });
    expect((await policyStore.getPolicies())?.tiers.standard).toEqual(out.changes[0]?.after);
  });

  it("reads the tiers' coverage from the error summaries when the state carries none", async () => {
    const forecastStore = new InMemoryForecastStore();
    await forecastStore.putErrorSummary(forecastRunId(NOW - 3_600), 0, {
      free: { pinballSum: 10, absActualSum: 100, quantileCount: 9, points: 400, covered80: 200 },
    });
    const out = await adaptPolicies(
      {
        configSource: new StaticConfigSource(config),
        forecastStore,
        requestLog: new FixedRequestLog([]),
        usageStore: new InMemoryUsageStore(),
        policyStore: new InMemoryPolicyStore(),
        clock: new ManualClock(NOW),
      },
      { time: new Date(NOW * 1000).toISOString() },
    );
    expect(out.assessments.free?.coverage80).toBe(0.5);
    expect(out.changes.map((c) => c.tier)).toEqual(["free"]);
    expect(out.changes[0]?.cause).toContain("coverage80 50%");
  });

  it("judges the tier's last raise from the change log: a raise that did not help is undone", async () => {
    const policyStore = new InMemoryPolicyStore();
    const deps = (entries: RequestLogEntry[], now: number) => ({
      configSource: new StaticConfigSource(config),
      forecastStore: new InMemoryForecastStore(),
      requestLog: new FixedRequestLog(entries),
      usageStore: new InMemoryUsageStore(),
      policyStore,
      clock: new ManualClock(now),
    });
    const later = (entries: RequestLogEntry[], by: number) =>
      entries.map((e) => ({ ...e, receivedAt: e.receivedAt + by }));
    // Day 1: 20 % rejected → raised. Day 2: still 20 % → the raise did not help: undone.
    const day1 = await adaptPolicies(deps(rejections(10, 40), NOW), { asOf: NOW });
    expect(day1.changes[0]?.slo?.kind).toBe("raise");
    const day2 = await adaptPolicies(deps(later(rejections(10, 40), 86_400), NOW + 86_400), {
      asOf: NOW + 86_400,
    });
    expect(day2.assessments.standard?.action).toBe("undo");
    expect(day2.changes[0]?.after).toEqual(day1.changes[0]?.before);
    expect((await policyStore.getPolicies())?.tiers.standard).toEqual(day1.changes[0]?.before);
    const logged = await policyStore.listChanges(10);
    expect(logged[0]?.slo).toEqual({ kind: "futile", grantNowRate: 0.8 });
  });
});

describe("adaptPolicies use case, evidence for lowering", () => {
  /** 250 granted critical premium requests a day, for `days` days before NOW. */
  function cleanDays(days: number): RequestLogEntry[] {
    return Array.from({ length: days * 250 }, (_, i) => ({
      requestId: `p${i}`,
      userId: "acme",
      pool: "cpu",
      amounts: { vcpu: 1 },
      durationSeconds: 60,
      receivedAt: NOW - 60 - Math.floor((i * 86_400) / 250),
      outcome: "grant" as const,
      tier: "premium",
      criticality: "critical" as const,
    }));
  }

  async function adapt(
    overrides: Parameters<typeof testConfig>[0],
    policyStore = new InMemoryPolicyStore(),
  ) {
    const usageStore = new InMemoryUsageStore();
    // Pools a third used over the last day: idle enough to give capacity back.
    await usageStore.putPoolLoad(
      Array.from({ length: 288 }, (_, k) => ({
        pool: "cpu",
        intervalStart: NOW - 86_400 + k * 300,
        cpuUtilizationPercent: 30,
        memoryUtilizationPercent: 30,
      })),
    );
    return adaptPolicies(
      {
        configSource: new StaticConfigSource(testConfig(overrides)),
        forecastStore: new InMemoryForecastStore(),
        requestLog: new FixedRequestLog(cleanDays(12)),
        usageStore,
        policyStore,
        clock: new ManualClock(NOW),
      },
      { asOf: NOW },
    );
  }

  it("lowers a 99.9 % tier on the clean requests of the days since its last change", async () => {
    const out = await adapt({});
    expect(out.assessments.premium?.action).toBe("lower");
    expect(out.changes.find((c) => c.tier === "premium")?.cause).toContain(
      "over 3000 requests since",
    );
    // The day alone (250 requests) shows nothing: with lowerEvidenceDays 1 the tier holds.
    const dayOnly = await adapt({ policyBounds: { lowerEvidenceDays: 1 } });
    expect(dayOnly.assessments.premium?.action).toBe("hold");
  });

  it("counts evidence only since the tier's last change", async () => {
    const policyStore = new InMemoryPolicyStore();
    const before = { forecastQuantile: 0.95, headroomFraction: 0.25 };
    const after = { forecastQuantile: 0.95, headroomFraction: 0.2 };
    await policyStore.putPolicies(
      { version: 1, tiers: { premium: after }, updatedAt: NOW - 3 * 86_400 },
      [
        {
          changeId: "1-premium",
          tier: "premium",
          before,
          after,
          cause: "by hand",
          at: NOW - 3 * 86_400,
          version: 1,
        },
      ],
      0,
    );
    const out = await adapt({}, policyStore);
    expect(out.assessments.premium?.action).toBe("hold");
    expect(out.assessments.premium?.reason).toContain("750 requests since");
  });
});
