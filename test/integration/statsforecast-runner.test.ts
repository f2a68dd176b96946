import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BacktestScorer } from "../../layers/domain/forecasting/backtest/backtest-scorer.js";
import { holdoutSplit } from "../../layers/domain/forecasting/backtest/backtest-split.js";
import type { SeriesInput } from "../../layers/domain/forecasting/methods/method.js";
import { peerRequest, STATSFORECAST_RUNNER } from "../../local/statsforecast-peers.js";

// The runner's request validation needs only Python (no statsforecast), so the contract between
// what the command writes and what the runner accepts is checked here; the forecasts themselves
// need the peers' virtualenv and are exercised by `shaper backtest --peers statsforecast`.
const run = promisify(execFile);
const python = process.env.SHAPER_PYTHON ?? "python3";

async function check(request: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "shaper-runner-")), "request.json");
  writeFileSync(file, JSON.stringify(request));
  try {
    const { stdout, stderr } = await run(python, [STATSFORECAST_RUNNER, file, "--check"]);
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
