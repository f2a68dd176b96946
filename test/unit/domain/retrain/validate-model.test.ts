import { describe, expect, it } from "vitest";
import type { ModelMetrics } from "../../../../layers/domain/model-registry.js";
import {
  decidePromotion,
  scoreOnHoldout,
} from "../../../../layers/domain/retrain/validate-model.js";
import { syntheticSeries } from "../../../fixtures/synthetic-series.js";

const metrics = (wql: number, coverage80 = 0.8, points = 1_000): ModelMetrics => ({
  wql,
  coverage80,
  series: 10,
  points,
});

describe("decidePromotion", () => {
  it("promotes a candidate whose wQL beats the current one by at least the required margin", async () => {
    const decision = decidePromotion(metrics(0.2), metrics(0.25), 0.02);
    expect(decision.promote).toBe(true);
    expect(decision.reason).toContain("candidate wQL 0.2 ≤ 0.245");
    expect(decision.reason).toContain("20% better");
  });

  it("rejects a candidate that is better by less than the margin, and says by how much it fell short", async () => {
    const decision = decidePromotion(metrics(0.247), metrics(0.25), 0.02);
    expect(decision.promote).toBe(false);
    expect(decision.reason).toContain("is not below 0.245");
  });

  it("rejects a worse candidate", async () => {
    expect(decidePromotion(metrics(0.3), metrics(0.25), 0.02).promote).toBe(false);
  });

  it("rejects without held-out points, and when both are perfect (no improvement to be had)", async () => {
    const none = decidePromotion(metrics(0, 0, 0), metrics(0.3), 0.02);
    expect(none.promote).toBe(false);
    expect(none.reason).toContain("no held-out points");
    expect(decidePromotion(metrics(0), metrics(0), 0).promote).toBe(false);
  });
});

const SN = (intervalScale: number) =>
  ({ kind: "seasonal-naive", seasonLength: 24, intervalScale }) as const;

describe("scoreOnHoldout", () => {
  const DAY = 24;
  const options = { horizon: 6, historyLength: 7 * DAY, holdout: 2 * DAY };
  const series = Array.from({ length: 20 }, (_, i) =>
    syntheticSeries({ length: 10 * DAY, daySteps: DAY, noise: () => 5, seed: 300 + i }),
  );

  it("scores every held-out step of every series, and only those", async () => {
    const m = await scoreOnHoldout(series, SN(1), options);
    expect(m.series).toBe(20);
    expect(m.points).toBe(20 * 2 * DAY);
  });

  it("scores badly scaled intervals worse, so validation prefers well-calibrated parameters", async () => {
    const good = await scoreOnHoldout(series, SN(1), options);
    const tooWide = await scoreOnHoldout(series, SN(4), options);
    const tooNarrow = await scoreOnHoldout(series, SN(0.1), options);
    expect(tooWide.coverage80).toBeGreaterThan(0.95);
    expect(tooNarrow.coverage80).toBeLessThan(0.3);
    expect(decidePromotion(good, tooWide, 0.02).promote).toBe(true);
    expect(decidePromotion(good, tooNarrow, 0.02).promote).toBe(true);
    expect(decidePromotion(tooWide, good, 0.02).promote).toBe(false);
  });

  it("skips missing actuals instead of scoring them as zero", async () => {
    const gappy = series.map((s) => s.map((v, t) => (t % 5 === 0 ? Number.NaN : v)));
    const m = await scoreOnHoldout(gappy, SN(1), options);
    const missing = gappy.reduce(
      (n, s) => n + s.slice(-2 * DAY).filter((v) => Number.isNaN(v)).length,
      0,
    );
    expect(m.points).toBe(20 * 2 * DAY - missing);
  });
});
