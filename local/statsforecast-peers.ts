import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ConfigError, DependencyError } from "../layers/domain/errors.js";
import {
  BacktestScorer,
  type ModelReport,
} from "../layers/domain/forecasting/backtest/backtest-scorer.js";
import type { BacktestSplit } from "../layers/domain/forecasting/backtest/backtest-split.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";

/**
 * The statsforecast peers of `shaper backtest --peers statsforecast` and the forecast speed bench of `npm run bench`:
 * a cached virtualenv with statsforecast pinned (bench/peers/statsforecast-requirements.txt, every
 * transitive dependency pinned) and the Python runner (bench/peers/statsforecast_runner.py),
 * whose forecasts are scored here with the same BacktestScorer as shaper's own methods.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const PEERS_DIR = path.join(root, "bench", "peers");
const requirementsFile = path.join(PEERS_DIR, "statsforecast-requirements.txt");
const runnerFile = path.join(PEERS_DIR, "statsforecast_runner.py");
export const STATSFORECAST_VENV_DIR = path.join(root, ".cache", "statsforecast-venv");
/**
 * Where the runner keeps each unit of work's result (a fit with its forecasts, or one conformal
 * refit), keyed by a hash of everything it depends on, so reruns on the same data do not refit.
 * `SHAPER_PEER_CACHE=off` turns it off; any other value is used as the directory.
 */
export const STATSFORECAST_CACHE_DIR = path.join(root, ".cache", "statsforecast-peers");

/** The peer models, in report order, as statsforecast names them. */
export const STATSFORECAST_MODELS = [
  "AutoETS",
  "MSTL",
  "SeasonalNaive",
  "CrostonOptimized",
] as const;

function cacheDir(): string | undefined {
  const setting = process.env.SHAPER_PEER_CACHE;
  if (setting === "off") return undefined;
  return setting && setting.length > 0 ? setting : STATSFORECAST_CACHE_DIR;
}

type PeerModel = (typeof STATSFORECAST_MODELS)[number];

/**
 * `SHAPER_PEER_MODELS=MSTL,SeasonalNaive` runs only those peers: for a partial look when the full
 * set cannot finish (AutoETS is nearly all of the cost). A report made so lacks the other peers and
 * says so by their absence; the issue-3 comparison needs all four.
 *
 * @returns the models named, or undefined when the variable is unset or empty
 * @throws ConfigError for a name that is not one of STATSFORECAST_MODELS
 */
export function peerModelsFromEnv(
  value: string | undefined = process.env.SHAPER_PEER_MODELS,
): readonly PeerModel[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter(
    (name) => !(STATSFORECAST_MODELS as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    throw new ConfigError(
      `SHAPER_PEER_MODELS names ${unknown.join(", ")}, which are not statsforecast peers; expected a comma-separated subset of ${STATSFORECAST_MODELS.join(", ")}, or unset it to run all four.`,
    );
  }
  return STATSFORECAST_MODELS.filter((model) => names.includes(model));
}

function python(): string {
  return process.env.SHAPER_PYTHON ?? "python3";
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Creates (once) and returns the python of the cached statsforecast virtualenv; it is rebuilt
 * when the requirements file changes. Two runs at once build it once (a lock directory).
 *
 * @param print where to say that it is being built (it takes a minute or two)
 * @returns path of the virtualenv's python
 * @throws DependencyError when Python, venv, pip or PyPI is unavailable
 */
export function ensureStatsforecastVenv(print: (line: string) => void): string {
  const venvPython = path.join(STATSFORECAST_VENV_DIR, "bin", "python");
  const marker = path.join(STATSFORECAST_VENV_DIR, ".requirements-sha256");
  const wanted = createHash("sha256").update(readFileSync(requirementsFile)).digest("hex");
  const ready = () =>
    existsSync(venvPython) && existsSync(marker) && readFileSync(marker, "utf8") === wanted;
  if (ready()) return venvPython;
  mkdirSync(path.dirname(STATSFORECAST_VENV_DIR), { recursive: true });
  const lock = `${STATSFORECAST_VENV_DIR}.lock`;
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 15 minutes belongs to a run that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 900_000) rmSync(lock, { recursive: true });
      } catch {
        // removed meanwhile: try again
      }
      if (Date.now() > deadline) {
        throw new DependencyError(
          "statsforecast",
          `Timed out waiting for ${lock}; remove it if no other run is building the virtualenv.`,
          { retryable: true },
        );
      }
      sleepMs(1000);
    }
  }
  try {
    if (ready()) return venvPython;
    print(`Installing statsforecast (pinned) into ${STATSFORECAST_VENV_DIR} — once, ~2 minutes…`);
    rmSync(STATSFORECAST_VENV_DIR, { recursive: true, force: true });
    try {
      execFileSync(python(), ["-m", "venv", STATSFORECAST_VENV_DIR], { stdio: "pipe" });
      execFileSync(
        venvPython,
        ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirementsFile],
        { stdio: "pipe", timeout: 1_200_000 },
      );
    } catch (error) {
      const err = error as { stderr?: Buffer; message: string };
      throw new DependencyError(
        "statsforecast",
        `Could not install statsforecast into ${STATSFORECAST_VENV_DIR} with ${python()}: ${err.stderr?.toString().slice(-2_000) || err.message}\nThe peers need Python 3.11 with venv and pip, and access to PyPI (set SHAPER_PYTHON to pick the interpreter).`,
        { retryable: false, cause: error },
      );
    }
    writeFileSync(marker, wanted);
    return venvPython;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface PeerRunOptions {
  readonly horizon: number;
  /**
   * Further horizons to score the peers at. Each costs statsforecast three more refits per series
   * and model (its conformal windows depend on the horizon), so callers pass [] unless asked.
   */
  readonly byHorizon: readonly number[];
  readonly seasonLength: number;
  readonly weeklySeasonLength?: number;
  /** Worker processes (cores) for the runner. @default 2 */
  readonly jobs?: number;
  /** Models to run. @default all of STATSFORECAST_MODELS */
  readonly models?: readonly (typeof STATSFORECAST_MODELS)[number][];
  /** Series done so far, of the total, and wall seconds. */
  readonly onProgress?: (done: number, total: number, seconds: number) => void;
  readonly print?: (line: string) => void;
}

const LineSchema = z.object({
  model: z.enum(STATSFORECAST_MODELS),
  series: z.number().int().min(0),
  horizon: z.number().int().min(1),
  origins: z.array(z.number().int().min(0)),
  forecasts: z.array(z.array(z.array(z.number()))),
  fitSeconds: z.number().min(0),
  predictSeconds: z.number().min(0),
  fallback: z.string().nullable(),
  /** Units of this (model, series) read from the runner's cache rather than computed. */
  cachedUnits: z.number().int().min(0).optional(),
  /** CPU seconds of this (model, series)'s units (fit and forecasts), where recorded. */
  cpuSeconds: z.number().min(0).optional(),
});

/**
 * Runs the statsforecast peers on the same series, split and origins as shaper's methods and
 * scores them with the same code.
 *
 * @returns one report per peer model, `peer: true`, timings in core-seconds summed over series,
 *   `notes` with the wall time, the cores used and how many series fell back to Naive
 * @throws DependencyError when the virtualenv cannot be built or the runner fails
 */
export async function runStatsforecastPeers(
  series: readonly SeriesInput[],
  split: BacktestSplit,
  options: PeerRunOptions,
): Promise<ModelReport[]> {
  const print = options.print ?? (() => {});
  const venvPython = ensureStatsforecastVenv(print);
  const models = options.models ?? peerModelsFromEnv() ?? STATSFORECAST_MODELS;
  const scorers = new Map(models.map((m) => [m, new BacktestScorer(series, split, options)]));
  const first = scorers.values().next().value as BacktestScorer;
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-peers-"));
  const requestFile = path.join(dir, "request.json");
  writeFileSync(requestFile, JSON.stringify(peerRequest(series, split, first, options, models)));

  const timings = new Map(
    models.map((m) => [m, { fit: 0, predict: 0, cpu: 0, fallbacks: 0, cachedUnits: 0 }]),
  );
  const firstFallback = new Map<string, string>();
  const started = performance.now();
  const cache = cacheDir();
  const args = [runnerFile, requestFile, "--jobs", String(options.jobs ?? 2)];
  if (cache !== undefined) args.push("--cache", cache);
  const child = spawn(venvPython, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let stderrTail = "";
  createInterface({ input: child.stderr }).on("line", (line) => {
    const progress = /^progress (\d+) (\d+) ([\d.]+)$/.exec(line);
    if (progress) {
      options.onProgress?.(Number(progress[1]), Number(progress[2]), Number(progress[3]));
    } else {
      stderrTail = `${stderrTail}${line}\n`.slice(-4_000);
    }
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  try {
    for await (const text of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (text.trim() === "") continue;
      const line = LineSchema.parse(JSON.parse(text));
      const scorer = scorers.get(line.model);
      const s = series[line.series];
      if (!scorer || !s)
        throw new Error(`runner answered for unknown ${line.model}/${line.series}`);
      line.origins.forEach((origin, k) => {
        if (!scorer.isOrigin(line.series, line.horizon, origin)) {
          throw new Error(
            `runner forecast series ${s.id} at origin ${origin} for horizon ${line.horizon}, which is not one of its origins`,
          );
        }
        scorer.record(line.series, line.horizon, origin, line.forecasts[k] ?? []);
      });
      const t = timings.get(line.model);
      if (t) {
        t.fit += line.fitSeconds;
        t.predict += line.predictSeconds;
        t.cachedUnits += line.cachedUnits ?? 0;
        t.cpu += line.cpuSeconds ?? 0;
        if (line.fallback !== null && line.horizon === first.horizons[0]) {
          t.fallbacks++;
          if (!firstFallback.has(line.model))
            firstFallback.set(line.model, `${s.id}: ${line.fallback}`);
        }
      }
    }
    const code = await exited;
    if (code !== 0) {
      throw new DependencyError(
        "statsforecast",
        `The statsforecast runner exited with code ${code}:\n${stderrTail}`,
        { retryable: false },
      );
    }
  } catch (error) {
    child.kill();
    if (error instanceof DependencyError) throw error;
    throw new DependencyError(
      "statsforecast",
      `The statsforecast runner's output could not be used: ${(error as Error).message}\n${stderrTail}`,
      { retryable: false, cause: error },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const wallSeconds = (performance.now() - started) / 1000;
  return models.map((model) => {
    const t = timings.get(model) ?? { fit: 0, predict: 0, cpu: 0, fallbacks: 0, cachedUnits: 0 };
    const fallback = firstFallback.get(model);
    return (scorers.get(model) as BacktestScorer).report(
      model,
      { fitSeconds: t.fit, predictSeconds: t.predict },
      {
        peer: true,
        notes: {
          wallSeconds: round(wallSeconds, 1),
          jobs: options.jobs ?? 2,
          fallbackSeries: t.fallbacks,
          cachedUnits: t.cachedUnits,
          cpuSeconds: round(t.cpu, 1),
          ...(fallback ? { firstFallback: fallback } : {}),
        },
      },
    );
  });
}

/**
 * The runner's request: the series (NaN as null), each one's fitting part and its origins per
 * horizon, the seasons and the models (bench/peers/statsforecast_runner.py validates it).
 */
export function peerRequest(
  series: readonly SeriesInput[],
  split: BacktestSplit,
  scorer: BacktestScorer,
  options: Pick<PeerRunOptions, "horizon" | "seasonLength" | "weeklySeasonLength">,
  models: readonly string[] = STATSFORECAST_MODELS,
): unknown {
  return {
    seasonLength: options.seasonLength,
    ...(options.weeklySeasonLength ? { weeklySeasonLength: options.weeklySeasonLength } : {}),
    mainHorizon: options.horizon,
    models,
    series: series.map((s, i) => ({
      id: s.id,
      values: Array.from(s.values, (v) => (Number.isFinite(v) ? v : null)),
      trainEnd: split.trainEnd[i],
      origins: Object.fromEntries(
        scorer.horizons
          .map((h) => [String(h), scorer.origins(i, h)] as const)
          .filter(([, o]) => o.length > 0),
      ),
    })),
  };
}

/** Path of the peers' Python runner. */
export const STATSFORECAST_RUNNER = runnerFile;

function round(value: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(value * k) / k;
}
