import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { SingleBar } from "cli-progress";
import { readAlibabaDlrmReplay } from "../layers/adapters/traces/replay/alibaba-dlrm-replay.js";
import type { ShaperConfig } from "../layers/domain/config.js";
import { ValidationError } from "../layers/domain/errors.js";
import { runOracle, runPatent, runQuota, runReactive } from "../layers/domain/replay/baselines.js";
import type { PolicyRun } from "../layers/domain/replay/policy-run.js";
import type {
  ForecastFan,
  ReplayPolicyChange,
  ReplayResult,
} from "../layers/domain/replay/replay-result.js";
import type { ReplayTrace } from "../layers/domain/replay/replay-trace.js";
import { poolTimelines, scoredFromOf, scoreRun } from "../layers/domain/replay/score.js";
import { runShaperReplay } from "./replay/shaper-replay.js";
import { writeReplayReport } from "./report/html-report.js";
import { formatTable } from "./table.js";

/**
 * `shaper replay`: replays a real trace through the five policies — the reactive baselines, the
 * patent's probabilistic admission, static quotas, shaper itself (its real pipeline on a simulated
 * clock) and the oracle — scores them the same way, prints a table, and writes JSON and the HTML
 * report when asked.
 */

export const REPLAY_POLICIES = ["reactive", "patent", "quota", "shaper", "oracle"] as const;
export type ReplayPolicy = (typeof REPLAY_POLICIES)[number];

export const REPLAY_FORMATS = [
  "alibaba-dlrm",
  "google-2011",
  "alibaba-gpu",
  "alibaba-genai",
] as const;

/** Reads a trace of a format as a replay trace. */
export async function readReplayTrace(format: string, path: string): Promise<ReplayTrace> {
  switch (format) {
    case "alibaba-dlrm":
      return readAlibabaDlrmReplay(path);
    case "google-2011":
      return (
        await import("../layers/adapters/traces/replay/google-2011-replay.js")
      ).readGoogle2011Replay(path);
    case "alibaba-gpu":
      return (
        await import("../layers/adapters/traces/replay/alibaba-gpu-replay.js")
      ).readAlibabaGpuReplay(path);
    case "alibaba-genai":
      return (
        await import("../layers/adapters/traces/replay/alibaba-genai-replay.js")
      ).readAlibabaGenaiReplay(path);
    default:
      throw new ValidationError(
        `--format "${format}" is not a replay format. Use one of: ${REPLAY_FORMATS.join(", ")}.`,
        [{ field: "format", message: "not a replay format" }],
      );
  }
}

/** Parses `--policies` (comma-separated); every name must be a policy. */
export function parsePolicies(value: string): ReplayPolicy[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = names.filter((n) => !(REPLAY_POLICIES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new ValidationError(
      `--policies names ${unknown.length > 0 ? `unknown policies (${unknown.join(", ")})` : "nothing"}. Use a comma-separated list of: ${REPLAY_POLICIES.join(", ")}.`,
      [{ field: "policies", message: "unknown or empty policy list" }],
    );
  }
  return [...new Set(names)] as ReplayPolicy[];
}

export interface ReplayOptions {
  readonly format: string;
  readonly trace: string;
  readonly policies: readonly ReplayPolicy[];
  readonly config: ShaperConfig;
  /** Replay only the first N days of the trace (for a quick look); default the whole trace. */
  readonly days?: number;
  readonly jsonPath?: string;
  readonly reportPath?: string;
  /** Draw a progress bar on stderr (a terminal). */
  readonly progressBar: boolean;
  /** Without a bar: where a progress line goes every 10 % of shaper's replay (e.g. stderr). */
  readonly progressLog?: (line: string) => void;
  readonly print: (line: string) => void;
}

/** The first `days` of a trace: requests arriving before the cut, everything ending there at the latest. */
export function truncateTrace(trace: ReplayTrace, days: number): ReplayTrace {
  const end = Math.min(trace.end, trace.start + Math.round(days * 86_400));
  return {
    ...trace,
    end,
    requests: trace.requests
      .filter((r) => r.arrival < end)
      .map((r) => ({
        ...r,
        durationSeconds: Math.max(1, Math.min(r.durationSeconds, end - r.arrival)),
      })),
    initialLoad: trace.initialLoad.map((l) => ({ ...l, endAt: Math.min(l.endAt, end) })),
  };
}

/**
 * Runs the replay and reports it.
 *
 * @returns the result written as JSON
 * @throws ValidationError for a bad format, trace or policy list, or a trace with no critical
 *   request after the warm-up (nothing would test the guarantees)
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  let trace = await readReplayTrace(options.format, options.trace);
  if (options.days !== undefined) trace = truncateTrace(trace, options.days);
  return replayTrace(trace, { ...options, source: `${options.format} from ${options.trace}` });
}

export interface ReplayTraceOptions
  extends Pick<
    ReplayOptions,
    "policies" | "config" | "jsonPath" | "reportPath" | "progressBar" | "progressLog" | "print"
  > {
  /** What the trace is, for the heading (e.g. "alibaba-dlrm from <path>"). */
  readonly source: string;
}

/**
 * Replays a trace already read: runs the policies, scores them, prints the summary and writes
 * what was asked for.
 *
 * @throws ValidationError when no critical request arrives after the warm-up
 */
export async function replayTrace(
  trace: ReplayTrace,
  options: ReplayTraceOptions,
): Promise<ReplayResult> {
  const { print } = options;
  const wall = performance.now();
  const scoredFrom = scoredFromOf(trace);
  const critical = trace.requests.filter(
    (r) => r.criticality === "critical" && r.arrival >= scoredFrom,
  ).length;
  if (critical === 0) {
    throw new ValidationError(
      `The trace (${options.source}) has no critical request after the warm-up, so a replay could not check the guarantees. Replay a longer span or another trace.`,
      [{ field: "trace", message: "no critical request after the warm-up" }],
    );
  }
  print(`shaper replay — ${options.source}`);
  print(
    `  span           ${iso(trace.start)} → ${iso(trace.end)} (${((trace.end - trace.start) / 86_400).toFixed(1)} days); scored from ${iso(scoredFrom)} (the first 20 % is warm-up)`,
  );
  print(
    `  requests       ${trace.requests.length.toLocaleString("en-US")} (${critical.toLocaleString("en-US")} critical after warm-up) · initial load ${trace.initialLoad.length.toLocaleString("en-US")} · tenants ${trace.users.length}`,
  );
  print("  mapping");
  for (const line of trace.mapping) print(`    ${line}`);
  print(`  policies       ${options.policies.join(", ")}`);
  print("");

  const runs: PolicyRun[] = [];
  let fans: ForecastFan[] = [];
  let shaperNote: string | undefined;
  let policyChanges: readonly ReplayPolicyChange[] | undefined;
  let reactive: PolicyRun | undefined;
  const reactiveRun = () => {
    reactive ??= runReactive(trace);
    return reactive;
  };
  const weights = Object.fromEntries(
    Object.entries(options.config.tiers).map(([n, t]) => [n, t.weight]),
  );
  for (const policy of options.policies) {
    switch (policy) {
      case "reactive":
        runs.push(reactiveRun());
        break;
      case "patent":
        runs.push(runPatent(trace));
        break;
      case "quota":
        runs.push(runQuota(trace, reactiveRun(), weights));
        break;
      case "oracle":
        runs.push(runOracle(trace));
        break;
      case "shaper": {
        const bar = options.progressBar
          ? new SingleBar({
              format:
                "  shaper  [{bar}] {percentage}% · {duration_formatted} elapsed · eta {eta_formatted}",
              hideCursor: true,
            })
          : undefined;
        bar?.start(100, 0);
        // Without a terminal, a line on stderr every 10 % (long replays run for many minutes).
        let reported = 0;
        const started = performance.now();
        const report = (done: number) => {
          if (bar) {
            bar.update(Math.round(100 * done));
            return;
          }
          if (!options.progressLog || done < reported + 0.1) return;
          reported = Math.floor(done * 10) / 10;
          options.progressLog(
            `shaper ${Math.round(100 * reported)} % after ${((performance.now() - started) / 1000).toFixed(0)} s`,
          );
        };
        try {
          const result = await runShaperReplay(trace, {
            config: options.config,
            onProgress: report,
          });
          runs.push(result.run);
          fans = result.fans;
          policyChanges = result.policyChanges;
          const n = policyChanges.length;
          shaperNote = `  shaper         ${n} tier policy change${n === 1 ? "" : "s"} by the daily Adapt step; pipeline ${result.run.wallSeconds.toFixed(1)} s (${stageList(result.run.stageSeconds)})`;
        } finally {
          bar?.stop();
        }
        break;
      }
    }
  }

  const result: ReplayResult = {
    format: trace.format,
    trace: options.source,
    start: trace.start,
    end: trace.end,
    scoredFrom,
    mapping: trace.mapping,
    policies: runs.map((run) => scoreRun(trace, run)),
    timelines: poolTimelines(trace, runs, 300),
    forecastFans: fans,
    ...(policyChanges ? { policyChanges } : {}),
  };
  printSummary(result, print);
  if (shaperNote) print(shaperNote);
  if (options.jsonPath) {
    await writeAtomically(options.jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    print(`  JSON           ${options.jsonPath}`);
  }
  if (options.reportPath) {
    await writeReplayReport(result, options.reportPath);
    print(`  report         ${options.reportPath}`);
  }
  print(`  replay took    ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return result;
}

function printSummary(result: ReplayResult, print: (line: string) => void): void {
  const pct = (n: number, of: number) => (of === 0 ? "—" : `${((100 * n) / of).toFixed(2)} %`);
  print(
    formatTable(
      [
        "policy",
        "requests",
        "at once",
        "delayed",
        "offered",
        "denied",
        "delay p99 s",
        "critical at once",
        "violations",
        "vCPU-hours",
        "cost USD",
        "util",
        "fairness",
        "wall s",
      ],
      result.policies.map((p) => [
        p.name,
        p.requests,
        p.grantedNow,
        p.delayed,
        p.offered,
        p.denied,
        p.delayP99Seconds,
        p.criticalGrantedNowRate === null
          ? "—"
          : `${(100 * p.criticalGrantedNowRate).toFixed(2)} %`,
        p.guaranteeViolations,
        Math.round(p.capacityHours),
        Math.round(p.cost),
        pct(p.utilisation, 1),
        Math.round(p.fairness * 1000) / 1000,
        Math.round(p.wallSeconds * 10) / 10,
      ]),
    ),
  );
  print("");
  const tiers = [...new Set(result.policies.flatMap((p) => Object.keys(p.byTier)))];
  print(
    formatTable(
      ["denied by tier", ...tiers],
      result.policies.map((p) => [
        p.name,
        ...tiers.map((t) => {
          const m = p.byTier[t];
          return m ? `${m.denied} / ${m.requests}` : "—";
        }),
      ]),
    ),
  );
  print("");
  const shaper = result.policies.find((p) => p.name === "shaper");
  if (shaper && shaper.deniedReasons.length > 0) {
    print(
      formatTable(
        ["why shaper denied", "requests", "critical", "example"],
        shaper.deniedReasons.map((r) => [r.kind, r.count, r.critical, r.example]),
      ),
    );
    print("");
  }
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

/** "collect 1.2 s, forecastUsers 30.1 s, …" from a replay's stage times. */
function stageList(stageSeconds: Readonly<Record<string, number>> | undefined): string {
  return Object.entries(stageSeconds ?? {})
    .map(([stage, seconds]) => `${stage} ${seconds.toFixed(1)} s`)
    .join(", ");
}
