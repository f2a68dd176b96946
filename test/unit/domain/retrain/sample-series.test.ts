import { describe, expect, it } from "vitest";
import { type SeriesKey, SeriesSample } from "../../../../layers/domain/retrain/sample-series.js";

function keys(n: number): SeriesKey[] {
  return Array.from({ length: n }, (_, i) => ({
    userId: `user-${i}`,
    pool: i % 2 ? "cpu" : "gpu",
    resource: "vcpu" as const,
  }));
}

function sampleOf(seed: string, limit: number, offered: SeriesKey[]): SeriesKey[] {
  const sample = new SeriesSample(seed, limit);
  for (const key of offered) sample.offer(key);
  return sample.keys();
}

describe("SeriesSample", () => {
  it("keeps at most `limit` series, the same ones whatever order they arrive in", () => {
    const all = keys(300);
    const forward = sampleOf("day-1", 25, all);
    const backward = sampleOf("day-1", 25, [...all].reverse());
    expect(forward).toHaveLength(25);
    expect(backward).toEqual(forward);
  });

  it("draws another sample for another seed", () => {
    const all = keys(300);
    const a = sampleOf("day-1", 25, all).map((k) => k.userId);
    const b = sampleOf("day-2", 25, all).map((k) => k.userId);
    expect(a).not.toEqual(b);
  });

  it("keeps everything when fewer series than the limit are offered", () => {
    expect(sampleOf("s", 25, keys(10))).toHaveLength(10);
  });

  it("samples without favouring early or late arrivals", () => {
    const all = keys(2_000);
    const picked = sampleOf("uniform", 400, all).map((k) => Number(k.userId.slice(5)));
    const firstHalf = picked.filter((i) => i < 1_000).length;
    // Binomial(400, 0.5): 200 ± 10 (sd); 4 sd either side.
    expect(firstHalf).toBeGreaterThan(160);
    expect(firstHalf).toBeLessThan(240);
  });
});
