import { describe, expect, it } from "vitest";
import {
  isIntermittent,
  isStepShaped,
  profileSeries,
} from "../../../../../layers/domain/forecasting/methods/series-profile.js";
import { gaussian } from "./series-fixtures.js";

/** A level held for long stretches, jumping every `every` steps. */
function stepSeries(n: number, every: number): number[] {
  return Array.from({ length: n }, (_, t) => 40 + 10 * (Math.floor(t / every) % 3));
}

describe("profileSeries", () => {
  it("counts consecutive observed pairs and exact repeats, a gap breaking the pair", () => {
    const profile = profileSeries([2, 2, 3, Number.NaN, 3, 3, 3], 7);
    // Pairs (2,2) (2,3) (3,3) (3,3): the 3 before the gap does not pair with the 3 after it.
    expect(profile).toMatchObject({ pairs: 4, repeats: 3, observed: 6 });
  });

  it("counts apart the pairs that start from a nonzero level", () => {
    // Pairs (0,0) (0,4) (4,4) (4,0) (0,0): two start from 4, one of them holds it.
    expect(profileSeries([0, 0, 4, 4, 0, 0], 6)).toMatchObject({
      pairs: 5,
      repeats: 3,
      levelPairs: 2,
      levelRepeats: 1,
    });
  });

  it("reads only the values before the end", () => {
    expect(profileSeries([1, 1, 1, 1], 2)).toMatchObject({ pairs: 1, repeats: 1 });
    expect(profileSeries([], 0)).toMatchObject({ pairs: 0, repeats: 0 });
  });
});

describe("isStepShaped", () => {
  it("holds for a level that is held and jumps now and then", () => {
    const values = stepSeries(500, 25);
    expect(isStepShaped(profileSeries(values, values.length))).toBe(true);
  });

  it("does not hold for a noisy series or one that moves every few steps", () => {
    const draw = gaussian(3);
    const noisy = Array.from({ length: 500 }, () => 50 + draw());
    expect(isStepShaped(profileSeries(noisy, noisy.length))).toBe(false);
    const busy = stepSeries(500, 5);
    expect(isStepShaped(profileSeries(busy, busy.length))).toBe(false);
  });

  it("leaves mostly-zero series with spikes to the intermittent class", () => {
    const spikes = Array.from({ length: 500 }, (_, t) => (t % 50 === 7 ? 9 : 0));
    const profile = profileSeries(spikes, spikes.length);
    expect(profile.repeats).toBeGreaterThan(0.9 * profile.pairs);
    expect(isIntermittent(profile)).toBe(true);
    expect(isStepShaped(profile)).toBe(false);
  });

  it("holds for a constant series and for a mostly-idle one that holds its levels", () => {
    expect(isStepShaped(profileSeries(new Array(300).fill(0), 300))).toBe(true);
    expect(isStepShaped(profileSeries(new Array(300).fill(7), 300))).toBe(true);
    const idleThenBusy = Array.from({ length: 300 }, (_, t) => (t < 200 ? 0 : 65));
    const profile = profileSeries(idleThenBusy, 300);
    expect(isIntermittent(profile)).toBe(true);
    expect(isStepShaped(profile)).toBe(true);
  });

  it("does not hold with fewer than two observed values in a row", () => {
    expect(isStepShaped(profileSeries([5, Number.NaN, 5], 3))).toBe(false);
  });
});
