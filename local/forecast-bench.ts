import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { readTrace } from "../layers/adapters/traces/read-trace.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";
import type { WorkerResult } from "./forecast-bench-worker.js";
import { FORECAST_METHODS } from "./forecast-methods.js";
import { ensureStatsforecastVenv, PEERS_DIR } from "./statsforecast-peers.js";
import { formatTable } from "./table.js";

/**
 * `npm run bench:forecast` (issue 3's speed target): N series of L hourly points cut from the
 * Bitbrains and Azure traces, season 24; fit + H-step forecast with quantiles 0.1…0.9 by a
 * shaper method (worker threads, one per core) and by statsforecast AutoETS(season_length=24)
 * with n_jobs = cores, on the same series in the same run. Prints both times, the ratio and peak
 * memory; writes JSON.
 *
 * The series: every Bitbrains (CPU MHz, memory KB) and Azure (vCPU, memory) series is resampled to
 * hourly means on the UTC hour grid, hours without a sample filled linearly (statsforecast takes no
 * NaN; both sides get the same filled values), and divided by its own mean (so the junctions below
 * join like-sized values). The shared traces hold at most ≈1,460 hourly points per series (two
 * Bitbrains months) — fewer than L = 2,000 — so the hourly series are laid end to end in one tape
 * and series i is the L-point window starting at ⌊i · (tape − L) / N⌋: windows spread evenly
 * over the tape, each crossing at most a couple of junctions between source series.
 */

export interface ForecastBenchOptions {
  /** Method under test. @default "shaper" when registered */
  readonly method?: string;
  /** @default 10,000 */
  readonly series?: number;
  /** Hourly points per series. @default 2,000 */
  readonly length?: number;
  /** @default 48 */
  readonly horizon?: number;
  /** Cores: worker threads on our side, n_jobs for statsforecast. @default 2 */
  readonly jobs?: number;
  /** Series per fit call in a worker (bounds memory). @default 500 */
  readonly batch?: number;
  /** Directory holding bitbrains-rnd-2013/ and azure-vm-2017-tenant-demand/. */
  readonly dataDir: string;
  /** Skip statsforecast (ours only). @default false */
  readonly skipPeer?: boolean;
  readonly jsonPath?: string;
  readonly print: (line: string) => void;
  readonly progress: (line: string) => void;
}

const SEASON = 24;
const HOUR = 3600;

export interface BenchSide {
  readonly name: string;
  readonly seconds: number;
  readonly seriesPerSecond: number;
  readonly peakMemoryBytes: number;
  readonly detail: Readonly<Record<string, number | string | boolean>>;
}

export interface ForecastBenchResult {
  readonly series: number;
  readonly length: number;
  readonly horizon: number;
  readonly seasonLength: number;
  readonly jobs: number;
  readonly cpu: string;
  readonly shaper: BenchSide;
  readonly statsforecast?: BenchSide;
  /** shaper seconds / statsforecast seconds (≤ 1 meets the target). */
  readonly ratio?: number;
}

/**
 * Runs the speed benchmark.
 *
 * @returns both sides' times and memory, and their ratio
 */
export async function runForecastBench(
  options: ForecastBenchOptions,
): Promise<ForecastBenchResult> {
  const method = options.method ?? defaultMethod();
  const count = options.series ?? 10_000;
  const length = options.length ?? 2_000;
  const horizon = options.horizon ?? 48;
  const jobs = options.jobs ?? 2;
  const batch = options.batch ?? 500;

  options.progress("Building the benchmark series from the Bitbrains and Azure traces…");
  const tape = await hourlyTape(options.dataDir);
  if (tape.length < length + count) {
    throw new Error(
      `The hourly tape holds ${tape.length} points; need at least ${length + count}.`,
    );
  }
  const shared = new SharedArrayBuffer(count * length * Float64Array.BYTES_PER_ELEMENT);
  const data = new Float64Array(shared);
  for (let i = 0; i < count; i++) {
    const start = Math.floor((i * (tape.length - length)) / count);
    data.set(tape.subarray(start, start + length), i * length);
  }
  options.print(
    `${count.toLocaleString("en-US")} series × ${length.toLocaleString("en-US")} hourly points (tape of ${tape.length.toLocaleString("en-US")} points), season ${SEASON}, horizon ${horizon}, quantiles 0.1…0.9, ${jobs} cores.`,
  );

  const ours = await runOurs({ method, shared, count, length, horizon, jobs, batch }, options);
  options.print(
    `${method}: ${ours.seconds.toFixed(1)} s (${ours.seriesPerSecond.toFixed(1)} series/s), peak RSS ${mib(ours.peakMemoryBytes)}`,
  );
  let peer: BenchSide | undefined;
  if (!options.skipPeer) {
    peer = await runStatsforecast({ data, count, length, horizon, jobs }, options);
    options.print(
      `statsforecast AutoETS(season_length=${SEASON}), n_jobs=${jobs}: ${peer.seconds.toFixed(1)} s (${peer.seriesPerSecond.toFixed(1)} series/s), peak RSS ${mib(peer.peakMemoryBytes)}`,
    );
  }
  const result: ForecastBenchResult = {
    series: count,
    length,
    horizon,
    seasonLength: SEASON,
    jobs,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
    shaper: ours,
    ...(peer ? { statsforecast: peer, ratio: ours.seconds / peer.seconds } : {}),
  };
  options.print("");
  options.print(
    formatTable(
      ["side", "seconds", "series/s", "peak memory"],
      [ours, ...(peer ? [peer] : [])].map((s) => [
        s.name,
        s.seconds.toFixed(1),
        s.seriesPerSecond.toFixed(1),
        mib(s.peakMemoryBytes),
      ]),
    ),
  );
  if (result.ratio !== undefined) {
    options.print(
      `\nratio ${method} / statsforecast = ${result.ratio.toFixed(3)} (${result.ratio <= 1 ? "meets" : "misses"} the target ≤ 1); memory ${ours.peakMemoryBytes < 2 ** 31 ? "under" : "over"} 2 GiB.`,
    );
  }
  if (options.jsonPath) {
    mkdirSync(path.dirname(path.resolve(options.jsonPath)), { recursive: true });
    writeFileSync(options.jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    options.print(`Wrote ${options.jsonPath}.`);
  }
  return result;
}

/** "shaper" when registered, else the first registered method. */
function defaultMethod(): string {
  return (FORECAST_METHODS.find((m) => m.name === "shaper") ?? FORECAST_METHODS[0])?.name ?? "";
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Every Bitbrains and Azure series, hourly, gap-filled, mean-scaled, laid end to end. */
async function hourlyTape(dataDir: string): Promise<Float64Array> {
  const reads = [
    await readTrace("bitbrains", path.join(dataDir, "bitbrains-rnd-2013")),
    await readTrace("azure-tenant", path.join(dataDir, "azure-vm-2017-tenant-demand")),
  ];
  const parts: Float64Array[] = [];
  for (const read of reads) {
    for (const s of read.series) {
      const hourly = toHourly(s);
      if (hourly) parts.push(hourly);
    }
  }
  const tape = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    tape.set(p, at);
    at += p.length;
  }
  return tape;
}

/** Hourly means, gaps filled linearly (ends held), divided by the mean; undefined if all zero. */
function toHourly(s: SeriesInput): Float64Array | undefined {
  const firstHour = Math.floor(s.startSeconds / HOUR);
  const lastHour = Math.floor((s.startSeconds + (s.values.length - 1) * s.stepSeconds) / HOUR);
  const sums = new Float64Array(lastHour - firstHour + 1);
  const counts = new Uint32Array(sums.length);
  for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i] as number;
    if (!Number.isFinite(v)) continue;
    const h = Math.floor((s.startSeconds + i * s.stepSeconds) / HOUR) - firstHour;
    sums[h] = (sums[h] as number) + v;
    counts[h] = (counts[h] as number) + 1;
  }
  const out = new Float64Array(sums.length).fill(Number.NaN);
  for (let h = 0; h < out.length; h++) {
    if ((counts[h] as number) > 0) out[h] = (sums[h] as number) / (counts[h] as number);
  }
  let previous = -1;
  for (let h = 0; h <= out.length; h++) {
    if (h < out.length && !Number.isFinite(out[h])) continue;
    // Fill (previous, h): linear between two observed hours, held at either end.
    const left = previous >= 0 ? (out[previous] as number) : undefined;
    const right = h < out.length ? (out[h] as number) : undefined;
    for (let k = previous + 1; k < h; k++) {
      if (left !== undefined && right !== undefined) {
        out[k] = left + ((right - left) * (k - previous)) / (h - previous);
      } else {
        out[k] = (left ?? right) as number;
      }
    }
    previous = h;
  }
  let sum = 0;
  for (const v of out) sum += v;
  const mean = sum / out.length;
  if (!(mean > 0) || !Number.isFinite(mean)) return undefined;
  for (let h = 0; h < out.length; h++) out[h] = (out[h] as number) / mean;
  return out;
}

async function runOurs(
  run: {
    method: string;
    shared: SharedArrayBuffer;
    count: number;
    length: number;
    horizon: number;
    jobs: number;
    batch: number;
  },
  options: ForecastBenchOptions,
): Promise<BenchSide> {
  // Workers load TypeScript through tsx, registered inside the worker (execArgv hooks do not
  // reach a worker's entry module).
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./forecast-bench-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  const per = Math.ceil(run.count / run.jobs);
  const done = new Array<number>(run.jobs).fill(0);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  let lastReport = 0;
  try {
    const workers = Array.from({ length: run.jobs }, (_, w) => {
      const worker = new Worker(bootstrap, {
        eval: true,
        workerData: {
          method: run.method,
          data: run.shared,
          length: run.length,
          from: Math.min(w * per, run.count),
          to: Math.min((w + 1) * per, run.count),
          batch: run.batch,
          seasonLength: SEASON,
          horizon: run.horizon,
          stepSeconds: HOUR,
        },
      });
      const ready = new Promise<void>((resolve, reject) => {
        worker.once("error", reject);
        worker.on("message", (m: { kind: string }) => {
          if (m.kind === "ready") resolve();
        });
      });
      return { worker, ready };
    });
    await Promise.all(workers.map((w) => w.ready));
    const started = performance.now();
    const results = await Promise.all(
      workers.map(
        ({ worker }, w) =>
          new Promise<WorkerResult>((resolve, reject) => {
            worker.on("error", reject);
            worker.on(
              "message",
              (m: { kind: string; done?: number; result?: WorkerResult; message?: string }) => {
                if (m.kind === "progress") {
                  done[w] = m.done ?? 0;
                  const total = done.reduce((a, b) => a + b, 0);
                  const now = performance.now();
                  if (now - lastReport > 2_000) {
                    lastReport = now;
                    options.progress(
                      `${run.method}: ${total.toLocaleString("en-US")}/${run.count.toLocaleString("en-US")} series, ${((now - started) / 1000).toFixed(0)} s`,
                    );
                  }
                } else if (m.kind === "done" && m.result) {
                  resolve(m.result);
                  void worker.terminate();
                } else if (m.kind === "error") {
                  reject(new Error(`A benchmark worker failed: ${m.message}`));
                  void worker.terminate();
                }
              },
            );
            worker.postMessage("go");
          }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
    const series = results.reduce((n, r) => n + r.series, 0);
    const nonFinite = results.reduce((n, r) => n + r.nonFinite, 0);
    if (nonFinite > 0) throw new Error(`${run.method} returned ${nonFinite} non-finite forecasts.`);
    return {
      name: run.method,
      seconds,
      seriesPerSecond: series / seconds,
      peakMemoryBytes: peak,
      detail: {
        workerThreads: run.jobs,
        fitCoreSeconds: round(results.reduce((n, r) => n + r.fitSeconds, 0)),
        forecastCoreSeconds: round(results.reduce((n, r) => n + r.forecastSeconds, 0)),
        seriesPerFit: run.batch,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

async function runStatsforecast(
  run: { data: Float64Array; count: number; length: number; horizon: number; jobs: number },
  options: ForecastBenchOptions,
): Promise<BenchSide> {
  const venvPython = ensureStatsforecastVenv(options.progress);
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-bench-"));
  const file = path.join(dir, "series.f64");
  writeFileSync(file, new Uint8Array(run.data.buffer, run.data.byteOffset, run.data.byteLength));
  options.progress(
    `statsforecast: AutoETS on ${run.count.toLocaleString("en-US")} series with n_jobs=${run.jobs}…`,
  );
  try {
    const child = spawn(
      venvPython,
      [
        path.join(PEERS_DIR, "statsforecast_speed.py"),
        file,
        "--series",
        String(run.count),
        "--length",
        String(run.length),
        "--season",
        String(SEASON),
        "--horizon",
        String(run.horizon),
        "--jobs",
        String(run.jobs),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    // Peak memory of the whole process tree (statsforecast's n_jobs are child processes).
    let peak = 0;
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, treeRssBytes(child.pid));
    }, 500);
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c) => resolve(c ?? 1));
    });
    clearInterval(sampler);
    if (code !== 0) throw new Error(`statsforecast_speed.py exited with ${code}:\n${stderr}`);
    const answer = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
      seconds: number;
      series: number;
      finite: boolean;
      maxRssSelfBytes: number;
      maxRssLargestChildBytes: number;
    };
    return {
      name: "statsforecast AutoETS",
      seconds: answer.seconds,
      seriesPerSecond: answer.series / answer.seconds,
      peakMemoryBytes: Math.max(peak, answer.maxRssSelfBytes),
      detail: {
        nJobs: run.jobs,
        finite: answer.finite,
        maxRssSelfBytes: answer.maxRssSelfBytes,
        maxRssLargestChildBytes: answer.maxRssLargestChildBytes,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident memory of a process and all its descendants (Linux /proc), bytes; 0 elsewhere. */
function treeRssBytes(rootPid: number): number {
  try {
    const parentOf = new Map<number, number>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        // Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        parentOf.set(Number(entry), ppid);
      } catch {
        // the process ended meanwhile
      }
    }
    const tree = new Set([rootPid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, ppid] of parentOf) {
        if (!tree.has(pid) && tree.has(ppid)) {
          tree.add(pid);
          grew = true;
        }
      }
    }
    let total = 0;
    for (const pid of tree) {
      try {
        const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
        total += pages * 4096;
      } catch {
        // ended meanwhile
      }
    }
    return total;
  } catch {
    return 0;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
