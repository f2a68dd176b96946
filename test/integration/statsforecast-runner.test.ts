import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BacktestScorer } from "../../layers/domain/forecasting/backtest/backtest-scorer.js";
import { holdoutSplit } from "../../layers/domain/forecasting/backtest/backtest-split.js";
import type { SeriesInput } from "../../layers/domain/forecasting/methods/method.js";
import {
  peerModelsFromEnv,
  peerRequest,
  STATSFORECAST_RUNNER,
} from "../../local/statsforecast-peers.js";

// The runner's request validation needs only Python (no statsforecast), so the contract between
// what the command writes and what the runner accepts is checked here; the forecasts themselves
// need the peers' virtualenv and are exercised by `shaper backtest --peers statsforecast`.
const run = promisify(execFile);
const python = process.env.SHAPER_PYTHON ?? "python3";

async function check(
  request: unknown,
  mode: "--check" | "--plan" = "--check",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "shaper-runner-")), "request.json");
  writeFileSync(file, JSON.stringify(request));
  try {
    const { stdout, stderr } = await run(python, [STATSFORECAST_RUNNER, file, mode]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

const series: SeriesInput[] = [
  {
    id: "a",
    values: Float64Array.from({ length: 100 }, (_, i) => (i === 80 ? Number.NaN : i)),
    startSeconds: 0,
    stepSeconds: 300,
  },
  {
    id: "b",
    values: Float64Array.from({ length: 40 }, (_, i) => i % 7),
    startSeconds: 0,
    stepSeconds: 300,
  },
];
const split = holdoutSplit(series);
const options = { horizon: 12, byHorizon: [3], seasonLength: 24 };

describe("the statsforecast runner's request", () => {
  it("accepts the request the backtest command writes, gaps as null", async () => {
    const request = peerRequest(
      series,
      split,
      new BacktestScorer(series, split, options),
      options,
    ) as {
      series: { values: (number | null)[]; origins: Record<string, number[]> }[];
    };

    expect(request.series[0]?.values[80]).toBeNull();
    expect(request.series[0]?.origins).toEqual({
      "3": [70, 73, 76, 79, 82, 85, 88, 91, 94, 97],
      "12": [70, 82],
    });
    const result = await check(request);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, series: 2 });
  });

  it("rejects an origin whose window would run past the series, naming the field", async () => {
    const request = peerRequest(
      series,
      split,
      new BacktestScorer(series, split, options),
      options,
    ) as {
      series: { origins: Record<string, number[]> }[];
    };
    request.series[1]?.origins["12"]?.push(35);

    const result = await check(request);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "request field series[1].origins.12: expected integers o with trainEnd <= o and o + 12 <= 40",
    );
  });

  it("rejects a model it does not run", async () => {
    const result = await check({
      seasonLength: 24,
      mainHorizon: 12,
      models: ["Prophet"],
      series: [],
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "request field models: expected a list drawn from AutoETS, MSTL, SeasonalNaive, CrostonOptimized",
    );
  });
});

type Unit = [number, string, "main" | ["window", number, number]];

describe("the statsforecast runner's plan of work", () => {
  // Series of 20 and 10 days of hourly steps (season 24) fitted on 70 %, and one fitted on 20
  // steps, too few for two conformal windows of 12 (statsforecast needs 25).
  const planned: SeriesInput[] = [
    {
      id: "short",
      values: Float64Array.from({ length: 40 }, (_, i) => 1 + (i % 5)),
      startSeconds: 0,
      stepSeconds: 3_600,
    },
    {
      id: "long",
      values: Float64Array.from({ length: 480 }, (_, i) => 10 + Math.sin(i / 3)),
      startSeconds: 0,
      stepSeconds: 3_600,
    },
    {
      id: "medium",
      values: Float64Array.from({ length: 240 }, (_, i) => 10 + Math.cos(i / 3)),
      startSeconds: 0,
      stepSeconds: 3_600,
    },
  ];
  const plannedSplit = {
    trainEnd: [20, 336, 168],
    testStart: [20, 336, 168],
  };
  const plannedOptions = { horizon: 12, byHorizon: [], seasonLength: 24 };

  async function plan(): Promise<Unit[]> {
    const request = peerRequest(
      planned,
      plannedSplit,
      new BacktestScorer(planned, plannedSplit, plannedOptions),
      plannedOptions,
    );
    const result = await check(request, "--plan");
    expect(result.stderr).toBe("");
    return JSON.parse(result.stdout) as Unit[];
  }

  it("runs AutoETS's fit and each of its three conformal refits as separate units", async () => {
    const units = await plan();

    const autoEts = units.filter(([series, model]) => series === 1 && model === "AutoETS");
    expect(autoEts.map(([, , part]) => part)).toEqual([
      "main",
      ["window", 12, 0],
      ["window", 12, 1],
      ["window", 12, 2],
    ]);
    for (const model of ["MSTL", "SeasonalNaive", "CrostonOptimized"]) {
      expect(units.filter(([series, m]) => series === 1 && m === model)).toEqual([
        [1, model, "main"],
      ]);
    }
  });

  it("takes the longest series' AutoETS units first, and a series' cheap models after them", async () => {
    const units = await plan();

    expect(units[0]).toEqual([1, "AutoETS", "main"]);
    const lastLong = units.findLastIndex(([s, m]) => s === 1 && m === "AutoETS");
    const firstMedium = units.findIndex(([s, m]) => s === 2 && m === "AutoETS");
    expect(lastLong).toBeLessThan(firstMedium);
    const firstCheap = units.findIndex(
      ([s, m]) => s === 1 && (m === "SeasonalNaive" || m === "CrostonOptimized"),
    );
    expect(firstCheap).toBeGreaterThan(lastLong);
  });

  it("plans no conformal refits for a series too short for two windows (it falls back)", async () => {
    const units = await plan();

    expect(
      units.filter(([series]) => series === 0).map(([, model, part]) => [model, part]),
    ).toEqual(expect.arrayContaining([["AutoETS", "main"]]));
    expect(units.some(([series, , part]) => series === 0 && part !== "main")).toBe(false);
  });
});

describe("SHAPER_PEER_MODELS", () => {
  it("selects the peers named, in report order", () => {
    expect(peerModelsFromEnv("SeasonalNaive, MSTL")).toEqual(["MSTL", "SeasonalNaive"]);
  });

  it("means all four peers when unset or empty", () => {
    expect(peerModelsFromEnv(undefined)).toBeUndefined();
    expect(peerModelsFromEnv(" ")).toBeUndefined();
  });

  it("rejects a name that is not a peer, listing the valid ones", () => {
    expect(() => peerModelsFromEnv("MSTL,Prophet")).toThrow(
      "SHAPER_PEER_MODELS names Prophet, which are not statsforecast peers; expected a comma-separated subset of AutoETS, MSTL, SeasonalNaive, CrostonOptimized",
    );
  });
});
