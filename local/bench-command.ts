import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { createAwsClients } from "../layers/adapters/aws-clients.js";
import { ManualClock } from "../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../layers/adapters/local/static-config-source.js";
import { SageMakerForecastModel } from "../layers/adapters/sagemaker-runtime/sagemaker-forecast-model.js";
import { allocateFairShare, fairShare } from "../layers/domain/allocation/fair-share.js";
import { parseConfig, REQUIRED_QUANTILES, type ShaperConfig } from "../layers/domain/config.js";
import { forecastSeasonalNaive } from "../layers/domain/forecasting/seasonal-naive.js";
import { planPool, type UserFootprint } from "../layers/domain/planning/capacity-plan.js";
import { admitRequest } from "../layers/use-cases/admit-request.js";
import { startModelServer } from "../model-server/server.js";
import {
  DEFAULT_TRACE_DATA_DIR,
  type ForecastBenchOptions,
  type ForecastBenchResult,
  runForecastBench,
} from "./forecast-bench.js";
import { localTokenSettings } from "./local-signing-key.js";
import { LocalSystem } from "./local-system.js";
import { withGeneratedUsers } from "./start-command.js";
import { formatTable } from "./table.js";
import { hashUnit } from "./workload.js";

/**
 * `npm run bench`: speed of the hot paths on this machine, printed as a table and written as
 * JSON. Inputs are synthetic and seeded (same sizes every run); figures go in docs/benchmarks.md.
 * First, unless skipped, the forecast speed section of issue 3 (local/forecast-bench.ts), written
 * under `forecastSpeed` in the same JSON.
 */

export interface BenchResult {
  readonly name: string;
  readonly what: string;
  readonly value: number;
  readonly unit: string;
}

/** Median wall time of `runs` calls of `fn`, in milliseconds. */
async function medianMs(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function fairShareBench(): Promise<BenchResult> {
  const users = 1_000_000;
  const resources = 3;
  const problems = Array.from({ length: resources }, (_, r) => {
    const demand = new Float64Array(users);
    const weight = new Float64Array(users);
    const guarantee = new Float64Array(users);
    let total = 0;
    for (let i = 0; i < users; i++) {
      demand[i] = 1 + 50 * hashUnit(r, "d", i) ** 3;
      weight[i] = [1, 2, 4][i % 3] as number;
      guarantee[i] = i % 3 === 2 ? 1 : 0;
      total += demand[i] as number;
    }
    return { demand, weight, guarantee, capacity: total * 0.6 };
  });
  return medianMs(3, () => {
    for (const p of problems) fairShare(p);
  }).then((ms) => ({
    name: "fair-share",
    what: "weighted max-min fair share, 1,000,000 users × 3 resources, capacity 60 % of demand",
    value: ms,
    unit: "ms",
  }));
}

function drfBench(): Promise<BenchResult> {
  const users = 1_000_000;
  const names = ["vcpu", "memoryGiB", "gpu"] as const;
  const weight = new Float64Array(users);
  const demand = Object.fromEntries(names.map((r) => [r, new Float64Array(users)])) as Record<
    (typeof names)[number],
    Float64Array
  >;
  const guarantee = Object.fromEntries(names.map((r) => [r, new Float64Array(users)])) as Record<
    (typeof names)[number],
    Float64Array
  >;
  const totals = { vcpu: 0, memoryGiB: 0, gpu: 0 };
  for (let i = 0; i < users; i++) {
    weight[i] = [1, 2, 4][i % 3] as number;
    const vcpu = 1 + 50 * hashUnit("d", i) ** 3;
    // Memory per vCPU from 2 to 8 GiB; one user in ten wants GPUs.
    const memory = vcpu * (2 + 6 * hashUnit("m", i));
    const gpu = hashUnit("g", i) < 0.1 ? 1 + Math.floor(4 * hashUnit("n", i)) : 0;
    demand.vcpu[i] = vcpu;
    demand.memoryGiB[i] = memory;
    demand.gpu[i] = gpu;
    if (i % 3 === 2) {
      guarantee.vcpu[i] = 1;
      guarantee.memoryGiB[i] = 4;
    }
    totals.vcpu += vcpu;
    totals.memoryGiB += memory;
    totals.gpu += gpu;
  }
  const problem = {
    weight,
    demand,
    guarantee,
    capacity: { vcpu: totals.vcpu * 0.6, memoryGiB: totals.memoryGiB * 0.7, gpu: totals.gpu * 0.5 },
  };
  return medianMs(3, () => allocateFairShare(problem, { method: "drf" })).then((ms) => ({
    name: "drf",
    what: "weighted dominant-resource fairness, 1,000,000 users × 3 resources (vCPU 60 %, memory 70 %, GPU 50 % of demand)",
    value: ms,
    unit: "ms",
  }));
}

function planBench(config: ShaperConfig): Promise<BenchResult> {
  const pool = config.pools.cpu;
  if (!pool) throw new Error("the bench config needs a cpu pool");
  const horizon = 12;
  const now = 1_795_000_200;
  const users: UserFootprint[] = Array.from({ length: 100_000 }, (_, i) => {
    const base = 0.5 + 4 * hashUnit("u", i);
    const series = Array.from(
      { length: horizon },
      (_, k) => base * (1 + 0.3 * Math.sin(k / 3 + i)),
    );
    return {
      userId: `u${i}`,
      tier: ["premium", "standard", "free"][i % 3] as string,
      weight: [4, 2, 1][i % 3] as number,
      guaranteedMinimum: i % 3 === 0 ? { vcpu: 1 } : {},
      cap: undefined,
      footprint: { vcpu: series, memoryGiB: series.map((v) => v * 4) },
      currentUsage: { vcpu: base, memoryGiB: base * 4 },
      expected: { vcpu: series.map((v) => v * 0.8), memoryGiB: series.map((v) => v * 3.2) },
    };
  });
  const tiers = Object.fromEntries(
    Object.entries(config.tiers).map(([name, t]) => [
      name,
      { forecastQuantile: t.forecastQuantile, headroomFraction: t.headroomFraction },
    ]),
  );
  return medianMs(3, () =>
    planPool({
      pool: "cpu",
      config: { ...pool, maxTasks: 100_000 },
      users,
      tiers,
      capacity: { desiredTasks: 10, runningTasks: 10, pendingTasks: 0 },
      now,
      intervalSeconds: 300,
      horizon,
      mode: "active",
    }),
  ).then((ms) => ({
    name: "plan",
    what: "pool plan, 100,000 users × 2 resources × 12 intervals (footprints, fair share, warm, scaling)",
    value: ms,
    unit: "ms",
  }));
}

function syntheticSeries(i: number, length: number): number[] {
  return Array.from({ length }, (_, t) => {
    const daily = 1 + 0.5 * Math.sin((2 * Math.PI * t) / 288 + i);
    return Math.max(0, 10 * daily + 3 * (hashUnit("s", i, t) - 0.5));
  });
}

async function forecastBench(): Promise<BenchResult> {
  const series = Array.from({ length: 2_000 }, (_, i) => syntheticSeries(i, 2_016));
  const options = { predictionLength: 12, seasonLength: 288, quantiles: [...REQUIRED_QUANTILES] };
  const ms = await medianMs(3, () => {
    for (const s of series) forecastSeasonalNaive(s, options);
  });
  return {
    name: "forecast",
    what: "seasonal naive in-process, per series of 2,016 points, 11 quantiles, horizon 12",
    value: ms / series.length,
    unit: "ms/series",
  };
}

async function modelServerBench(): Promise<BenchResult> {
  const server = await startModelServer({
    port: 0,
    host: "127.0.0.1",
    predictionLength: 12,
    seasonLength: 288,
  });
  try {
    await server.ready;
    const client = createAwsClients({
      env: { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: server.url, AWS_REGION: "us-east-1" },
    }).sagemakerRuntime();
    const model = new SageMakerForecastModel(client, { endpointName: "bench", timeoutMs: 30_000 });
    const batch = Array.from({ length: 50 }, (_, i) => ({
      start: 1_795_000_200,
      target: syntheticSeries(i, 2_016),
    }));
    const calls = 20;
    const ms = await medianMs(1, async () => {
      for (let c = 0; c < calls; c++) {
        await model.forecast(batch, {
          quantiles: [...REQUIRED_QUANTILES],
          numSamples: 100,
          intervalSeconds: 300,
          predictionLength: 12,
        });
      }
    });
    return {
      name: "model-server",
      what: "InvokeEndpoint through the SDK to the local model server, batches of 50 series × 2,016 points",
      value: (calls * batch.length) / (ms / 1000),
      unit: "series/s",
    };
  } finally {
    await server.close();
  }
}

async function admissionBench(config: ShaperConfig): Promise<BenchResult[]> {
  const clock = new ManualClock(1_795_000_200);
  const admissions = new InMemoryAdmissionStore();
  const ledger = await admissions.getLedger("cpu");
  await admissions.putLedger(
    {
      ...ledger,
      capacity: [{ start: 0, capacity: { vcpu: 4_000, memoryGiB: 16_000 } }],
      updatedAt: clock.nowSeconds(),
    },
    ledger.version,
  );
  const deps = {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(config.users),
    admissions,
    forecasts: new InMemoryForecastStore(),
    policies: new InMemoryPolicyStore(),
    clock,
  };
  const latencies: number[] = [];
  const n = 5_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    clock.advance(0.2);
    const user = config.users[i % config.users.length]?.userId ?? "acme";
    const started = performance.now();
    await admitRequest(deps, {
      requestId: `bench-${i}`,
      userId: user,
      pool: "cpu",
      amounts: { vcpu: 1 + (i % 4), memoryGiB: 4 },
      durationSeconds: 600,
      criticality: "normal",
    });
    latencies.push(performance.now() - started);
  }
  const total = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return [
    {
      name: "admission",
      what: `admitRequest with the in-memory store, ${n} sequential requests (up to ~3,000 live leases)`,
      value: n / (total / 1000),
      unit: "decisions/s",
    },
    {
      name: "admission-p99",
      what: "latency of one decision, p99, same run",
      value: latencies[Math.floor(0.99 * n)] as number,
      unit: "ms",
    },
  ];
}

async function localCycleBench(config: ShaperConfig): Promise<BenchResult> {
  const withUsers = withGeneratedUsers(config, 24);
  const system = await LocalSystem.start({
    tokens: localTokenSettings(),
    config: withUsers,
    seed: 1,
    startTime: 1_795_424_400,
    apiPort: 0,
    intensity: 1.5,
  });
  try {
    await system.backfill(2);
    let t = system.clock.nowSeconds();
    const ms = await medianMs(5, async () => {
      system.clock.set(t + 5);
      await system.runPipeline();
      await system.sendRequests(t);
      t += withUsers.intervalSeconds;
    });
    return {
      name: "local-cycle",
      what: "npm start: one interval (collect, forecast via model server, plan, admission over HTTP), 24 users",
      value: ms,
      unit: "ms",
    };
  } finally {
    await system.close();
  }
}

/** What `npm run bench` runs and where it reports. */
export interface BenchOptions {
  readonly configFile: URL;
  readonly jsonPath: string;
  readonly print: (line: string) => void;
  /** Progress lines (stderr by default). */
  readonly progress?: (line: string) => void;
  /** Run the hot-path benchmarks (false: the forecast speed section only). @default true */
  readonly hotPaths?: boolean;
  /**
   * The forecast speed section of issue 3 (local/forecast-bench.ts: shaper against statsforecast
   * AutoETS on series cut from the traces), or false to skip it. @default 10,000 series
   */
  readonly forecast?:
    | Partial<Omit<ForecastBenchOptions, "print" | "progress" | "jsonPath">>
    | false;
}

/** Everything `npm run bench` writes to its JSON file. */
export interface BenchReport {
  readonly date: string;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly results: BenchResult[];
  /** Present unless the forecast section was skipped. */
  readonly forecastSpeed?: ForecastBenchResult;
}

/** Runs every benchmark, prints the table and writes the JSON. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`  ${line}\n`));
  const { readFileSync } = await import("node:fs");
  const config = withGeneratedUsers(
    parseConfig(JSON.parse(readFileSync(options.configFile, "utf8"))),
    24,
  );
  // The forecast section runs first, so the memory it reports (the whole Node process tree,
  // this process included) does not carry the hot paths' heap.
  let forecastSpeed: ForecastBenchResult | undefined;
  if (options.forecast !== false) {
    forecastSpeed = await runForecastBench({
      dataDir: DEFAULT_TRACE_DATA_DIR,
      ...options.forecast,
      print: options.print,
      progress,
    });
    options.print("");
  }
  const results: BenchResult[] = [];
  const steps: Array<[string, () => Promise<BenchResult | BenchResult[]>]> =
    options.hotPaths === false
      ? []
      : [
          ["fair share", fairShareBench],
          ["dominant-resource fairness", drfBench],
          ["plan", () => planBench(config)],
          ["forecast", forecastBench],
          ["model server", modelServerBench],
          ["admission", () => admissionBench(config)],
          ["local cycle", () => localCycleBench(config)],
        ];
  for (const [label, step] of steps) {
    progress(`running ${label}…`);
    const out = await step();
    results.push(...(Array.isArray(out) ? out : [out]));
  }
  if (results.length > 0) {
    options.print(
      formatTable(
        ["benchmark", "value", "unit", "what"],
        results.map((r) => [r.name, Math.round(r.value * 100) / 100, r.unit, r.what]),
      ),
    );
  }
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine,
    results,
    ...(forecastSpeed ? { forecastSpeed } : {}),
  };
  mkdirSync(path.dirname(path.resolve(options.jsonPath)), { recursive: true });
  writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  options.print(`\nWrote ${options.jsonPath}`);
  return report;
}
