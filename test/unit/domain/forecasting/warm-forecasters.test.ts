import { describe, expect, it } from "vitest";
import {
  forecastWithModel,
  type ModelSettings,
  type SeriesModelForecast,
  WarmForecasters,
} from "../../../../layers/domain/forecasting/series-model.js";
import { syntheticSeries } from "../../../fixtures/synthetic-series.js";

const DAY = 24;
const STEP = 3_600;
const START = 1_790_000_000 - (1_790_000_000 % STEP);
const SHAPER: ModelSettings = { kind: "shaper", seasonLength: DAY };
const REQUEST = { predictionLength: 6, quantiles: [0.9, 0.1, 0.5], stateTag: "shaper@v1" };
const series = [0, 1].map((i) =>
  syntheticSeries({ length: 14 * DAY, daySteps: DAY, noise: () => 3, seed: 90 + i }).map((v, t) =>
    // Some missing values, so gaps are continued too.
    (t + 5 * i) % 17 === 0 ? Number.NaN : v,
  ),
);
/** The series' history ending at `end`, a week long (its start moves with the end). */
const window = (values: readonly number[], end: number) => {
  const from = Math.max(0, end - 7 * DAY);
  return {
    values: values.slice(from, end),
    time: { startSeconds: START + from * STEP, stepSeconds: STEP },
  };
};
/** What a caller that stores states as JSON (S3) gives back. */
const viaJson = (state: unknown) => JSON.parse(JSON.stringify(state)) as unknown;
/** Forecasts and states as the bytes a caller would see. */
const bytes = (forecasts: readonly SeriesModelForecast[]) => JSON.stringify(forecasts);

async function call(ends: readonly number[], states: readonly unknown[], warm?: WarmForecasters) {
  return await forecastWithModel(
    series.map((s, i) => ({ ...window(s, ends[i] as number), state: states[i] })),
    SHAPER,
    REQUEST,
    warm,
  );
}

/** Fits both series at day 8, then restores them one step later; the warm cache is kept. */
async function fitThenRestore() {
  const warm = new WarmForecasters();
  const fitted = await call([8 * DAY, 8 * DAY], [undefined, undefined], warm);
  const restored = await call(
    [8 * DAY + 1, 8 * DAY + 1],
    fitted.map((f) => f.state),
    warm,
  );
  return { warm, fitted, restored };
}

describe("WarmForecasters", () => {
  it("continues live forecasters with exactly the forecasts and states of decoding each state", async () => {
    const warm = new WarmForecasters();
    let ends = [8 * DAY, 8 * DAY + 3];
    const first = await call(ends, [undefined, undefined], warm);
    let warmStates: unknown[] = first.map((f) => f.state);
    let coldStates: unknown[] = first.map((f) => viaJson(f.state));
    // Steps of 1 to 4 observations (and one call with nothing new), the two series apart.
    for (const step of [1, 1, 2, 0, 4, 1, 3, 1, 1, 2, 1, 1]) {
      ends = ends.map((e, i) => e + step + (i === 1 && step > 1 ? 1 : 0));
      const hot = await call(ends, warmStates, warm);
      const cold = await call(ends, coldStates);
      expect(hot.map((f) => f.origin?.how)).toEqual(["resumed", "resumed"]);
      expect(bytes(hot)).toBe(bytes(cold));
      warmStates = hot.map((f) => f.state);
      coldStates = cold.map((f) => viaJson(f.state));
    }
    // The first call after the fit restores; every later one continued live forecasters.
    expect(warm.hits).toBe(2 * 11);
  });

  it("restores a stale state, a retried call's state and a copy instead of using the live forecaster", async () => {
    const { warm, fitted, restored } = await fitThenRestore();
    const saved = restored.map((f) => f.state);
    // Read (written) before their live forecasters move on, as a store that copies them would.
    const copies = saved.map(viaJson);
    const next = await call([8 * DAY + 2, 8 * DAY + 2], saved, warm);
    expect(warm.hits).toBe(2);
    const reference = await call([8 * DAY + 2, 8 * DAY + 2], copies);
    expect(bytes(next)).toBe(bytes(reference));

    // The same call retried with the same (now consumed) states: restored, same answer.
    const retried = await call([8 * DAY + 2, 8 * DAY + 2], saved, warm);
    expect(warm.hits).toBe(2);
    expect(bytes(retried)).toBe(bytes(reference));

    // An older state, later: restored from what it says, not from the newer live forecaster.
    const stale = await call(
      [8 * DAY + 5, 8 * DAY + 5],
      fitted.map((f) => f.state),
      warm,
    );
    const staleReference = await call(
      [8 * DAY + 5, 8 * DAY + 5],
      fitted.map((f) => viaJson(f.state)),
    );
    expect(warm.hits).toBe(2);
    expect(bytes(stale)).toBe(bytes(staleReference));

    // A JSON copy of a state whose forecaster is live is restored too; the live one stays.
    const live = retried.map((f) => f.state);
    const copied = await call([8 * DAY + 3, 8 * DAY + 3], live.map(viaJson), warm);
    expect(warm.hits).toBe(2);
    const original = await call([8 * DAY + 3, 8 * DAY + 3], live, warm);
    expect(warm.hits).toBe(4);
    expect(bytes(original)).toBe(bytes(copied));
  });

  it("refits a state given back after its live forecaster moved on, when it was never read", async () => {
    const { warm, restored } = await fitThenRestore();
    const saved = restored.map((f) => f.state);
    await call([8 * DAY + 2, 8 * DAY + 2], saved, warm);
    expect(warm.hits).toBe(2);
    // Warm states are written only when read; these never were, and their forecasters moved on.
    expect(() => JSON.stringify(saved)).toThrow(/cannot be restored/);
    const again = await call([8 * DAY + 2, 8 * DAY + 2], saved, warm);
    expect(again.map((f) => f.origin?.how)).toEqual(["fitted", "fitted"]);
    expect(again[0]?.origin).toMatchObject({
      why: expect.stringMatching(/continued by a later call/),
    });
    // Refitted like a series given no state.
    const fresh = await call([8 * DAY + 2, 8 * DAY + 2], [undefined, undefined]);
    expect(again.map((f) => f.quantiles)).toEqual(fresh.map((f) => f.quantiles));
  });

  it("sets a live forecaster's state aside as a restore would: another model version, other levels", async () => {
    const { warm, restored } = await fitThenRestore();
    const [promoted] = await forecastWithModel(
      [{ ...window(series[0] ?? [], 8 * DAY + 2), state: restored[0]?.state }],
      SHAPER,
      { ...REQUEST, stateTag: "shaper@v2" },
      warm,
    );
    expect(promoted?.origin).toEqual({
      how: "fitted",
      why: "the state is of another model (shaper@v1, serving shaper@v2)",
    });
    const [otherLevels] = await forecastWithModel(
      [{ ...window(series[1] ?? [], 8 * DAY + 2), state: restored[1]?.state }],
      SHAPER,
      { ...REQUEST, quantiles: [0.5] },
      warm,
    );
    expect(otherLevels?.origin).toEqual({
      how: "fitted",
      why: "the state's quantile levels differ from those asked",
    });
  });
});
