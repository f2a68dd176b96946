import { describe, expect, it } from "vitest";
import { LocalScaleSnapshotSchema } from "../../../../../layers/domain/forecasting/methods/forecaster-snapshot.js";
import { LocalScale } from "../../../../../layers/domain/forecasting/methods/local-scale.js";

describe("LocalScale", () => {
  it("is 1 in mode none", () => {
    const s = new LocalScale("none", 3, 0.1);
    s.update(50);
    expect(s.scale()).toBe(1);
  });

  it("averages |y| over the window in mode level, skipping missing values", () => {
    const s = new LocalScale("level", 3, 0.1);
    for (const v of [10, -2, Number.NaN, 4, 6]) s.update(v);
    expect(s.scale()).toBeCloseTo(4, 12);
  });

  it("averages |Δy| over consecutive observed pairs in mode noise", () => {
    const s = new LocalScale("noise", 10, 0.01);
    for (const v of [1, 3, 2, Number.NaN, 10, 14]) s.update(v);
    expect(s.scale()).toBeCloseTo((2 + 1 + 4) / 3, 12);
  });

  it("never falls below its floor", () => {
    const s = new LocalScale("level", 4, 0.5);
    for (const v of [0, 0, 0]) s.update(v);
    expect(s.scale()).toBe(0.5);
    expect(s.snapshot()).toMatchObject({ mode: "level", count: 3 });
  });

  it("restores from its snapshot to the same scale, bit for bit, and keeps going alike", () => {
    const s = new LocalScale("noise", 3, 0.01);
    for (const v of [1, 3, 2, Number.NaN, 10, 14, 0.1]) s.update(v);
    const json = JSON.parse(JSON.stringify(s.snapshot()));
    const copy = LocalScale.restore(LocalScaleSnapshotSchema.parse(json));
    expect(copy.scale()).toBe(s.scale());
    for (const v of [7, Number.NaN, 8, 2.5]) {
      s.update(v);
      copy.update(v);
      expect(copy.scale()).toBe(s.scale());
    }
  });
});
