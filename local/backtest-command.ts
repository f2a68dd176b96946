import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { readTrace } from "../layers/adapters/traces/read-trace.js";
import type { TraceRead } from "../layers/adapters/traces/trace-read.js";
import type { ModelReport } from "../layers/domain/forecasting/backtest/backtest-scorer.js";
import {
  type BacktestSplit,
  holdoutSplit,
  joinHistoryAndFuture,
} from "../layers/domain/forecasting/backtest/backtest-split.js";
import { runBacktest } from "../layers/domain/forecasting/backtest/run-backtest.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";
import { DEFAULT_METHODS, forecastMethods } from "./forecast-methods.js";
import { runStatsforecastPeers } from "./statsforecast-peers.js";
import { formatTable } from "./table.js";

/**
 * `shaper backtest`: reads a trace, backtests forecasting methods by rolling origin (and, with
 * --peers statsforecast, the statsforecast peers on the same windows), prints a summary table and
 * writes `{ "models": [...] }` as JSON. The protocol and metrics are in docs/backtest.md.
 */

export interface BacktestCommandOptions {
  readonly format: string;
  readonly history: string;
  readonly future?: string;
  /** Main horizon, steps. */
  readonly horizon: number;
  /** Horizons also reported under byHorizon, steps. */
  readonly byHorizon: readonly number[];
  /** Method names. @default DEFAULT_METHODS */
  readonly methods?: readonly string[];
  readonly peers?: string;
  /** Worker processes for the peers. */
  readonly peerJobs: number;
  /**
   * Score the peers at the byHorizon horizons too ("all"), or only at the main one ("main"):
   * statsforecast's conformal intervals need three refits per series, model and horizon.
   */
  readonly peerHorizons: "main" | "all";
  /** Backtest only the first N series (by id). */
  readonly maxSeries?: number;
  readonly seed: number;
  readonly jsonPath?: string;
  /** Results (stdout). */
  readonly print: (line: string) => void;
  /** Progress (stderr). */
  readonly progress: (line: string) => void;
}

/** What the JSON file holds. */
export interface BacktestOutput {
  readonly models: readonly ModelReport[];
  /** How the run was set up and what was read (not part of any model's figures). */
  readonly run: Readonly<Record<string, unknown>>;
}

const SECONDS_PER_DAY = 86_400;

/**
 * Runs the backtest command.
 *
 * @returns the JSON document written to `jsonPath` (when given)
 * @throws ValidationError for a bad trace; InvalidArgumentError for bad options
 */
export async function runBacktestCommand(options: BacktestCommandOptions): Promise<BacktestOutput> {
  if (options.peers !== undefined && options.peers !== "statsforecast") {
    throw new InvalidArgumentError(
      `--peers "${options.peers}" is not supported; the only peer set is "statsforecast".`,
    );
  }
  const methods = forecastMethods(options.methods ?? DEFAULT_METHODS);
  const readStarted = performance.now();
  const history = await readTrace(options.format, options.history);
  options.print(describeRead("history", history));
  let future: TraceRead | undefined;
  if (options.future !== undefined) {
    future = await readTrace(options.format, options.future);
    options.print(describeRead("future", future));
  }
  const readSeconds = (performance.now() - readStarted) / 1000;

  let series: SeriesInput[];
  let split: BacktestSplit;
  let protocol: string;
  const joinNotes: Record<string, number> = {};
  if (future) {
    const joined = joinHistoryAndFuture(history.series, future.series);
    series = joined.series;
    split = joined.split;
    protocol = "fit on --history; rolling origins through --future";
    joinNotes.historyOnlySeries = joined.historyOnly.length;
    joinNotes.futureOnlySeries = joined.futureOnly.length;
  } else {
    series = history.series;
    split = holdoutSplit(series);
    protocol = "fit on the first 70 % of each series; rolling origins through the last 30 %";
  }
  if (options.maxSeries !== undefined && options.maxSeries < series.length) {
    const n = options.maxSeries;
    series = series.slice(0, n);
    split = { trainEnd: split.trainEnd.slice(0, n), testStart: split.testStart.slice(0, n) };
  }
  if (series.length === 0) {
    throw new InvalidArgumentError(`No series to backtest in ${options.history}.`);
  }
  const stepSeconds = history.stepSeconds;
  const seasonLength = Math.round(SECONDS_PER_DAY / stepSeconds);
  const weeklySeasonLength = 7 * seasonLength;
  options.print(
    `Backtesting ${series.length} series (${protocol}); horizon ${options.horizon} steps of ${stepSeconds} s; byHorizon ${options.byHorizon.join(", ")}; season ${seasonLength} steps.`,
  );

  const models: ModelReport[] = [];
  for (const method of methods) {
    const report = await runBacktest(method, series, split, {
      horizon: options.horizon,
      byHorizon: options.byHorizon,
      seasonLength,
      weeklySeasonLength,
      seed: options.seed,
      now: () => performance.now() / 1000,
      onProgress: progressLine(options.progress, method.name, "origins"),
    });
    options.print(`  ${describeModel(report)}`);
    models.push(report);
  }
  if (options.peers === "statsforecast") {
    const peerProgress = progressLine(options.progress, "statsforecast", "series");
    const peers = await runStatsforecastPeers(series, split, {
      horizon: options.horizon,
      byHorizon: options.peerHorizons === "all" ? options.byHorizon : [],
      seasonLength,
      weeklySeasonLength,
      jobs: options.peerJobs,
      onProgress: (done, total) => peerProgress(done, total),
      print: options.print,
    });
    for (const report of peers) options.print(`  ${describeModel(report)}`);
    models.push(...peers);
  }

  const output: BacktestOutput = {
    models,
    run: {
      format: options.format,
      history: options.history,
      ...(options.future === undefined ? {} : { future: options.future }),
      protocol,
      horizon: options.horizon,
      byHorizon: options.byHorizon,
      stepSeconds,
      seasonLength,
      series: series.length,
      ...(options.maxSeries === undefined ? {} : { maxSeries: options.maxSeries }),
      ...(options.peers === undefined
        ? {}
        : { peers: options.peers, peerJobs: options.peerJobs, peerHorizons: options.peerHorizons }),
      seed: options.seed,
      readSeconds: Math.round(readSeconds * 10) / 10,
      rows: history.rows + (future?.rows ?? 0),
      skippedRows: { ...history.skipped, ...prefixKeys("future: ", future?.skipped ?? {}) },
      assumed: { ...history.assumed, ...prefixKeys("future: ", future?.assumed ?? {}) },
      ...joinNotes,
    },
  };
  options.print("");
  options.print(summaryTable(models, options.byHorizon));
  if (options.jsonPath) {
    mkdirSync(path.dirname(path.resolve(options.jsonPath)), { recursive: true });
    writeFileSync(options.jsonPath, `${JSON.stringify(output, null, 2)}\n`);
    options.print(`\nWrote ${options.jsonPath}.`);
  }
  return output;
}

function prefixKeys(prefix: string, record: Readonly<Record<string, number>>) {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [`${prefix}${k}`, v]));
}

function describeRead(label: string, read: TraceRead): string {
  const skipped = Object.entries(read.skipped);
  const assumed = Object.entries(read.assumed);
  return [
    `Read ${label}: ${read.files.length} file(s), ${read.rows.toLocaleString("en-US")} rows, ${read.series.length} series (${read.format}, ${read.stepSeconds}-s steps).`,
    ...skipped.map(([why, n]) => `  skipped ${n.toLocaleString("en-US")}: ${why}`),
    ...assumed.map(([what, n]) => `  assumed ${n.toLocaleString("en-US")}: ${what}`),
  ].join("\n");
}

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

function describeModel(r: ModelReport): string {
  return `${r.name}${r.peer ? " (peer)" : ""}: wql ${fixed(r.wql, 4)}, mase ${fixed(r.mase, 3)}, coverage80 ${fixed(r.coverage80, 3)}, width80 ${fixed(r.width80, 3)}; fit ${r.fitSeconds.toFixed(1)} s, predict ${r.predictSeconds.toFixed(1)} s`;
}

function summaryTable(models: readonly ModelReport[], byHorizon: readonly number[]): string {
  const header = [
    "model",
    "series",
    "wql",
    "mase",
    "coverage80",
    "width80",
    ...byHorizon.map((h) => `wql@${h}`),
    "fit s",
    "predict s",
  ];
  const rows = models.map((r) => [
    `${r.name}${r.peer ? " (peer)" : ""}`,
    r.series,
    fixed(r.wql, 4),
    fixed(r.mase, 3),
    fixed(r.coverage80, 3),
    fixed(r.width80, 3),
    ...byHorizon.map((h) => fixed(r.byHorizon[String(h)]?.wql, 4)),
    fixed(r.fitSeconds, 1),
    fixed(r.predictSeconds, 1),
  ]);
  return formatTable(header, rows);
}

/**
 * A progress callback that writes "label: done/total unit (p %), s" at most once a second and at
 * the end (cli-progress is not a dependency; plain lines suit logs too).
 */
function progressLine(
  write: (line: string) => void,
  label: string,
  unit: string,
): (done: number, total: number) => void {
  const started = performance.now();
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < 1_000) return;
    last = now;
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
    write(
      `${label}: ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${unit} (${percent} %), ${((now - started) / 1000).toFixed(0)} s`,
    );
  };
}
