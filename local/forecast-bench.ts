import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { readTrace } from "../layers/adapters/traces/read-trace.js";
import { BACKTEST_QUANTILES } from "../layers/domain/forecasting/backtest/backtest-scorer.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";
import { forecastMethods } from "./forecast-methods.js";
import { ensureStatsforecastVenv, PEERS_DIR } from "./statsforecast-peers.js";
import { formatTable } from "./table.js";

/**
 * The forecast speed benchmark of issue 3, a section of `npm run bench`: N series of L hourly
 * points cut from the Bitbrains and Azure traces, season 24; fit + H-step forecast with quantiles
 * 0.1…0.9 by a shaper method (the product's "shaper" by default) in `jobs` Node child processes,
 * and by statsforecast `AutoETS(season_length=24)` with `n_jobs = jobs`, on the same series (one
 * float64 file both sides read) in the same run. Reports both times, the ratio ours / theirs, and
 * peak memory of each side's process tree.
 *
 * The series: every Bitbrains (CPU MHz, memory KB per VM) and Azure (vCPU, memory per tenant and
 * category) series read by `readTrace` is resampled to hourly means on the UTC hour grid; hours
 * without a sample are filled linearly (statsforecast takes no NaN; both sides get the same
 * values), and each series is divided by its own mean so the junctions below join like-sized
 * values. No source series reaches L = 2,000 hours (Bitbrains: two months ≈ 1,490 h; Azure: 20
 * days = 480 h), so the hourly series are laid end to end in one tape and window i is the L-point
 * slice starting at round(i · (tape − L) / (N − 1)): windows spread evenly over the tape, overlap
 * their neighbours and cross junctions between source series. The output says so.
 *
 * Quantiles on the statsforecast side: `forecast(h, level=[20, 40, 60, 80])`, AutoETS's own
 * prediction intervals from the fitted model (lo-80 … hi-80 are q0.1 … q0.9, the mean is q0.5),
 * which is how a statsforecast user gets quantiles from AutoETS; no conformal calibration.
 */

const HOUR_SECONDS = 3600;
const SEASON_HOURS = 24;
const TWO_GIB = 2 ** 31;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where `npm run bench` looks for bitbrains-rnd-2013/ and azure-vm-2017-tenant-demand/. */
export const DEFAULT_TRACE_DATA_DIR = path.resolve(root, "../shared/data");

/** The statsforecast side (or a stand-in): reads the series file, returns its timing. */
export type PeerRunner = (run: PeerRun) => Promise<BenchSide>;

export interface PeerRun {
  /** Little-endian float64, series after series, `length` values each. */
  readonly file: string;
  readonly series: number;
  readonly length: number;
  readonly seasonLength: number;
  readonly horizon: number;
  readonly jobs: number;
  readonly progress: (line: string) => void;
}

export interface ForecastBenchOptions {
  /** Method under test (local/forecast-methods.ts). @default "shaper" */
  readonly method?: string;
  /** @default 10,000 */
  readonly series?: number;
  /** Hourly points per series. @default 2,000 */
  readonly length?: number;
  /** @default 48 */
  readonly horizon?: number;
  /** Cores: Node child processes on our side, n_jobs for statsforecast. @default 2 */
  readonly jobs?: number;
  /**
   * Most series per task handed to a child process (tasks go to whichever is free; fewer when
   * the series would make under 8 tasks per process). @default 100
   */
  readonly batch?: number;
  /** Directory holding bitbrains-rnd-2013/ and azure-vm-2017-tenant-demand/. */
  readonly dataDir: string;
  /** Measure our side only. @default false */
  readonly skipPeer?: boolean;
  /** The other side. @default statsforecast AutoETS in the cached virtualenv */
  readonly peer?: PeerRunner;
  /** Also write the result here (the bench command writes it into out/bench.json instead). */
  readonly jsonPath?: string;
  readonly print: (line: string) => void;
  readonly progress: (line: string) => void;
}

export interface BenchSide {
  readonly name: string;
  /** Wall seconds of fit + forecast of all series (process start and data loading excluded). */
  readonly seconds: number;
  /**
   * CPU seconds (user + system, all the side's processes) of the same span: less sensitive than
   * wall time to other work on the machine.
   */
  readonly cpuSeconds: number;
  readonly seriesPerSecond: number;
  /** Peak resident memory of the side's whole process tree, bytes. */
  readonly peakMemoryBytes: number;
  readonly detail: Readonly<Record<string, number | string | boolean | readonly number[]>>;
}

/** How the benchmark series were cut from the traces. */
export interface BenchWindows {
  /** Hourly source series, per trace. */
  readonly sources: { readonly bitbrains: number; readonly azure: number };
  readonly longestSourceHours: number;
  /** Hours in the tape the windows are cut from (all sources end to end). */
  readonly tapeHours: number;
  /** Hours filled linearly (no sample in the hour), of the tape. */
  readonly filledHours: number;
  /** Windows with a distinct start. */
  readonly distinctWindows: number;
  /** Disjoint windows the tape holds. */
  readonly disjointWindows: number;
  /** Hours between successive window starts (mean). */
  readonly strideHours: number;
  readonly overlapping: boolean;
  readonly note: string;
}

export interface ForecastBenchResult {
  readonly series: number;
  readonly length: number;
  readonly horizon: number;
  readonly seasonLength: number;
  readonly quantiles: readonly number[];
  readonly jobs: number;
  readonly cpu: string;
  /** `uptime` load averages (1, 5, 15 min) before and after each side. */
  readonly loadAverage: Readonly<Record<string, readonly number[]>>;
  readonly windows: BenchWindows;
  readonly peerQuantiles: string;
  readonly shaper: BenchSide;
  readonly statsforecast?: BenchSide;
  /** shaper seconds / statsforecast seconds (≤ 1 meets the target). */
  readonly ratio?: number;
  /** shaper CPU seconds / statsforecast CPU seconds (the same comparison, robust to load). */
  readonly cpuRatio?: number;
  readonly meetsTimeTarget?: boolean;
  readonly memoryUnder2GiB: boolean;
}

const PEER_QUANTILES =
  "AutoETS intervals from the fitted model: forecast(h, level=[20, 40, 60, 80]); lo-80, lo-60, lo-40, lo-20, mean, hi-20, hi-40, hi-60, hi-80 are q0.1 … q0.9 (no conformal calibration)";

/**
 * Runs the speed benchmark.
 *
 * @param options sizes, data directory, sides to run, where to print
 * @returns both sides' times and memory, and their ratio
 * @throws Error when a trace is missing, our method returns a non-finite or misshapen forecast,
 *   or the peer fails
 */
export async function runForecastBench(
  options: ForecastBenchOptions,
): Promise<ForecastBenchResult> {
  const method = options.method ?? "shaper";
  forecastMethods([method]); // fails early on an unknown name
  const count = options.series ?? 10_000;
  const length = options.length ?? 2_000;
  const horizon = options.horizon ?? 48;
  const jobs = options.jobs ?? 2;
  // Tasks small enough that every process gets several (the last ones finish together).
  const batch = Math.min(options.batch ?? 100, Math.max(1, Math.ceil(count / (8 * jobs))));
  const loadAverage: Record<string, readonly number[]> = {};

  options.progress("forecast speed: cutting the series from the Bitbrains and Azure traces…");
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-forecast-bench-"));
  const file = path.join(dir, "series.f64");
  // The values live only in the file from here on (this process holds none while timing).
  const windows = await writeBenchSeries(options.dataDir, count, length, file);
  options.print(
    `Forecast speed: ${fmt(count)} series × ${fmt(length)} hourly points, season ${SEASON_HOURS}, horizon ${horizon}, quantiles 0.1…0.9, ${jobs} cores.`,
  );
  options.print(`  ${windows.note}`);
  try {
    loadAverage.beforeShaper = loadavg();
    const ours = await runOurs({ method, file, count, length, horizon, jobs, batch }, options);
    loadAverage.afterShaper = loadavg();
    options.print(
      `  ${method}: ${ours.seconds.toFixed(1)} s (${ours.seriesPerSecond.toFixed(1)} series/s), peak RSS ${mib(ours.peakMemoryBytes)}`,
    );
    let peer: BenchSide | undefined;
    if (!options.skipPeer) {
      loadAverage.beforePeer = loadavg();
      peer = await (options.peer ?? runStatsforecast)({
        file,
        series: count,
        length,
        seasonLength: SEASON_HOURS,
        horizon,
        jobs,
        progress: options.progress,
      });
      loadAverage.afterPeer = loadavg();
      options.print(
        `  ${peer.name}: ${peer.seconds.toFixed(1)} s (${peer.seriesPerSecond.toFixed(1)} series/s), peak RSS ${mib(peer.peakMemoryBytes)}`,
      );
    }
    const ratio = peer ? ours.seconds / peer.seconds : undefined;
    const result: ForecastBenchResult = {
      series: count,
      length,
      horizon,
      seasonLength: SEASON_HOURS,
      quantiles: BACKTEST_QUANTILES,
      jobs,
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
      loadAverage,
      windows,
      peerQuantiles: PEER_QUANTILES,
      shaper: ours,
      ...(peer && ratio !== undefined
        ? {
            statsforecast: peer,
            ratio,
            cpuRatio: ours.cpuSeconds / peer.cpuSeconds,
            meetsTimeTarget: ratio <= 1,
          }
        : {}),
      memoryUnder2GiB: ours.peakMemoryBytes < TWO_GIB,
    };
    printSummary(result, options.print);
    if (options.jsonPath) {
      mkdirSync(path.dirname(path.resolve(options.jsonPath)), { recursive: true });
      writeFileSync(options.jsonPath, `${JSON.stringify(result, null, 2)}\n`);
      options.print(`Wrote ${options.jsonPath}.`);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printSummary(result: ForecastBenchResult, print: (line: string) => void): void {
  const sides = [result.shaper, ...(result.statsforecast ? [result.statsforecast] : [])];
  print("");
  print(
    formatTable(
      ["side", "seconds", "CPU seconds", "series/s", "peak RSS"],
      sides.map((s) => [
        s.name,
        s.seconds.toFixed(1),
        s.cpuSeconds.toFixed(1),
        s.seriesPerSecond.toFixed(1),
        mib(s.peakMemoryBytes),
      ]),
    ),
  );
  const load = (key: string) => (result.loadAverage[key] ?? []).map((v) => v.toFixed(2)).join(" ");
  const verdict =
    result.ratio === undefined
      ? "statsforecast skipped, no ratio"
      : `ratio ${result.shaper.name} / statsforecast = ${result.ratio.toFixed(3)} (${result.meetsTimeTarget ? "meets" : "misses"} the target ≤ 1; by CPU seconds ${result.cpuRatio?.toFixed(3)})`;
  print(
    `\n${verdict}; ${result.shaper.name} peak RSS ${result.memoryUnder2GiB ? "under" : "OVER"} 2 GiB. Load average before ${load("beforeShaper")}${result.loadAverage.afterPeer ? `, after ${load("afterPeer")}` : ""}.`,
  );
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

// ---------------------------------------------------------------------------------------------
// The series

/** An hourly series: values, and how many of its hours had no sample and were filled. */
export interface HourlySeries {
  readonly values: Float64Array;
  readonly filledHours: number;
}

/**
 * Resamples a regular series to hourly means on the UTC hour grid (NaN samples ignored), fills
 * hours without a sample linearly between the neighbouring observed hours (held at either end),
 * and divides by the series mean.
 *
 * @param s a series with any step dividing an hour (e.g. 300 s)
 * @returns the hourly series, or undefined when it has no finite sample or its mean is not > 0
 */
export function toHourly(s: SeriesInput): HourlySeries | undefined {
  if (s.values.length === 0) return undefined;
  const firstHour = Math.floor(s.startSeconds / HOUR_SECONDS);
  const lastHour = Math.floor(
    (s.startSeconds + (s.values.length - 1) * s.stepSeconds) / HOUR_SECONDS,
  );
  const sums = new Float64Array(lastHour - firstHour + 1);
  const counts = new Uint32Array(sums.length);
  for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i] as number;
    if (!Number.isFinite(v)) continue;
    const h = Math.floor((s.startSeconds + i * s.stepSeconds) / HOUR_SECONDS) - firstHour;
    sums[h] = (sums[h] as number) + v;
    counts[h] = (counts[h] as number) + 1;
  }
  const out = new Float64Array(sums.length).fill(Number.NaN);
  let observed = 0;
  for (let h = 0; h < out.length; h++) {
    if ((counts[h] as number) > 0) {
      out[h] = (sums[h] as number) / (counts[h] as number);
      observed++;
    }
  }
  if (observed === 0) return undefined;
  let previous = -1;
  for (let h = 0; h <= out.length; h++) {
    if (h < out.length && Number.isNaN(out[h])) continue;
    // Fill (previous, h): linear between two observed hours, held at either end.
    const left = previous >= 0 ? (out[previous] as number) : undefined;
    const right = h < out.length ? (out[h] as number) : undefined;
    for (let k = previous + 1; k < h; k++) {
      out[k] =
        left !== undefined && right !== undefined
          ? left + ((right - left) * (k - previous)) / (h - previous)
          : ((left ?? right) as number);
    }
    previous = h;
  }
  let sum = 0;
  for (const v of out) sum += v;
  const mean = sum / out.length;
  if (!(mean > 0) || !Number.isFinite(mean)) return undefined;
  for (let h = 0; h < out.length; h++) out[h] = (out[h] as number) / mean;
  return { values: out, filledHours: out.length - observed };
}

/**
 * Start of each of `count` windows of `length` points spread evenly over a tape of `tapeLength`
 * points: round(i · (tape − length) / (count − 1)), the first at 0 and the last at the tape's end.
 *
 * @throws Error when the tape is shorter than one window
 */
export function windowStarts(tapeLength: number, count: number, length: number): number[] {
  const room = tapeLength - length;
  if (room < 0) {
    throw new Error(
      `The hourly tape holds ${tapeLength} points, fewer than one window of ${length}. Use a shorter --length or more trace data.`,
    );
  }
  return Array.from({ length: count }, (_, i) =>
    count === 1 ? 0 : Math.round((i * room) / (count - 1)),
  );
}

/**
 * The benchmark series: windows cut from the hourly Bitbrains and Azure series laid end to end
 * (see the module comment).
 *
 * @param dataDir directory holding bitbrains-rnd-2013/ and azure-vm-2017-tenant-demand/
 * @param count number of series
 * @param length points per series
 * @returns the values (series after series) and how the windows were cut
 * @throws ValidationError from the trace readers; Error when the tape is shorter than a window
 */
export async function buildBenchSeries(
  dataDir: string,
  count: number,
  length: number,
): Promise<{ readonly data: Float64Array; readonly starts: number[]; windows: BenchWindows }> {
  const { tape, sources, longest, filled } = await hourlyTape(dataDir);
  const starts = windowStarts(tape.length, count, length);
  const data = new Float64Array(count * length);
  starts.forEach((start, i) => {
    data.set(tape.subarray(start, start + length), i * length);
  });
  const distinctWindows = new Set(starts).size;
  const disjointWindows = Math.floor(tape.length / length);
  const strideHours = count > 1 ? (tape.length - length) / (count - 1) : 0;
  const overlapping = count > 1 && strideHours < length;
  const sourceCount = sources.bitbrains + sources.azure;
  const note = [
    `The traces hold ${fmt(sourceCount)} hourly series (${sources.bitbrains} Bitbrains, ${sources.azure} Azure), the longest ${fmt(longest)} hours`,
    longest < length ? ` (none reaches ${fmt(length)})` : "",
    `. Laid end to end (each divided by its mean; ${fmt(filled)} hours without a sample filled linearly) they make a tape of ${fmt(tape.length)} hours.`,
    ` The ${fmt(count)} windows of ${fmt(length)} hours start every ${strideHours.toFixed(1)} h along it`,
    overlapping
      ? `, so they overlap (the tape holds only ${fmt(disjointWindows)} disjoint windows)`
      : "",
    distinctWindows < count ? `; only ${fmt(distinctWindows)} of them are distinct` : "",
    longest < length ? "; every window crosses junctions between source series." : ".",
  ].join("");
  return {
    data,
    starts,
    windows: {
      sources,
      longestSourceHours: longest,
      tapeHours: tape.length,
      filledHours: filled,
      distinctWindows,
      disjointWindows,
      strideHours: Math.round(strideHours * 100) / 100,
      overlapping,
      note,
    },
  };
}

/** Writes the benchmark series to `file` (float64, little-endian, series after series). */
async function writeBenchSeries(
  dataDir: string,
  count: number,
  length: number,
  file: string,
): Promise<BenchWindows> {
  const { data, windows } = await buildBenchSeries(dataDir, count, length);
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return windows;
}

/** Every Bitbrains and Azure series, hourly, gap-filled, mean-scaled, laid end to end. */
async function hourlyTape(dataDir: string): Promise<{
  tape: Float64Array;
  sources: { bitbrains: number; azure: number };
  longest: number;
  filled: number;
}> {
  const sources = { bitbrains: 0, azure: 0 };
  const parts: Float64Array[] = [];
  let filled = 0;
  const reads = [
    ["bitbrains", "bitbrains", "bitbrains-rnd-2013"],
    ["azure", "azure-tenant", "azure-vm-2017-tenant-demand"],
  ] as const;
  for (const [key, format, sub] of reads) {
    const read = await readTrace(format, path.join(dataDir, sub));
    for (const s of read.series) {
      const hourly = toHourly(s);
      if (!hourly) continue;
      parts.push(hourly.values);
      filled += hourly.filledHours;
      sources[key]++;
    }
  }
  const tape = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  let longest = 0;
  for (const p of parts) {
    tape.set(p, at);
    at += p.length;
    longest = Math.max(longest, p.length);
  }
  return { tape, sources, longest, filled };
}

// ---------------------------------------------------------------------------------------------
// Our side: `jobs` Node child processes (forecast-bench-worker.ts), tasks of `batch` series

const WorkerLineSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ready") }),
  z.object({
    kind: z.literal("done"),
    series: z.number().int().min(0),
    fitSeconds: z.number().min(0),
    forecastSeconds: z.number().min(0),
    nonFinite: z.number().int().min(0),
    misshapen: z.number().int().min(0),
    nonMonotone: z.number().int().min(0),
  }),
  z.object({
    kind: z.literal("exit"),
    maxRssBytes: z.number().min(0),
    cpuSeconds: z.number().min(0),
  }),
  z.object({ kind: z.literal("error"), message: z.string() }),
]);
type WorkerLine = z.infer<typeof WorkerLineSchema>;

interface Child {
  readonly send: (line: string) => void;
  readonly next: () => Promise<WorkerLine>;
  readonly exited: Promise<number>;
  readonly kill: () => void;
}

function startChild(args: readonly string[]): Child {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const worker = fileURLToPath(new URL("./forecast-bench-worker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", tsx, worker, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let stderrTail = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<number>((resolve) => {
    child.on("error", () => resolve(1));
    child.on("close", (code) => resolve(code ?? 1));
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    send: (line) => child.stdin.write(`${line}\n`),
    next: async () => {
      const { value, done } = await lines.next();
      if (done) {
        const code = await exited;
        throw new Error(`A benchmark worker exited (code ${code}) early:\n${stderrTail}`);
      }
      const line = WorkerLineSchema.parse(JSON.parse(value));
      if (line.kind === "error") throw new Error(`A benchmark worker failed: ${line.message}`);
      return line;
    },
    exited,
    kill: () => child.kill(),
  };
}

async function runOurs(
  run: {
    method: string;
    file: string;
    count: number;
    length: number;
    horizon: number;
    jobs: number;
    batch: number;
  },
  options: ForecastBenchOptions,
): Promise<BenchSide> {
  const tasks: Array<[number, number]> = [];
  for (let from = 0; from < run.count; from += run.batch) {
    tasks.push([from, Math.min(from + run.batch, run.count)]);
  }
  let sampledPeak = treeRssBytes(process.pid);
  let parentPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, treeRssBytes(process.pid));
    parentPeak = Math.max(parentPeak, process.memoryUsage().rss);
  }, 100);
  const args = [
    run.file,
    "--method",
    run.method,
    "--length",
    String(run.length),
    "--horizon",
    String(run.horizon),
    "--season",
    String(SEASON_HOURS),
    "--step-seconds",
    String(HOUR_SECONDS),
  ];
  const spawned = performance.now();
  const children = Array.from({ length: run.jobs }, () => startChild(args));
  try {
    for (const c of children) {
      const line = await c.next();
      if (line.kind !== "ready") throw new Error(`A benchmark worker said ${line.kind} first.`);
    }
    const started = performance.now();
    let done = 0;
    let lastReport = started;
    const totals = { fit: 0, forecast: 0, nonFinite: 0, misshapen: 0, nonMonotone: 0 };
    await Promise.all(
      children.map(async (c) => {
        for (let task = tasks.shift(); task; task = tasks.shift()) {
          c.send(JSON.stringify({ from: task[0], to: task[1] }));
          const line = await c.next();
          if (line.kind !== "done") throw new Error(`A benchmark worker said ${line.kind}.`);
          done += line.series;
          totals.fit += line.fitSeconds;
          totals.forecast += line.forecastSeconds;
          totals.nonFinite += line.nonFinite;
          totals.misshapen += line.misshapen;
          totals.nonMonotone += line.nonMonotone;
          const now = performance.now();
          if (now - lastReport > 10_000) {
            lastReport = now;
            options.progress(
              `forecast speed: ${run.method} ${fmt(done)}/${fmt(run.count)} series, ${((now - started) / 1000).toFixed(0)} s`,
            );
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const workerMaxRss: number[] = [];
    let cpuSeconds = 0;
    for (const c of children) {
      c.send("end");
      const line = await c.next();
      if (line.kind !== "exit") throw new Error(`A benchmark worker said ${line.kind} at the end.`);
      workerMaxRss.push(line.maxRssBytes);
      cpuSeconds += line.cpuSeconds;
      await c.exited;
    }
    if (totals.nonFinite + totals.misshapen > 0) {
      throw new Error(
        `${run.method} returned ${totals.nonFinite} forecasts with NaN or infinite values and ${totals.misshapen} without ${BACKTEST_QUANTILES.length} quantiles × ${run.horizon} steps; the timing would be meaningless.`,
      );
    }
    // Upper bound: the parent's peak plus each child's own peak (they need not coincide), or
    // the sampled tree, whichever is higher.
    const bound = parentPeak + workerMaxRss.reduce((a, b) => a + b, 0);
    return {
      name: run.method,
      seconds,
      cpuSeconds,
      seriesPerSecond: done / seconds,
      peakMemoryBytes: Math.max(sampledPeak, bound),
      detail: {
        processes: run.jobs,
        seriesPerTask: run.batch,
        startupSeconds: round((started - spawned) / 1000),
        // Wall seconds inside fit / forecast calls, summed over the processes.
        fitSecondsSummed: round(totals.fit),
        forecastSecondsSummed: round(totals.forecast),
        nonMonotoneForecasts: totals.nonMonotone,
        sampledTreePeakRssBytes: sampledPeak,
        parentPeakRssBytes: parentPeak,
        workerMaxRssBytes: workerMaxRss,
      },
    };
  } finally {
    clearInterval(sampler);
    for (const c of children) c.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// The statsforecast side

const PeerAnswerSchema = z.object({
  seconds: z.number().positive(),
  cpuSeconds: z.number().min(0),
  series: z.number().int().min(1),
  rows: z.number().int(),
  columns: z.number().int(),
  finite: z.boolean(),
  maxRssSelfBytes: z.number(),
  maxRssLargestChildBytes: z.number(),
  statsforecast: z.string(),
});

/** statsforecast AutoETS(season_length) with n_jobs = jobs on the series file. */
export async function runStatsforecast(run: PeerRun): Promise<BenchSide> {
  const venvPython = ensureStatsforecastVenv(run.progress);
  run.progress(
    `forecast speed: statsforecast AutoETS on ${fmt(run.series)} series with n_jobs=${run.jobs} (no progress until it ends)…`,
  );
  const child = spawn(
    venvPython,
    [
      path.join(PEERS_DIR, "statsforecast_speed.py"),
      run.file,
      "--series",
      String(run.series),
      "--length",
      String(run.length),
      "--season",
      String(run.seasonLength),
      "--horizon",
      String(run.horizon),
      "--jobs",
      String(run.jobs),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  // Peak memory of the whole process tree (n_jobs are child processes).
  let peak = 0;
  const started = performance.now();
  let lastReport = started;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) peak = Math.max(peak, treeRssBytes(child.pid));
    const now = performance.now();
    if (now - lastReport > 60_000) {
      lastReport = now;
      run.progress(
        `forecast speed: statsforecast running, ${((now - started) / 1000).toFixed(0)} s`,
      );
    }
  }, 250);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`statsforecast_speed.py exited with ${code}:\n${stderr}`);
    const answer = PeerAnswerSchema.parse(JSON.parse(stdout.trim().split("\n").pop() ?? "{}"));
    if (!answer.finite) throw new Error("statsforecast returned non-finite forecasts.");
    return {
      name: `statsforecast ${answer.statsforecast} AutoETS(season_length=${run.seasonLength}), n_jobs=${run.jobs}`,
      seconds: answer.seconds,
      cpuSeconds: answer.cpuSeconds,
      seriesPerSecond: answer.series / answer.seconds,
      peakMemoryBytes: Math.max(peak, answer.maxRssSelfBytes),
      detail: {
        nJobs: run.jobs,
        forecastRows: answer.rows,
        forecastColumns: answer.columns,
        sampledTreePeakRssBytes: peak,
        maxRssSelfBytes: answer.maxRssSelfBytes,
        maxRssLargestChildBytes: answer.maxRssLargestChildBytes,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Resident memory of a process and all its descendants (Linux /proc), bytes; 0 elsewhere. */
export function treeRssBytes(rootPid: number): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return 0;
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  const stack = [rootPid];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    try {
      const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
      total += pages * 4096;
    } catch {
      // ended meanwhile
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
