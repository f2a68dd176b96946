import { describe, expect, it } from "vitest";
import {
  collectWindow,
  inWindow,
  windowIntervals,
} from "../../../../layers/domain/collect/collect-window.js";

const T = 1_795_813_200; // a multiple of 300 s (2026-11-27 21:00:00 UTC)

describe("collectWindow", () => {
  it("reads the complete intervals before the interval containing the time", () => {
    const window = collectWindow(T + 137, 300, 3);
    expect(window).toEqual({ start: T - 900, end: T, intervalSeconds: 300 });
    expect(windowIntervals(window)).toEqual([T - 900, T - 600, T - 300]);
  });

  it("excludes the interval that starts exactly at the time (it has just opened)", () => {
    const window = collectWindow(T, 300, 1);
    expect(window.end).toBe(T);
    expect(windowIntervals(window)).toEqual([T - 300]);
  });

  it("is the same for every time within one interval, so reruns read the same window", () => {
    const first = collectWindow(T + 1, 300, 4);
    const last = collectWindow(T + 299, 300, 4);
    expect(last).toEqual(first);
    expect(collectWindow(T + 300, 300, 4).start).toBe(first.start + 300);
  });

  it("treats the window as half-open [start, end)", () => {
    const window = collectWindow(T + 10, 60, 2);
    expect(inWindow(window, window.start)).toBe(true);
    expect(inWindow(window, window.end - 0.5)).toBe(true);
    expect(inWindow(window, window.end)).toBe(false);
    expect(inWindow(window, window.start - 1)).toBe(false);
  });
});
