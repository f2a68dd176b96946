import type { DecisionRecord } from "../layers/domain/admission.js";
import { parseConfig, type ShaperConfig, type User } from "../layers/domain/config.js";
import { formatAmounts } from "../layers/domain/resources.js";
import { localTokenSettings } from "./local-signing-key.js";
import { type CycleReport, LocalSystem } from "./local-system.js";
import { workloadTrace } from "./replay/workload-trace.js";
import { formatTable } from "./table.js";

/**
 * `shaper start` (what `npm start` runs): the whole pipeline on this machine for a number of
 * simulated intervals, printing what each stage did, with the admission API live on localhost.
 */

export interface StartOptions {
  readonly config: ShaperConfig;
  readonly configSource: string;
  readonly cycles: number;
  readonly users: number;
  readonly seed: number;
  readonly startTime: number;
  readonly backfillDays: number;
  readonly port: number;
  readonly serve: boolean;
  readonly intensity: number;
  /** Folder of the embedded on-disk store; absent = in memory. */
  readonly dataDir?: string;
  /**
   * The report written at the end: the five replay policies over `days` of the built-in workload
   * (ending where the live run starts), or of a trace when one is given. `days` 0 = no report.
   */
  readonly report?: {
    readonly path: string;
    readonly days: number;
    readonly trace?: string;
    readonly format?: string;
  };
  readonly print: (line: string) => void;
}

/** Tier of the i-th generated tenant: one in five premium, two standard, two free. */
function generatedTier(i: number, tiers: readonly string[]): string {
  const pattern = ["premium", "standard", "free", "standard", "free"];
  const wanted = pattern[i % pattern.length] as string;
  return tiers.includes(wanted) ? wanted : (tiers[i % tiers.length] as string);
}

/** The config's users plus generated tenants up to `total` (the config's users are kept as written). */
export function withGeneratedUsers(config: ShaperConfig, total: number): ShaperConfig {
  const tiers = Object.keys(config.tiers);
  const extra: User[] = [];
  for (let i = config.users.length; i < total; i++) {
    extra.push({
      userId: `tenant-${String(i + 1).padStart(3, "0")}`,
      tier: generatedTier(i, tiers),
    });
  }
  return parseConfig(
    { ...config, users: [...config.users, ...extra] },
    "the config with generated tenants",
  );
}

function clockLabel(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(11, 16);
}

function printCycle(
  report: CycleReport,
  decided: readonly DecisionRecord[],
  print: (line: string) => void,
): void {
  const t = clockLabel(report.time);
  const pad = " ".repeat(t.length);
  const c = report.collect;
  print(
    `${t}  collect   ${c.shards} shards · ${c.records} usage records (${c.missing} missing, kept as missing) · ${c.requestsFolded} requests folded in`,
  );
  const users = report.forecast.users;
  const series = users.reduce((n, u) => n + u.series, 0);
  const fallbacks =
    users.reduce((n, u) => n + u.fallbackBatches, 0) + report.forecast.pools.fallbackBatches;
  const wql = report.forecast.pools.error.wql;
  print(
    `${pad}  forecast  ${users.reduce((n, u) => n + u.users, 0)} users, ${series} series + ${report.forecast.pools.series} pool series via the model server` +
      ` · ${fallbacks} fallback batches · wQL last hour ${wql === null ? "n/a" : wql.toFixed(3)}${report.forecast.pools.published ? " → retrain event published" : ""}`,
  );
  for (const outcome of report.plan.outcomes) {
    const plan = outcome.plan;
    const first = plan.intervals[0];
    const steps = plan.scaling.length;
    print(
      `${pad}  plan      ${plan.pool.padEnd(4)} ${String(plan.currentTasks).padStart(3)} → ${String(first?.targetTasks ?? 0).padStart(3)} tasks` +
        ` · demand ${formatAmounts(first?.demand ?? {})} · ${steps} scaling step${steps === 1 ? "" : "s"}` +
        ` · ${plan.warmReservations.length} warm · ${plan.actuation?.status ?? "n/a"}`,
    );
  }
  const counts = countOutcomes(decided);
  print(
    `${pad}  admit     ${decided.length} requests → ${counts.grant} grant · ${counts.delay} delay · ${counts.offer} offer · ${counts.reject} reject`,
  );
}

function countOutcomes(records: readonly DecisionRecord[]) {
  const counts = { grant: 0, delay: 0, offer: 0, reject: 0 };
  for (const r of records) counts[r.decision.outcome]++;
  return counts;
}

/**
 * Runs the local system and prints its story; resolves when done (or, with `serve`, never — the
 * API stays up until the process is stopped).
 */
export async function runStart(options: StartOptions): Promise<void> {
  const { print } = options;
  const wallStart = performance.now();
  const config = withGeneratedUsers(options.config, options.users);
  const system = await LocalSystem.start({
    tokens: localTokenSettings(),
    config,
    seed: options.seed,
    startTime: options.startTime,
    apiPort: options.port,
    intensity: options.intensity,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  try {
    print(
      `shaper — local run of the whole pipeline (config ${options.configSource}, seed ${options.seed})`,
    );
    print(
      `  users          ${config.users.length} (${Object.keys(config.tiers)
        .map((t) => `${config.users.filter((u) => u.tier === t).length} ${t}`)
        .join(", ")})`,
    );
    print(
      `  pools          ${Object.entries(config.pools)
        .map(
          ([p, c]) =>
            `${p} (${formatAmounts(c.perTask)} per task, ${c.minTasks}–${c.maxTasks} tasks, lag ${c.provisioningLagSeconds} s)`,
        )
        .join("; ")}`,
    );
    print(
      `  model server   ${system.modelServerUrl} (SageMaker container contract, DeepAR JSON; reached through the SageMaker Runtime API)`,
    );
    print(`  admission API  ${system.apiUrl}  (POST /v1/requests, GET /v1/requests/{id})`);
    print(
      `  simulated time ${new Date(system.clock.nowSeconds() * 1000).toISOString()}, ${options.cycles} intervals of ${config.intervalSeconds} s`,
    );
    const backfilled = await system.backfill(options.backfillDays);
    print(
      `  history        ${options.backfillDays} days collected before the start (${backfilled.toLocaleString("en-US")} usage records)`,
    );
    // The deployed pipeline runs all the time; one run two intervals before the start sizes the
    // cluster as the previous runs would have, so the demo does not open on a cold cluster.
    const start = system.clock.nowSeconds();
    system.clock.set(start - 2 * config.intervalSeconds + 5);
    await system.runPipeline();
    system.clock.set(start);
    print(
      `  warm-up        one pipeline run at ${clockLabel(start - 2 * config.intervalSeconds)}, as the schedule would have made it`,
    );
    print("");

    const all: DecisionRecord[] = [];
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const intervalStart =
        system.clock.nowSeconds() - (system.clock.nowSeconds() % config.intervalSeconds);
      // EventBridge fires a few seconds into the interval.
      system.clock.set(intervalStart + 5);
      const report = await system.runPipeline();
      const decided = await system.sendRequests(intervalStart);
      all.push(...decided);
      printCycle(report, decided, print);
      system.clock.set(intervalStart + config.intervalSeconds);
    }
    printSummary(system, all, config, { from: start, to: system.clock.nowSeconds() }, print);
    if (options.report && options.report.days > 0) {
      await writeStartReport(options.report, config, system, start, print);
    }
    print(`  wall time      ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);
    if (options.serve) {
      print("");
      print(`Serving the admission API at ${system.apiUrl} — Ctrl-C to stop. Try:`);
      const user = config.users[0]?.userId ?? "acme";
      print(`  TOKEN=$(npx --no-install shaper token ${user})`);
      print(
        `  curl -s -X POST ${system.apiUrl}/v1/requests -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
      );
      print(
        `    -d '{"requestId":"try-1","userId":"${user}","pool":"${Object.keys(config.pools)[0] ?? "cpu"}","amounts":{"vcpu":4},"durationSeconds":600}'`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    }
  } finally {
    await system.close();
  }
}

/** Replays the workload (or the given trace) through the five policies and writes the report. */
async function writeStartReport(
  report: NonNullable<StartOptions["report"]>,
  config: ShaperConfig,
  system: LocalSystem,
  runStart: number,
  print: (line: string) => void,
): Promise<void> {
  const { REPLAY_POLICIES, readReplayTrace, replayTrace, truncateTrace } = await import(
    "./replay-command.js"
  );
  const interval = config.intervalSeconds;
  const end = runStart - (runStart % interval);
  const trace =
    report.trace !== undefined && report.format !== undefined
      ? truncateTrace(await readReplayTrace(report.format, report.trace), report.days)
      : workloadTrace(system.workload, config, {
          start: end - Math.round((report.days * 86_400) / interval) * interval,
          end,
        });
  print("");
  await replayTrace(trace, {
    source:
      report.trace === undefined
        ? `the built-in workload, ${report.days} day${report.days === 1 ? "" : "s"} before the live run`
        : `${report.format} from ${report.trace}, first ${report.days} day${report.days === 1 ? "" : "s"}`,
    policies: [...REPLAY_POLICIES],
    config,
    reportPath: report.path,
    progressBar: process.stderr.isTTY === true,
    print,
  });
}

function printSummary(
  system: LocalSystem,
  all: readonly DecisionRecord[],
  config: ShaperConfig,
  window: { readonly from: number; readonly to: number },
  print: (line: string) => void,
): void {
  print("");
  print("Summary");
  const rows = Object.keys(config.tiers).map((tier) => {
    const records = all.filter((r) => r.tier === tier);
    const c = countOutcomes(records);
    const critical = records.filter((r) => r.request.criticality === "critical");
    const criticalNow = critical.filter((r) => r.decision.outcome === "grant").length;
    const rate =
      critical.length === 0 ? "—" : `${((100 * criticalNow) / critical.length).toFixed(1)} %`;
    return [tier, records.length, c.grant, c.delay, c.offer, c.reject, rate];
  });
  const total = countOutcomes(all);
  rows.push(["all", all.length, total.grant, total.delay, total.offer, total.reject, ""]);
  print(
    formatTable(
      ["decisions", "requests", "grant", "delay", "offer", "reject", "critical granted at once"],
      rows,
    ),
  );
  print("");
  const capacityRows = Object.entries(config.pools).map(([pool, poolConfig]) => {
    const changes = system.cluster
      .listActions(pool)
      .filter(
        (a) =>
          a.at >= window.from &&
          (a.kind === "fired" || a.kind === "scale-now") &&
          a.desiredAfter !== a.desiredBefore,
      );
    const running: number[] = [];
    for (let t = window.from; t < window.to; t += 60)
      running.push(system.cluster.tasksAt(pool, t).runningTasks);
    const taskHours = running.reduce((n, tasks) => n + tasks, 0) / 60;
    return [
      pool,
      running[0] ?? 0,
      Math.max(0, ...running),
      running[running.length - 1] ?? 0,
      changes.length,
      Math.round(taskHours * 100) / 100,
      Math.round(taskHours * poolConfig.costPerTaskHour * 100) / 100,
    ];
  });
  print(
    formatTable(
      ["capacity", "tasks at start", "peak", "at end", "scaling actions", "task-hours", "cost USD"],
      capacityRows,
    ),
  );
  print("");
}
