import { describe, expect, it } from "vitest";
import { shaperMethod } from "../../../../layers/domain/forecasting/methods/selection.js";
import {
  forecastWithModel,
  type ModelSettings,
} from "../../../../layers/domain/forecasting/series-model.js";
import { syntheticSeries } from "../../../fixtures/synthetic-series.js";

const DAY = 24;
const STEP = 3_600;
const START = 1_790_000_000 - (1_790_000_000 % STEP);
const SHAPER: ModelSettings = { kind: "shaper", seasonLength: DAY };
const LEVELS = [0.1, 0.5, 0.9];
const series = [0, 1, 2].map((i) =>
  syntheticSeries({ length: 12 * DAY, daySteps: DAY, noise: () => 3, seed: 70 + i }),
);
const at = (values: readonly number[], from: number, to: number) => ({
  values: values.slice(from, to),
  time: { startSeconds: START + from * STEP, stepSeconds: STEP },
});

describe("forecastWithModel (shaper)", () => {
  it("resumes from the state it returned: the same forecasts as a forecaster that kept running", async () => {
    const request = { predictionLength: 6, quantiles: LEVELS, stateTag: "shaper@v1" };
    const first = await forecastWithModel(
      series.map((s) => at(s, 0, 10 * DAY)),
      SHAPER,
      request,
    );
    expect(first.every((f) => f.origin?.how === "fitted" && f.state !== undefined)).toBe(true);
    // Two days later, with a history window that starts later than the first one did.
    const second = await forecastWithModel(
      series.map((s, i) => ({ ...at(s, 5 * DAY, 12 * DAY), state: first[i]?.state })),
      SHAPER,
      request,
    );
    expect(second.map((f) => f.origin?.how)).toEqual(["resumed", "resumed", "resumed"]);

    const fitted = await shaperMethod().fit(
      series.map((s, i) => ({
        id: String(i),
        values: Float64Array.from(s),
        startSeconds: START,
        stepSeconds: STEP,
      })),
      { seasonLength: DAY, horizon: 6, quantiles: LEVELS, seed: 1, trainEnd: [240, 240, 240] },
    );
    series.forEach((_, i) => {
      const running = fitted.forSeries(i);
      running.advanceTo(12 * DAY);
      const expected = running.forecast(6);
      LEVELS.forEach((_, r) => {
        const got = second[i]?.quantiles[r] ?? [];
        Array.from(expected.quantiles[r] ?? []).forEach((v, h) => {
          expect(got[h]).toBeCloseTo(Math.max(0, v), 9);
        });
      });
    });
  });

  it("sets aside a state of another model version, or for other quantiles, and refits, saying why", async () => {
    const [first] = await forecastWithModel([at(series[0] ?? [], 0, 10 * DAY)], SHAPER, {
      predictionLength: 6,
      quantiles: LEVELS,
      stateTag: "shaper@v1",
    });
    const next = { ...at(series[0] ?? [], 0, 11 * DAY), state: first?.state };
    const [promoted] = await forecastWithModel([next], SHAPER, {
      predictionLength: 6,
      quantiles: LEVELS,
      stateTag: "shaper@v2",
    });
    expect(promoted?.origin).toEqual({
      how: "fitted",
      why: "the state is of another model (shaper@v1, serving shaper@v2)",
    });
    expect(promoted?.state?.model).toBe("shaper@v2");
    const [other] = await forecastWithModel([next], SHAPER, {
      predictionLength: 6,
      quantiles: [0.05, 0.5, 0.95],
      stateTag: "shaper@v1",
    });
    expect(other?.origin).toMatchObject({ how: "fitted", why: expect.stringMatching(/quantile/) });
    const [garbage] = await forecastWithModel(
      [{ ...next, state: { model: "shaper@v1", forecaster: { stateVersion: 99 } } }],
      SHAPER,
      { predictionLength: 6, quantiles: LEVELS, stateTag: "shaper@v1" },
    );
    expect(garbage?.origin).toMatchObject({
      how: "fitted",
      why: expect.stringMatching(/could not be resumed/),
    });
    expect(garbage?.mean.every(Number.isFinite)).toBe(true);
  });

  it("returns no state without the series' time grid, and refits every call", async () => {
    const [f] = await forecastWithModel([{ values: series[0] ?? [] }], SHAPER, {
      predictionLength: 3,
      quantiles: LEVELS,
    });
    expect(f?.state).toBeUndefined();
    expect(f?.mean).toHaveLength(3);
  });
});
