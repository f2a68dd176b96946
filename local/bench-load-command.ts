import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { admissionRoutes } from "../functions/shape/admission.js";
import { issueToken, verifyBearer } from "../layers/adapters/auth/jwt-tokens.js";
import { systemClock } from "../layers/adapters/clock.js";
import { FileAdmissionStore } from "../layers/adapters/local/file-admission-store.js";
import { InMemoryAdmissionStore } from "../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../layers/adapters/local/static-config-source.js";
import { type ShaperConfig, userPools } from "../layers/domain/config.js";
import type { Amounts } from "../layers/domain/resources.js";
import { httpHandler } from "../layers/lambda/http-handler.js";
import type { AdmissionStore } from "../layers/ports/admission-store.js";
import type { AdmitRequestDeps } from "../layers/use-cases/admit-request.js";
import { serveHttpApi } from "./http-api-server.js";
import { LATE_SEND_MS, type LoadResult, type LoadSpec, OUTCOMES } from "./load-generator.js";
import { localTokenSettings } from "./local-signing-key.js";
import { withGeneratedUsers } from "./start-command.js";

/**
 * `npm run bench:load`: the admission API of the local runtime — HTTP on localhost, every token
 * verified (HS256, signed with the local key as `shaper token` signs), the embedded store (on
 * disk with `dataDir`, else in memory) — under an open-loop load from a generator in a child
 * process (local/load-generator.ts), on this machine. Afterwards every answered request's
 * decision record is looked up — in the log re-read from disk for the on-disk store — and those
 * missing are `lostDecisions`.
 */

export interface BenchLoadOptions {
  readonly config: ShaperConfig;
  /** Target rate, requests per second. @default 1000 */
  readonly ratePerSecond: number;
  /** Measured duration, seconds. @default 60 */
  readonly durationSeconds: number;
  /** Sent at the same rate before the measured window and left out of the figures. @default 5 */
  readonly warmupSeconds: number;
  /** Tenants in the mix (config users plus generated ones). @default 200 */
  readonly users: number;
  readonly seed: number;
  /** Embedded on-disk store folder; absent = in memory. */
  readonly dataDir?: string;
  readonly jsonPath?: string;
  readonly print: (line: string) => void;
}

/** What `bench:load` writes (the first five fields are the issue's). */
export interface BenchLoadReport {
  /** Answered (2xx) requests of the measured window per second of that window's wall time. */
  readonly requestsPerSecond: number;
  /** Latency from each request's due time to its answer, measured window. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests of the whole run (warm-up included) not answered 200. */
  readonly errors: number;
  /** Answered requests whose decision record is missing from the store afterwards. */
  readonly lostDecisions: number;
  readonly [key: string]: unknown;
}

/** Capacity the bench seeds, sized so most asks fit and heavy tenants get shaped. */
const SEED_CAPACITY: Record<string, Amounts> = {
  cpu: { vcpu: 10_000, memoryGiB: 40_000 },
  gpu: { vcpu: 4_000, memoryGiB: 16_000, gpu: 500 },
};

/**
 * Runs the benchmark, prints a summary and writes the JSON report.
 *
 * @returns the report
 */
export async function runBenchLoad(options: BenchLoadOptions): Promise<BenchLoadReport> {
  const { print } = options;
  const config = withGeneratedUsers(options.config, options.users);
  const loadAtStart = loadavg();
  const admissions: FileAdmissionStore | InMemoryAdmissionStore = options.dataDir
    ? FileAdmissionStore.open(options.dataDir)
    : new InMemoryAdmissionStore();
  const now = Math.floor(systemClock.nowSeconds());
  for (const pool of Object.keys(config.pools)) await seedCapacity(admissions, pool, now);
  const deps: AdmitRequestDeps = {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(config.users),
    admissions,
    forecasts: new InMemoryForecastStore(),
    policies: new InMemoryPolicyStore(),
    clock: systemClock,
  };
  const tokenSettings = localTokenSettings();
  const api = await serveHttpApi(
    httpHandler({
      maxBodyBytes: config.admission.maxBodyBytes,
      routes: admissionRoutes(async () => deps),
    }),
    ["POST /v1/requests", "GET /v1/requests/{id}"],
    {
      port: 0,
      authorize: (authorization) => verifyBearer(tokenSettings, authorization, systemClock),
    },
  );
  const tokens: Record<string, string> = {};
  for (const user of config.users) {
    tokens[user.userId] = await issueToken(
      tokenSettings,
      { userId: user.userId },
      3_600,
      systemClock,
    );
  }
  const spec: LoadSpec = {
    url: api.url,
    runId: `load-${Date.now().toString(36)}`,
    ratePerSecond: options.ratePerSecond,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    seed: options.seed,
    users: config.users.map((u) => ({ userId: u.userId, pools: userPools(u, config) })),
    tokens,
    maxSockets: 256,
    timeoutMs: 30_000,
  };
  print(
    `shaper bench:load — ${spec.ratePerSecond} requests/s for ${spec.warmupSeconds} s warm-up + ${spec.durationSeconds} s, ${config.users.length} tenants, store ${options.dataDir ? `on disk (${options.dataDir})` : "in memory"}, API ${api.url}`,
  );

  const liveLeases: number[] = [];
  const sampler = setInterval(() => {
    void countLiveLeases(admissions, Object.keys(config.pools)).then((n) => liveLeases.push(n));
  }, 1_000);
  const serverCpuBefore = process.cpuUsage();
  let result: LoadResult;
  try {
    result = await runGenerator(spec);
  } finally {
    clearInterval(sampler);
    await api.close();
  }
  const serverCpu = process.cpuUsage(serverCpuBefore);
  const loadAtEnd = loadavg();

  // Every answered request must have its decision, with the outcome the caller was told.
  let checkStore: FileAdmissionStore | InMemoryAdmissionStore = admissions;
  if (admissions instanceof FileAdmissionStore && options.dataDir) {
    await admissions.close();
    checkStore = FileAdmissionStore.open(options.dataDir);
  }
  let lostDecisions = 0;
  let mismatchedDecisions = 0;
  let retriedDecisions = 0;
  for (let i = 0; i < result.total; i++) {
    if (result.status[i] !== 200) continue;
    const record = await checkStore.getDecision(`${spec.runId}-${i}`);
    if (!record) lostDecisions++;
    else if (OUTCOMES.indexOf(record.decision.outcome) !== result.outcome[i]) mismatchedDecisions++;
    else if (record.explanation.some((line) => line.startsWith("decided on attempt")))
      retriedDecisions++;
  }
  if (checkStore instanceof FileAdmissionStore) await checkStore.close();

  const report = summarize(spec, result, {
    lostDecisions,
    mismatchedDecisions,
    retriedDecisions,
    liveLeases,
    serverCpuSeconds: (serverCpu.user + serverCpu.system) / 1e6,
    store: options.dataDir ? "on disk (append-only log, group-committed fdatasync)" : "in memory",
    loadAverage: { atStart: loadAtStart.map(round2), atEnd: loadAtEnd.map(round2) },
  });
  print(
    `  ${fmt(report.requestsPerSecond)} answered/s (target ${spec.ratePerSecond}) · p50 ${fmt(report.p50Ms)} ms · p99 ${fmt(report.p99Ms)} ms · ${report.errors} errors · ${report.lostDecisions} lost decisions · ${String(report.lateSends)} late sends`,
  );
  print(
    `  outcomes ${JSON.stringify(report.outcomes)} · live leases peak ${String(report.liveLeasesPeak)} · server CPU ${fmt(report.serverCpuPercent as number)} % of one core · load average ${loadAtStart.map(round2).join(" ")} → ${loadAtEnd.map(round2).join(" ")} on ${cpus().length} cores`,
  );
  if (result.firstErrors.length > 0) print(`  first errors: ${result.firstErrors.join(" | ")}`);
  if (options.jsonPath) {
    mkdirSync(path.dirname(path.resolve(options.jsonPath)), { recursive: true });
    writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    print(`  wrote ${options.jsonPath}`);
  }
  return report;
}

/** Puts the seed capacity on the pool's ledger (keeping its leases), as a plan would. */
async function seedCapacity(store: AdmissionStore, pool: string, now: number): Promise<void> {
  const ledger = await store.getLedger(pool);
  const capacity = SEED_CAPACITY[pool] ?? { vcpu: 1_000, memoryGiB: 4_000 };
  const result = await store.putLedger(
    { ...ledger, capacity: [{ start: now - 60, capacity }], updatedAt: now },
    ledger.version,
  );
  if (result !== "committed") throw new Error(`Seeding the ${pool} ledger conflicted.`);
}

async function countLiveLeases(store: AdmissionStore, pools: readonly string[]): Promise<number> {
  const now = systemClock.nowSeconds();
  let live = 0;
  for (const pool of pools) {
    for (const lease of (await store.getLedger(pool)).leases) if (lease.endAt > now) live++;
  }
  return live;
}

/** Forks the generator (TypeScript through tsx's loader), hands it the spec, awaits its result. */
function runGenerator(spec: LoadSpec): Promise<LoadResult> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const file = fileURLToPath(new URL("./load-generator.ts", import.meta.url));
  const child = fork(file, ["--load-generator"], {
    execArgv: ["--import", tsx],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    child.once("message", (message) => {
      result = message as LoadResult;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (result) resolve(result);
      else reject(new Error(`The load generator exited (code ${code}) without a result.`));
    });
    child.send(spec);
  });
}

function summarize(
  spec: LoadSpec,
  result: LoadResult,
  extra: {
    lostDecisions: number;
    mismatchedDecisions: number;
    retriedDecisions: number;
    liveLeases: readonly number[];
    serverCpuSeconds: number;
    store: string;
    loadAverage: { atStart: number[]; atEnd: number[] };
  },
): BenchLoadReport {
  const warmup = Math.round(spec.ratePerSecond * spec.warmupSeconds);
  const latencies: number[] = [];
  let measuredAnswered = 0;
  let lastAnswerMs = 0;
  let lateSends = 0;
  let maxLateMs = 0;
  let errors = 0;
  const outcomes: Record<string, number> = { grant: 0, delay: 0, offer: 0, reject: 0 };
  const statuses: Record<string, number> = {};
  for (let i = 0; i < result.total; i++) {
    const status = result.status[i] ?? 0;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 200) errors++;
    const late = result.lateMs[i] ?? 0;
    if (late > LATE_SEND_MS) lateSends++;
    maxLateMs = Math.max(maxLateMs, late);
    if (i < warmup) continue;
    const latency = result.latencyMs[i] ?? 0;
    latencies.push(latency);
    if (status === 200) {
      measuredAnswered++;
      const outcome = OUTCOMES[result.outcome[i] ?? -1];
      if (outcome) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      lastAnswerMs = Math.max(lastAnswerMs, (i * 1_000) / spec.ratePerSecond + latency);
    }
  }
  latencies.sort((a, b) => a - b);
  const windowMs = Math.max(
    spec.durationSeconds * 1_000,
    lastAnswerMs - (warmup * 1_000) / spec.ratePerSecond,
  );
  const wallSeconds = (result.finishedAtMs - result.startedAtMs) / 1_000;
  const steady = extra.liveLeases.slice(Math.ceil(spec.warmupSeconds));
  return {
    requestsPerSecond: round2(measuredAnswered / (windowMs / 1_000)),
    p50Ms: round2(quantile(latencies, 0.5)),
    p99Ms: round2(quantile(latencies, 0.99)),
    errors,
    lostDecisions: extra.lostDecisions,
    mismatchedDecisions: extra.mismatchedDecisions,
    targetRatePerSecond: spec.ratePerSecond,
    durationSeconds: spec.durationSeconds,
    warmupSeconds: spec.warmupSeconds,
    sent: result.total,
    measured: latencies.length,
    answered: result.total - errors,
    statuses,
    outcomes,
    maxMs: round2(latencies.at(-1) ?? 0),
    p90Ms: round2(quantile(latencies, 0.9)),
    p999Ms: round2(quantile(latencies, 0.999)),
    lateSends,
    lateSendThresholdMs: LATE_SEND_MS,
    maxLateMs: round2(maxLateMs),
    decisionsRetriedAfterConflict: extra.retriedDecisions,
    liveLeasesPeak: Math.max(0, ...extra.liveLeases),
    liveLeasesMean: round2(
      steady.length === 0 ? 0 : steady.reduce((a, b) => a + b, 0) / steady.length,
    ),
    users: spec.users.length,
    store: extra.store,
    tokenVerification: "HS256 JWT verified on every request (local signing key)",
    wallSeconds: round2(wallSeconds),
    serverCpuSeconds: round2(extra.serverCpuSeconds),
    serverCpuPercent: round2((100 * extra.serverCpuSeconds) / wallSeconds),
    generatorCpuSeconds: round2(result.cpuSeconds),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      node: process.version,
    },
    loadAverage: extra.loadAverage,
    date: new Date().toISOString(),
  };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function fmt(x: number): string {
  return x.toLocaleString("en-US", { maximumFractionDigits: 1 });
}
