import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import { conformalMethod } from "../../../../../layers/domain/forecasting/methods/conformal.js";
import { crostonMethod } from "../../../../../layers/domain/forecasting/methods/croston.js";
import { etsMethod } from "../../../../../layers/domain/forecasting/methods/ets.js";
import type {
  ForecasterState,
  SeriesHistory,
} from "../../../../../layers/domain/forecasting/methods/forecaster-snapshot.js";
import {
  forecastFromState,
  restoreForecaster,
} from "../../../../../layers/domain/forecasting/methods/forecaster-state.js";
import type {
  FitContext,
  ForecastMethod,
  QuantileForecast,
  SeriesForecaster,
  SeriesInput,
} from "../../../../../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../../../../../layers/domain/forecasting/methods/seasonal-naive-method.js";
import {
  defaultCandidates,
  type FittedShaper,
  shaperMethod,
} from "../../../../../layers/domain/forecasting/methods/selection.js";
import { contextOf, DECILES, gaussian, random, seasonalSeries } from "./series-fixtures.js";

/**
 * Resuming a forecaster from its saved state: forecasts after the restore equal those of the
 * original forecaster advanced continuously, for every kind the shaper method can produce.
 */

const START_SECONDS = 1_700_000_000;
const STEP_SECONDS = 300;

function seriesAt(values: ArrayLike<number>, id = "s"): SeriesInput {
  return {
    id,
    values: Float64Array.from(values),
    startSeconds: START_SECONDS,
    stepSeconds: STEP_SECONDS,
  };
}

/** The part of `series` from index `from` on, as a caller's history. */
function historyFrom(series: SeriesInput, from: number): SeriesHistory {
  return {
    values: Array.from(series.values).slice(from),
    startSeconds: series.startSeconds + from * series.stepSeconds,
    stepSeconds: series.stepSeconds,
  };
}

function expectSameForecast(actual: QuantileForecast, expected: QuantileForecast): void {
  const rows = (f: QuantileForecast) => [f.mean, ...f.quantiles];
  expect(actual.quantiles).toHaveLength(expected.quantiles.length);
  rows(expected).forEach((row, r) => {
    const other = rows(actual)[r] as Float64Array;
    expect(other).toHaveLength(row.length);
    row.forEach((v, h) => {
      expect(Math.abs((other[h] as number) - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v)));
    });
  });
}

/** A JSON value holding only finite numbers, strings, booleans, null, arrays and plain objects. */
function expectPlainJson(value: unknown, path = "state"): void {
  if (typeof value === "number") {
    expect(Number.isFinite(value), `${path} is ${value}`).toBe(true);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      expectPlainJson(v, `${path}.${i}`);
    });
  } else if (typeof value === "object" && value !== null) {
    expect(Object.getPrototypeOf(value), `${path} is a plain object`).toBe(Object.prototype);
    for (const [k, v] of Object.entries(value)) expectPlainJson(v, `${path}.${k}`);
  } else {
    expect(["string", "boolean"].includes(typeof value) || value === null, path).toBe(true);
  }
}

/**
 * Fits, advances the original to `savedAt` (forecasting there), saves its state through JSON,
 * restores it over the series from `historyStart`, then moves both through `origins`,
 * forecasting at each, and checks every forecast agrees.
 */
async function expectResumesExactly(
  method: ForecastMethod,
  series: SeriesInput,
  context: FitContext,
  savedAt: number,
  origins: readonly number[],
  historyStart = 0,
): Promise<ForecasterState> {
  const fitted = await method.fit([series], context);
  const original = fitted.forSeries(0);
  original.advanceTo(savedAt);
  original.forecast(context.horizon);
  const saved = JSON.parse(JSON.stringify(original.state?.()));
  const restored = restoreForecaster(saved, historyFrom(series, historyStart));
  expect(restored.originSeconds).toBe(series.startSeconds + savedAt * series.stepSeconds);
  expectSameForecast(restored.forecast(context.horizon), original.forecast(context.horizon));
  for (const origin of origins) {
    original.advanceTo(origin);
    restored.advanceTo(origin - historyStart);
    expectSameForecast(restored.forecast(context.horizon), original.forecast(context.horizon));
  }
  expect(restored.state()).toEqual(original.state?.());
  return saved;
}

const DAY = 12;
const WEEK = 7 * DAY;

/** Four weeks of a daily- and weekly-shaped series, with a gap and some noise. */
function busySeries(seed: number): number[] {
  const draw = gaussian(seed);
  return Array.from({ length: 4 * WEEK }, (_, t) => {
    if (t % 61 < 3) return Number.NaN;
    const weekday = Math.floor(t / DAY) % 7 < 5 ? 1 : 0.6;
    return weekday * (50 + 20 * Math.sin((2 * Math.PI * t) / DAY)) + 3 * draw();
  });
}

/** Mostly zeros: a demand of 1–6 about every fifth step, with a few gaps. */
function intermittentSeries(seed: number, length = 400): number[] {
  const next = random(seed);
  return Array.from({ length }, (_, t) => {
    if (t % 53 === 7) return Number.NaN;
    return next() < 0.2 ? 1 + Math.floor(6 * next()) : 0;
  });
}

const CONTEXT = contextOf(DAY, 6, { weeklySeasonLength: WEEK, trainEnd: [3 * WEEK] });

describe("restoreForecaster", () => {
  it.each(defaultCandidates().map((candidate) => ({ name: candidate.name, candidate })))(
    "resumes the shaper's $name choice exactly where the original would be",
    async ({ candidate }) => {
      const series = seriesAt(busySeries(3));
      const method = shaperMethod({ candidates: [candidate], maxCombinationSize: 1 });
      const fitted = (await method.fit([series], CONTEXT)) as FittedShaper;
      expect(fitted.choiceOf(0).members).toEqual([candidate.name]);
      const saved = await expectResumesExactly(method, series, CONTEXT, 3 * WEEK + 5, [
        3 * WEEK + 6,
        3 * WEEK + 30,
        3 * WEEK + 31,
        4 * WEEK,
      ]);
      expect(saved.forecaster).toMatchObject({ kind: "conformal", name: "shaper" });
    },
  );

  it.each(["croston", "sba", "tsb"] as const)(
    "resumes a calibrated %s forecaster on an intermittent series with gaps",
    async (variant) => {
      const series = seriesAt(intermittentSeries(7));
      const context = contextOf(DAY, 6, { trainEnd: [250] });
      const saved = await expectResumesExactly(
        conformalMethod(crostonMethod({ variant })),
        series,
        context,
        262,
        [263, 300, 345, 400],
      );
      expect(saved.forecaster).toMatchObject({
        kind: "conformal",
        inner: { kind: "croston", parameters: { variant } },
      });
    },
  );

  it("resumes the shaper's per-series choices, ensembles and intermittent series included", async () => {
    const values = [busySeries(1), busySeries(2), intermittentSeries(3, 4 * WEEK), busySeries(4)];
    values[3] = (values[3] as number[]).map((v, t) => (t > 2 * WEEK ? v + 40 : v));
    const series = values.map((v, i) => seriesAt(v, `s${i}`));
    const context = { ...CONTEXT, trainEnd: series.map(() => 3 * WEEK) };
    // Every series takes its own best option, so that some take a combination.
    const method = shaperMethod({ switchMargin: 0, switchSignificance: 0 });
    const fitted = (await method.fit(series, context)) as FittedShaper;
    const kinds = series.map((_, i) => fitted.choiceOf(i).combination);
    // The check is not vacuous: some series use a combination, some a single candidate.
    expect(kinds).toContain("single");
    expect(kinds.some((k) => k !== "single")).toBe(true);
    for (let i = 0; i < series.length; i++) {
      const original = fitted.forSeries(i);
      original.advanceTo(3 * WEEK + 2);
      const restored = restoreForecaster(
        JSON.parse(JSON.stringify(original.state?.())),
        historyFrom(series[i] as SeriesInput, 3 * WEEK),
      );
      for (const origin of [3 * WEEK + 9, 3 * WEEK + 40, 4 * WEEK]) {
        original.advanceTo(origin);
        restored.advanceTo(origin - 3 * WEEK);
        expectSameForecast(restored.forecast(6), original.forecast(6));
      }
    }
  });

  it("reads only the values from the saved origin on: earlier ones may differ or be absent", async () => {
    const values = busySeries(5);
    const series = seriesAt(values);
    const method = shaperMethod();
    const fitted = await method.fit([series], CONTEXT);
    const original = fitted.forSeries(0);
    const saved = original.state?.();
    const revised = values.map((v, t) => (t < 3 * WEEK ? v * 10 : v));
    for (const history of [
      historyFrom(seriesAt(revised), 0),
      historyFrom(series, 3 * WEEK - 1),
      historyFrom(series, 3 * WEEK),
    ]) {
      const restored = restoreForecaster(saved, history);
      restored.advanceToEnd();
      expect(restored.originSeconds).toBe(START_SECONDS + 4 * WEEK * STEP_SECONDS);
      const copy = fitted.forSeries(0);
      copy.advanceTo(4 * WEEK);
      expectSameForecast(restored.forecast(6), copy.forecast(6));
    }
  });

  it("treats the time between the saved origin and a later history start as missing data", async () => {
    const values = busySeries(6);
    const gapFrom = 3 * WEEK;
    const gapTo = 3 * WEEK + 17;
    const withGap = values.map((v, t) => (t >= gapFrom && t < gapTo ? Number.NaN : v));
    const series = seriesAt(withGap);
    const fitted = await shaperMethod().fit([series], CONTEXT);
    const original = fitted.forSeries(0);
    original.advanceTo(4 * WEEK);
    const restored = restoreForecaster(fitted.forSeries(0).state?.(), historyFrom(series, gapTo));
    expect(restored.origin).toBe(-(gapTo - gapFrom));
    restored.advanceTo(0);
    expect(restored.originSeconds).toBe(START_SECONDS + gapTo * STEP_SECONDS);
    restored.advanceToEnd();
    expectSameForecast(restored.forecast(6), original.forecast(6));
  });

  it("forecasts from the saved origin when given no history, or one that ends before it", async () => {
    const series = seriesAt(busySeries(8));
    const fitted = await shaperMethod().fit([series], CONTEXT);
    const expected = fitted.forSeries(0).forecast(6);
    const saved = fitted.forSeries(0).state?.();
    const bare = restoreForecaster(saved);
    expectSameForecast(bare.forecast(6), expected);
    const stale = restoreForecaster(saved, historyFrom(series, 0));
    const short = restoreForecaster(saved, {
      ...historyFrom(series, 0),
      values: Array.from(series.values).slice(0, 100),
    });
    short.advanceToEnd();
    expectSameForecast(short.forecast(6), expected);
    expect(short.originSeconds).toBe(stale.originSeconds);
    expect(() => bare.advanceTo(1)).toThrow(ValidationError);
  });

  it("writes plain JSON: finite numbers, strings, booleans and arrays, non-finite values spelled out", async () => {
    // A series whose last values are missing leaves NaN in the local scale's previous value.
    const values = busySeries(9).map((v, t) => (t >= 4 * WEEK - 3 ? Number.NaN : v));
    const series = seriesAt(values);
    const method = shaperMethod({
      conformal: { scale: "noise" },
      maxCombinationSize: 3,
      candidates: [...defaultCandidates(), seasonalNaiveMethod()],
    });
    const fitted = await method.fit([series], { ...CONTEXT, trainEnd: [4 * WEEK] });
    const state = fitted.forSeries(0).state?.() as ForecasterState;
    expectPlainJson(state);
    expect(state).toMatchObject({
      stateVersion: 1,
      method: "shaper",
      stepSeconds: STEP_SECONDS,
      originSeconds: START_SECONDS + 4 * WEEK * STEP_SECONDS,
      horizon: 6,
      quantiles: DECILES,
      forecaster: { kind: "conformal", scale: { mode: "noise", previous: "NaN" } },
    });
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(restoreForecaster(JSON.parse(JSON.stringify(state))).state()).toEqual(state);
  });
});

describe("forecastFromState", () => {
  it("forecasts from the history's end and returns the state the next run resumes from", async () => {
    const series = seriesAt(busySeries(10));
    const fitted = await shaperMethod().fit([series], CONTEXT);
    const continuous = fitted.forSeries(0);
    let state: unknown = JSON.parse(JSON.stringify(continuous.state?.()));
    // Three forecast runs, each handed the last two days of history (which covers the time since
    // the previous run: a history starting later would leave a gap of missing data).
    for (const end of [3 * WEEK + 12, 3 * WEEK + 13, 3 * WEEK + 36]) {
      const history = historyFrom(seriesAt(Array.from(series.values).slice(0, end)), end - 2 * DAY);
      const run = forecastFromState(state, history);
      continuous.advanceTo(end);
      expectSameForecast(run.forecast, continuous.forecast(6));
      expect(run.originSeconds).toBe(START_SECONDS + end * STEP_SECONDS);
      expect(run.state.originSeconds).toBe(run.originSeconds);
      state = JSON.parse(JSON.stringify(run.state));
    }
    expect(state).toEqual(continuous.state?.());
  });

  it("forecasts a shorter horizon on request", async () => {
    const series = seriesAt(busySeries(11));
    const fitted = await shaperMethod().fit([series], CONTEXT);
    const run = forecastFromState(fitted.forSeries(0).state?.(), historyFrom(series, 0), 2);
    expect(run.forecast.mean).toHaveLength(2);
    expect(run.forecast.quantiles).toHaveLength(DECILES.length);
  });
});

describe("a state that cannot be resumed", () => {
  async function savedState(): Promise<ForecasterState> {
    const series = seriesAt(busySeries(12));
    const method = shaperMethod({
      candidates: [etsMethod({ name: "ets", models: ["ANA"] })],
      maxCombinationSize: 1,
    });
    const fitted = await method.fit([series], CONTEXT);
    return JSON.parse(JSON.stringify(fitted.forSeries(0).state?.()));
  }

  function issueOf(state: unknown, history?: SeriesHistory): ValidationError {
    try {
      restoreForecaster(state, history);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return error as ValidationError;
    }
    throw new Error("expected the restore to throw");
  }

  it("of another or no version is rejected, telling the caller to refit", async () => {
    const state = await savedState();
    for (const version of [0, 2, "1", undefined]) {
      const error = issueOf({ ...state, stateVersion: version });
      expect(error.issues[0]?.field).toBe("stateVersion");
      expect(error.message).toMatch(/stateVersion is .*reads version 1 only.*Refit/);
    }
    expect(issueOf(null).issues[0]?.field).toBe("stateVersion");
    expect(issueOf("state").issues[0]?.field).toBe("stateVersion");
  });

  it("with a malformed field is rejected, naming the field", async () => {
    const state = await savedState();
    const f = state.forecaster as Record<string, unknown> & { inner: Record<string, unknown> };
    const cases: [unknown, RegExp][] = [
      [{ ...state, stepSeconds: -300 }, /^stepSeconds$/],
      [{ ...state, quantiles: [0.9, 0.1] }, /^quantiles\.1$/],
      [{ ...state, forecaster: { ...f, kind: "lstm" } }, /^forecaster\.kind$/],
      [{ ...state, forecaster: { ...f, band: "AAAA" } }, /^forecaster\.band$/],
      [{ ...state, horizon: 7 }, /^forecaster\.band$/],
      [
        { ...state, forecaster: { ...f, inner: { ...f.inner, season: "%%%%" } } },
        /^forecaster\.inner\.season$/,
      ],
      [
        { ...state, forecaster: { ...f, inner: { ...f.inner, level: null } } },
        /^forecaster\.inner\.level$/,
      ],
      [
        {
          ...state,
          forecaster: { ...f, inner: { ...f.inner, spec: { trend: "N", season: "A", period: 5 } } },
        },
        /^forecaster\.inner\.season$/,
      ],
      [
        {
          ...state,
          forecaster: { ...f, calibrator: { ...(f.calibrator as object), counts: [1] } },
        },
        /^forecaster\.calibrator\.(counts|errors)$/,
      ],
    ];
    for (const [bad, field] of cases) {
      const error = issueOf(bad);
      expect(error.issues.map((i) => i.field).some((name) => field.test(name))).toBe(true);
      expect(error.message).toMatch(
        /Cannot restore the forecaster: .*refit the series from scratch/,
      );
    }
  });

  it("on a history of another step or off its time grid is rejected", async () => {
    const state = await savedState();
    const history = { values: [1, 2], startSeconds: state.originSeconds, stepSeconds: 60 };
    expect(issueOf(state, history).issues[0]?.field).toBe("history.stepSeconds");
    const offGrid = { values: [1, 2], startSeconds: state.originSeconds + 7, stepSeconds: 300 };
    expect(issueOf(state, offGrid).issues[0]?.field).toBe("history.startSeconds");
  });

  it("is never produced for a forecaster that cannot save state: the save itself says to refit", async () => {
    const opaque: ForecastMethod = {
      name: "opaque",
      fit: (_series, context) => ({
        name: "opaque",
        forSeries: (): SeriesForecaster => ({
          advanceTo() {},
          forecast: (h) => ({
            mean: new Float64Array(h),
            quantiles: context.quantiles.map(() => new Float64Array(h)),
          }),
        }),
      }),
    };
    const fitted = await conformalMethod(opaque).fit([seriesAt(busySeries(13))], CONTEXT);
    expect(() => fitted.forSeries(0).state?.()).toThrow(
      /inner forecaster cannot save state.*Refit/,
    );
  });
});

describe("state size", () => {
  it("stays under 30 KB for a shaper series with a 288-step season (5-minute steps, 1-hour horizon)", async () => {
    const m = 288;
    const values = seasonalSeries(12 * m, m, 100, 8, 4);
    const series = seriesAt(values);
    const context = contextOf(m, 12, { weeklySeasonLength: 7 * m });
    const fitted = (await shaperMethod().fit([series], context)) as FittedShaper;
    const forecaster = fitted.forSeries(0);
    forecaster.forecast(12);
    const state = forecaster.state?.() as ForecasterState;
    const bytes = JSON.stringify(state).length;
    expect(bytes).toBeLessThan(30_000);
    // The error memory dominates: 12 steps × 250 errors as 32-bit floats.
    expect(JSON.stringify(state.forecaster).length).toBeGreaterThan(16_000);
  });
});
