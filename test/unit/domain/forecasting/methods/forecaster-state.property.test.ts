import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { conformalMethod } from "../../../../../layers/domain/forecasting/methods/conformal.js";
import { crostonMethod } from "../../../../../layers/domain/forecasting/methods/croston.js";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import { restoreForecaster } from "../../../../../layers/domain/forecasting/methods/forecaster-state.js";
import type {
  FitContext,
  ForecastMethod,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import { shaperMethod } from "../../../../../layers/domain/forecasting/methods/selection.js";
import { gaussian } from "./series-fixtures.js";

/**
 * Resuming from saved state is invisible: over arbitrary series (gaps, zeros, negative and huge
 * values, intermittent demand), a forecaster saved at origin t, sent through JSON, restored and
 * advanced to t' forecasts what the original advanced continuously from t to t' does.
 */

const METHODS: readonly {
  label: string;
  make: () => ForecastMethod;
  meanOnly?: boolean;
  /**
   * Before its first calibration error the conformal wrapper answers with the inner forecaster's
   * own quantiles, and seasonal naive's are rebuilt from the values kept (documented in
   * seasonal-naive-method.ts): from the first error on, the quantiles are the calibrator's, exact.
   */
  quantilesOnceCalibrated?: boolean;
}[] = [
  { label: "shaper", make: () => shaperMethod() },
  { label: "shaper without combinations", make: () => shaperMethod({ maxCombinationSize: 1 }) },
  // Calibrating from every 3rd origin (and where a forecast was asked), as long horizons do.
  {
    label: "shaper with stride 3 and a local scale",
    make: () => shaperMethod({ conformal: { stride: 3, scale: "noise", scaleWindow: 5 } }),
  },
  { label: "conformal ets", make: () => conformalMethod(etsMethod()) },
  { label: "conformal naive", make: () => conformalMethod(etsMethod({ models: [] })) },
  {
    label: "conformal seasonal naive",
    make: () => conformalMethod(seasonalNaiveMethod()),
    quantilesOnceCalibrated: true,
  },
  { label: "conformal croston", make: () => conformalMethod(crostonMethod(), { stride: 2 }) },
  { label: "ets", make: () => etsMethod({ models: ["AAdA", "ANN"] }) },
  { label: "tsb", make: () => crostonMethod({ variant: "tsb" }) },
  // Its own empirical quantiles are rebuilt from the values kept (seasonal-naive-method.ts).
  { label: "seasonal naive", make: () => seasonalNaiveMethod(), meanOnly: true },
];

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -1e3, max: 1e4, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double({ min: -1e300, max: 1e300, noNaN: true }) },
);
const demand = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }) },
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
);
/** A daily-shaped series with noise, a level shift and gaps, long enough to calibrate on. */
const shaped = fc
  .record({
    length: fc.integer({ min: 60, max: 300 }),
    period: fc.integer({ min: 2, max: 12 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    gapEvery: fc.integer({ min: 5, max: 80 }),
  })
  .map(({ length, period, seed, gapEvery }) => {
    const draw = gaussian(seed);
    return Array.from({ length }, (_, t) =>
      t % gapEvery === 0
        ? Number.NaN
        : 40 + 10 * Math.sin((2 * Math.PI * t) / period) + (t > length / 2 ? 15 : 0) + 4 * draw(),
    );
  });
const series = fc.oneof(
  fc.array(value, { minLength: 1, maxLength: 120 }),
  fc.array(demand, { minLength: 1, maxLength: 120 }),
  shaped,
);
const shape = fc.record({
  seasonLength: fc.integer({ min: 1, max: 12 }),
  horizon: fc.integer({ min: 1, max: 8 }),
  quantiles: fc
    .uniqueArray(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 5 })
    .map((l) => [...l].sort((a, b) => a - b)),
});
/** A fraction in [0, 1] spread evenly (a double arbitrary favours the ends). */
const fraction = fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000);
/** Where the fit ends, the state is saved, the restore's history starts, and origins after. */
const cuts = fc.tuple(
  fraction,
  fraction,
  fraction,
  fc.array(fraction, { minLength: 1, maxLength: 3 }),
  fc.boolean(),
);

function close(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let h = 0; h < a.length; h++) {
    const x = a[h] as number;
    expect(Number.isFinite(b[h] as number)).toBe(true);
    expect(Math.abs((b[h] as number) - x)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(x)));
  }
}

/** Whether a conformal forecaster's saved state holds at least one calibration error. */
function calibrated(state: unknown): boolean {
  const counts = (state as { forecaster?: { calibrator?: { counts?: number[] } } }).forecaster
    ?.calibrator?.counts;
  return (counts ?? []).some((c) => c > 0);
}

describe.each(METHODS)(
  "$label, saved and restored",
  ({ make, meanOnly, quantilesOnceCalibrated }) => {
    it("forecasts as the original advanced continuously", async () => {
      await fc.assert(
        fc.asyncProperty(series, shape, cuts, async (values, s, [fit, save, from, later, ask]) => {
          const n = values.length;
          const trainEnd = Math.floor(fit * n);
          const savedAt = trainEnd + Math.floor(save * (n - trainEnd));
          const historyStart = Math.floor(from * savedAt);
          const context: FitContext = { ...s, seed: 1, trainEnd: [trainEnd] };
          const input = { id: "p", values, startSeconds: 86_400, stepSeconds: 60 };
          const fitted = await make().fit([input], context);
          const original = fitted.forSeries(0);
          original.advanceTo(savedAt);
          if (ask) original.forecast(s.horizon);
          const saved = JSON.parse(JSON.stringify(original.state?.()));
          const restored = restoreForecaster(saved, {
            values: values.slice(historyStart),
            startSeconds: input.startSeconds + historyStart * input.stepSeconds,
            stepSeconds: input.stepSeconds,
          });
          const origins = later
            .map((c) => savedAt + Math.floor(c * (n - savedAt)))
            .sort((a, b) => a - b);
          for (const origin of origins) {
            original.advanceTo(origin);
            restored.advanceTo(origin - historyStart);
            const a = original.forecast(s.horizon);
            const b = restored.forecast(s.horizon);
            close(a.mean, b.mean);
            if (meanOnly) continue;
            if (quantilesOnceCalibrated && !calibrated(original.state?.())) continue;
            a.quantiles.forEach((row, k) => {
              close(row, b.quantiles[k] as Float64Array);
            });
          }
          expect(restored.originSeconds).toBe(input.startSeconds + (origins.at(-1) as number) * 60);
          // Not only the forecasts: everything the two will calibrate with from here on agrees.
          expect(restored.state()).toEqual(original.state?.());
        }),
        { numRuns: 40 },
      );
    });

    it("keeps its state through JSON, and a restore saves the state it was given", async () => {
      await fc.assert(
        fc.asyncProperty(series, shape, async (values, s) => {
          const input = { id: "p", values, startSeconds: 0, stepSeconds: 300 };
          const fitted = await make().fit([input], { ...s, seed: 1 });
          const state = fitted.forSeries(0).state?.();
          const text = JSON.stringify(state, (key, v) => {
            // Only plain JSON: JSON.stringify would write a non-finite number as null and a typed
            // array as an object keyed by index.
            expect(typeof v === "number" && !Number.isFinite(v), `${key} is ${v}`).toBe(false);
            expect(ArrayBuffer.isView(v), `${key} is a typed array`).toBe(false);
            return v;
          });
          expect(JSON.parse(text)).toEqual(state);
          expect(restoreForecaster(JSON.parse(text)).state()).toEqual(state);
        }),
        { numRuns: 25 },
      );
    });
  },
);
