import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ErrorCalibrator,
  sortedQuantile,
} from "../../../../../layers/domain/forecasting/methods/error-calibrator.js";
import { ErrorCalibratorSnapshotSchema } from "../../../../../layers/domain/forecasting/methods/forecaster-snapshot.js";
import { decodeFloat32 } from "../../../../../layers/domain/forecasting/methods/state-codec.js";

/** Step `step`'s errors, oldest first, read back from the calibrator's snapshot. */
function oldestFirst(calibrator: ErrorCalibrator, step: number): number[] {
  const snapshot = calibrator.snapshot();
  const errors = Array.from(decodeFloat32(snapshot.errors) ?? []);
  const before = snapshot.counts.slice(0, step).reduce((a, b) => a + b, 0);
  return errors.slice(before, before + (snapshot.counts[step] ?? 0));
}

function sortedOf(calibrator: ErrorCalibrator, step: number, minErrors: number): number[] {
  const out = new Float32Array(calibrator.horizon * calibrator.capacity);
  const n = calibrator.sortedErrorsInto(step, minErrors, out);
  return Array.from(out.subarray(0, n));
}

describe("ErrorCalibrator", () => {
  it("keeps the most recent errors per step, evicting the oldest", () => {
    const c = new ErrorCalibrator(2, 3);
    for (const e of [5, 1, 4, 2]) c.add(0, e);
    expect(c.count(0)).toBe(3);
    expect(sortedOf(c, 0, 1)).toEqual([1, 2, 4]);
    expect(oldestFirst(c, 0)).toEqual([1, 4, 2]);
  });

  it("pools the nearest steps' errors while a step has too few of its own", () => {
    const c = new ErrorCalibrator(4, 10);
    c.add(0, 1);
    c.add(1, 2);
    c.add(2, 3);
    c.add(3, 4);
    expect(sortedOf(c, 1, 1)).toEqual([2]);
    expect(sortedOf(c, 1, 3)).toEqual([1, 2, 3]);
    expect(sortedOf(c, 3, 3)).toEqual([2, 3, 4]);
  });

  it("drops non-finite errors and steps outside its horizon", () => {
    const c = new ErrorCalibrator(1, 4);
    c.add(0, Number.NaN);
    c.add(0, Number.POSITIVE_INFINITY);
    c.add(5, 1);
    expect(c.total()).toBe(0);
  });

  it("round-trips through JSON, evicting in the same order, and clones independently", () => {
    const c = new ErrorCalibrator(2, 3);
    for (const e of [0.5, -1, 2, 3]) c.add(1, e);
    const json = JSON.parse(JSON.stringify(c.snapshot()));
    const copy = ErrorCalibrator.restore(ErrorCalibratorSnapshotSchema.parse(json));
    expect(copy.snapshot()).toEqual(c.snapshot());
    copy.add(1, 7);
    expect(oldestFirst(copy, 1)).toEqual([2, 3, 7]);
    const clone = c.clone();
    clone.add(1, 9);
    expect(oldestFirst(c, 1)).toEqual([-1, 2, 3]);
    expect(oldestFirst(clone, 1)).toEqual([2, 3, 9]);
  });
});

describe("ErrorCalibrator's sorted steps", () => {
  it("stay equal to sorting the step's errors afresh, whatever the order of adds and queries", () => {
    const op = fc.oneof(
      fc.record({
        step: fc.integer({ min: 0, max: 2 }),
        // Few distinct values, so that ties and evicting one of several equal errors happen.
        error: fc.oneof(
          fc.integer({ min: -3, max: 3 }),
          fc.double({ min: -5, max: 5, noNaN: true }),
        ),
      }),
      fc.record({ query: fc.integer({ min: 0, max: 2 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 80 }),
        (capacity, ops) => {
          const c = new ErrorCalibrator(3, capacity);
          for (const o of ops) {
            if ("query" in o) {
              const expected = oldestFirst(c, o.query).sort((a, b) => a - b);
              expect(sortedOf(c, o.query, 0)).toEqual(expected);
            } else {
              c.add(o.step, o.error);
            }
          }
          for (let step = 0; step < 3; step++) {
            expect(sortedOf(c, step, 0)).toEqual(oldestFirst(c, step).sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("are not shared with a clone", () => {
    const c = new ErrorCalibrator(1, 3);
    for (const e of [3, 1, 2]) c.add(0, e);
    expect(sortedOf(c, 0, 0)).toEqual([1, 2, 3]);
    const clone = c.clone();
    clone.add(0, 0);
    c.add(0, 9);
    expect(sortedOf(c, 0, 0)).toEqual([1, 2, 9]);
    expect(sortedOf(clone, 0, 0)).toEqual([0, 1, 2]);
  });
});

describe("sortedQuantile", () => {
  it("interpolates between order statistics (type 7)", () => {
    const sorted = [1, 2, 3, 4];
    expect(sortedQuantile(sorted, 4, 0)).toBe(1);
    expect(sortedQuantile(sorted, 4, 0.5)).toBe(2.5);
    expect(sortedQuantile(sorted, 4, 1)).toBe(4);
    expect(sortedQuantile(sorted, 3, 0.5)).toBe(2);
  });
});
