import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TRACE_FIXTURES } from "../helpers/trace-files.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin", "shaper.js");
const azure = path.join(TRACE_FIXTURES, "azure-tenant");

/** Runs `shaper …` as a user would. */
async function shaper(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: root,
      env: process.env,
      timeout: 120_000,
    });
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

interface Output {
  models: {
    name: string;
    series: number;
    wql: number;
    mase: number;
    coverage80: number;
    width80: number;
    fitSeconds: number;
    predictSeconds: number;
    windows: number;
    byHorizon: Record<string, { windows: number; wql: number }>;
    perSeries: { id: string; windows: number }[];
    peer?: boolean;
  }[];
  run: { protocol: string; seasonLength: number };
}

describe("shaper backtest", () => {
  it("backtests seasonal naive through a future file and writes the issue's JSON", async () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), "shaper-bt-")), "out.json");
    const result = await shaper(
      "backtest",
      "--format",
      "azure-tenant",
      "--history",
      path.join(azure, "history"),
      "--future",
      path.join(azure, "future"),
      "--methods",
      "seasonal-naive",
      "--json",
      json,
    );

    expect(result.stderr).toContain("seasonal-naive: ");
    expect(result.code).toBe(0);
    const output = JSON.parse(readFileSync(json, "utf8")) as Output;
    expect(output.models.map((m) => m.name)).toEqual(["seasonal-naive"]);
    const model = output.models[0];
    expect(model?.series).toBe(2);
    // The future holds 288 steps: 24 windows of 12 per series, 96 of 3, one of 288.
    expect(model?.windows).toBe(48);
    expect(Object.keys(model?.byHorizon ?? {})).toEqual(["3", "12", "288"]);
    expect(model?.byHorizon["3"]?.windows).toBe(192);
    expect(model?.byHorizon["288"]?.windows).toBe(2);
    for (const metric of [model?.wql, model?.mase, model?.coverage80, model?.width80]) {
      expect(Number.isFinite(metric)).toBe(true);
    }
    expect(model?.peer).toBeUndefined();
    expect(model?.perSeries.map((r) => r.id)).toEqual([
      "cust.903_domid/az_1_75/Interactive/memory",
      "cust.903_domid/az_1_75/Interactive/vcpus",
    ]);
    expect(output.run.protocol).toContain("--future");
    expect(result.stdout).toMatch(/seasonal-naive\s+2\s+\d/);
  });

  it("splits a lone history 70/30", async () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), "shaper-bt-")), "out.json");
    const result = await shaper(
      "backtest",
      "--format",
      "azure-tenant",
      "--history",
      path.join(azure, "history"),
      "--methods",
      "seasonal-naive",
      "--by-horizon",
      "3",
      "--max-series",
      "1",
      "--json",
      json,
    );

    expect(result.code).toBe(0);
    const model = (JSON.parse(readFileSync(json, "utf8")) as Output).models[0];
    // 864 steps: fit on 604, score 260 → 21 windows of 12, 86 of 3.
    expect(model?.series).toBe(1);
    expect(model?.windows).toBe(21);
    expect(model?.byHorizon["3"]?.windows).toBe(86);
  });

  it("explains an unknown method", async () => {
    const result = await shaper(
      "backtest",
      "--format",
      "azure-tenant",
      "--history",
      path.join(azure, "history"),
      "--methods",
      "prophet",
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Unknown forecasting method "prophet". Known: shaper, seasonal-naive',
    );
  });

  it("explains a trace that does not match the format", async () => {
    const result = await shaper(
      "backtest",
      "--format",
      "nab",
      "--history",
      path.join(azure, "history"),
      "--methods",
      "seasonal-naive",
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the header lacks "timestamp"; a nab trace has them/);
  });
});
