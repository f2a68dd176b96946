import { cpSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readTrace } from "../../layers/adapters/traces/read-trace.js";
import type { SeriesInput } from "../../layers/domain/forecasting/methods/method.js";
import { runBench } from "../../local/bench-command.js";
import {
  type BenchSide,
  buildBenchSeries,
  type PeerRun,
  runForecastBench,
  toHourly,
  windowStarts,
} from "../../local/forecast-bench.js";
import { TRACE_FIXTURES } from "../helpers/trace-files.js";

// The forecast speed section of `npm run bench` on the trace fixtures (cut from ../shared/data),
// with a handful of short series; the statsforecast side is replaced by a stand-in that reads
// the same series file (the real one is run by `npm run bench`). Nothing here asserts on time.

/** A data directory laid out like ../shared/data, holding the Bitbrains and Azure fixtures. */
function fixtureDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-forecast-bench-data-"));
  const bitbrains = path.join(dir, "bitbrains-rnd-2013");
  const azure = path.join(dir, "azure-vm-2017-tenant-demand");
  mkdirSync(bitbrains);
  mkdirSync(azure);
  cpSync(path.join(TRACE_FIXTURES, "bitbrains"), bitbrains, { recursive: true });
  cpSync(path.join(TRACE_FIXTURES, "azure-tenant", "history"), azure, { recursive: true });
  return dir;
}

function fiveMinute(startSeconds: number, values: number[]): SeriesInput {
  return { id: "s", values: Float64Array.from(values), startSeconds, stepSeconds: 300 };
}

const silent = () => {};

describe("toHourly", () => {
  it("averages each UTC hour's samples, skipping NaN, fills empty hours linearly and divides by the mean", () => {
    // Starts half past hour 0: six samples of 2; hour 1 has no sample; hour 2 holds eleven 6s and a NaN.
    const values = [
      ...Array<number>(6).fill(2),
      ...Array<number>(12).fill(Number.NaN),
      ...Array<number>(11).fill(6),
      Number.NaN,
    ];
    const hourly = toHourly(fiveMinute(1800, values));
    // Hourly means 2, (filled) 4, 6; mean 4.
    expect(Array.from(hourly?.values ?? [])).toEqual([0.5, 1, 1.5]);
    expect(hourly?.filledHours).toBe(1);
  });

  it("holds the first and last observed hours over empty hours at either end", () => {
    const values = [
      ...Array<number>(12).fill(Number.NaN),
      ...Array<number>(12).fill(3),
      ...Array<number>(12).fill(5),
      ...Array<number>(12).fill(Number.NaN),
    ];
    const hourly = toHourly(fiveMinute(0, values));
    expect(Array.from(hourly?.values ?? [])).toEqual([0.75, 0.75, 1.25, 1.25]);
    expect(hourly?.filledHours).toBe(2);
  });

  it("gives nothing for a series with no positive mean or no sample", () => {
    expect(toHourly(fiveMinute(0, Array<number>(24).fill(0)))).toBeUndefined();
    expect(toHourly(fiveMinute(0, Array<number>(24).fill(Number.NaN)))).toBeUndefined();
    expect(toHourly(fiveMinute(0, []))).toBeUndefined();
  });
});

describe("windowStarts", () => {
  it("spreads the windows from the tape's start to its end", () => {
    expect(windowStarts(10, 3, 4)).toEqual([0, 3, 6]);
    expect(windowStarts(10, 1, 4)).toEqual([0]);
  });

  it("repeats starts when the tape has fewer positions than windows", () => {
    expect(windowStarts(5, 4, 4)).toEqual([0, 0, 1, 1]);
  });

  it("refuses a tape shorter than one window", () => {
    expect(() => windowStarts(3, 2, 4)).toThrow(/fewer than one window of 4/);
  });
});

describe("buildBenchSeries", () => {
  it("cuts every window from the hourly Bitbrains and Azure series laid end to end", async () => {
    const dir = fixtureDataDir();
    const parts: Float64Array[] = [];
    for (const [format, sub] of [
      ["bitbrains", "bitbrains-rnd-2013"],
      ["azure-tenant", "azure-vm-2017-tenant-demand"],
    ] as const) {
      for (const s of (await readTrace(format, path.join(dir, sub))).series) {
        const hourly = toHourly(s);
        if (hourly) parts.push(hourly.values);
      }
    }
    const tape = parts.flatMap((p) => Array.from(p));
    const length = 100;
    const count = 40;
    const cut = await buildBenchSeries(dir, count, length);

    expect(cut.data.length).toBe(count * length);
    expect(cut.windows.tapeHours).toBe(tape.length);
    expect(cut.windows.sources.bitbrains + cut.windows.sources.azure).toBe(parts.length);
    // The fixtures' VM 2 CPU series is all zero and is left out.
    expect(cut.windows.sources).toEqual({ bitbrains: 3, azure: 2 });
    cut.starts.forEach((start, i) => {
      expect(Array.from(cut.data.subarray(i * length, (i + 1) * length))).toEqual(
        tape.slice(start, start + length),
      );
    });
    expect(cut.starts.at(-1)).toBe(tape.length - length);
    expect(cut.windows.overlapping).toBe(true);
    expect(cut.windows.note).toMatch(/overlap/);
  });
});

describe("the forecast speed benchmark", () => {
  const sizes = { series: 6, length: 120, horizon: 12, jobs: 2 };

  it("times shaper and the peer on the same series file and reports the ratio", async () => {
    const dir = fixtureDataDir();
    const seen: { run?: PeerRun; values?: Float64Array } = {};
    const peer = async (run: PeerRun): Promise<BenchSide> => {
      const bytes = readFileSync(run.file);
      seen.run = run;
      seen.values = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      return {
        name: "stand-in",
        seconds: 2,
        cpuSeconds: 4,
        seriesPerSecond: run.series / 2,
        peakMemoryBytes: 1,
        detail: {},
      };
    };
    const jsonPath = path.join(dir, "out", "forecast.json");
    const result = await runForecastBench({
      ...sizes,
      dataDir: dir,
      peer,
      jsonPath,
      print: silent,
      progress: silent,
    });

    const expected = await buildBenchSeries(dir, sizes.series, sizes.length);
    expect(Array.from(seen.values ?? [])).toEqual(Array.from(expected.data));
    expect(seen.run).toMatchObject({
      series: 6,
      length: 120,
      seasonLength: 24,
      horizon: 12,
      jobs: 2,
    });
    expect(result.shaper.name).toBe("shaper");
    expect(result.shaper.seconds).toBeGreaterThan(0);
    expect(result.shaper.seriesPerSecond).toBeCloseTo(6 / result.shaper.seconds, 6);
    expect(result.shaper.peakMemoryBytes).toBeGreaterThan(0);
    expect(result.shaper.detail.nonMonotoneForecasts).toBe(0);
    expect((result.shaper.detail.workerMaxRssBytes as number[]).length).toBe(2);
    expect(result.statsforecast?.name).toBe("stand-in");
    expect(result.shaper.cpuSeconds).toBeGreaterThan(0);
    expect(result.ratio).toBeCloseTo(result.shaper.seconds / 2, 9);
    expect(result.cpuRatio).toBeCloseTo(result.shaper.cpuSeconds / 4, 9);
    expect(result.meetsTimeTarget).toBe((result.ratio ?? 2) <= 1);
    expect(result.quantiles).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(result.memoryUnder2GiB).toBe(result.shaper.peakMemoryBytes < 2 ** 31);
    expect(Object.keys(result.loadAverage)).toEqual([
      "beforeShaper",
      "afterShaper",
      "beforePeer",
      "afterPeer",
    ]);
    expect(JSON.parse(readFileSync(jsonPath, "utf8"))).toEqual(JSON.parse(JSON.stringify(result)));
  });

  it("is written under forecastSpeed in the bench JSON, without a ratio when the peer is skipped", async () => {
    const dir = fixtureDataDir();
    const jsonPath = path.join(dir, "bench.json");
    const lines: string[] = [];
    await runBench({
      configFile: new URL("../../config/shaper.config.json", import.meta.url),
      jsonPath,
      print: (line) => lines.push(line),
      progress: silent,
      hotPaths: false,
      forecast: { ...sizes, series: 4, dataDir: dir, skipPeer: true },
    });
    const report = JSON.parse(readFileSync(jsonPath, "utf8"));
    expect(report.results).toEqual([]);
    expect(report.forecastSpeed).toMatchObject({
      series: 4,
      length: 120,
      horizon: 12,
      seasonLength: 24,
      jobs: 2,
      windows: { sources: { bitbrains: 3, azure: 2 } },
      shaper: { name: "shaper" },
      memoryUnder2GiB: true,
    });
    expect(report.forecastSpeed.shaper.seconds).toBeGreaterThan(0);
    expect(report.forecastSpeed).not.toHaveProperty("statsforecast");
    expect(report.forecastSpeed).not.toHaveProperty("ratio");
    expect(report.forecastSpeed).not.toHaveProperty("cpuRatio");
    expect(lines.join("\n")).toMatch(/statsforecast skipped, no ratio/);
  });

  it("refuses an unknown method before reading any trace", async () => {
    await expect(
      runForecastBench({
        ...sizes,
        method: "no-such-method",
        dataDir: "/nonexistent",
        print: silent,
        progress: silent,
      }),
    ).rejects.toThrow(/Unknown forecasting method "no-such-method"/);
  });
});
