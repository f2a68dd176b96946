import { admissionRoutes } from "../functions/shape/admission.js";
import {
  issueToken,
  type TokenSettings,
  verifyBearer,
} from "../layers/adapters/auth/jwt-tokens.js";
import { createAwsClients } from "../layers/adapters/aws-clients.js";
import { ManualClock, systemClock } from "../layers/adapters/clock.js";
import { FileAdmissionStore } from "../layers/adapters/local/file-admission-store.js";
import { FileUsageStore } from "../layers/adapters/local/file-usage-store.js";
import { InMemoryAdmissionStore } from "../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryEventPublisher } from "../layers/adapters/local/in-memory-event-publisher.js";
import { InMemoryForecastStateStore } from "../layers/adapters/local/in-memory-forecast-state-store.js";
import { InMemoryForecastStore } from "../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPlanStore } from "../layers/adapters/local/in-memory-plan-store.js";
import { InMemoryPolicyStore } from "../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUsageStore } from "../layers/adapters/local/in-memory-usage-store.js";
import { InMemoryUserRegistry } from "../layers/adapters/local/in-memory-user-registry.js";
import { InProcessForecastModel } from "../layers/adapters/local/in-process-forecast-model.js";
import { SimulatedEcsCluster } from "../layers/adapters/local/simulated-ecs-cluster.js";
import { StaticConfigSource } from "../layers/adapters/local/static-config-source.js";
import { SageMakerForecastModel } from "../layers/adapters/sagemaker-runtime/sagemaker-forecast-model.js";
import type { DecisionRecord } from "../layers/domain/admission.js";
import { type ShaperConfig, seasonIntervals } from "../layers/domain/config.js";
import { httpHandler } from "../layers/lambda/http-handler.js";
import type { AdmitRequestDeps } from "../layers/use-cases/admit-request.js";
import {
  type CollectShardResult,
  collectPools,
  collectShard,
} from "../layers/use-cases/collect-usage.js";
import { type ForecastPoolsResult, forecastPools } from "../layers/use-cases/forecast-pools.js";
import { type ForecastUsersResult, forecastUsers } from "../layers/use-cases/forecast-users.js";
import { type PlanCapacityResult, planCapacity } from "../layers/use-cases/plan-capacity.js";
import { type RunningModelServer, startModelServer } from "../model-server/server.js";
import { type RunningHttpApi, serveHttpApi } from "./http-api-server.js";
import { SyntheticUsageSource } from "./synthetic-usage-source.js";
import { SyntheticWorkload } from "./workload.js";

/**
 * The whole pipeline on one machine: the same use cases the Lambdas call, wired to embedded
 * stand-ins — in-memory stores, the project's model server reached through the SageMaker Runtime
 * API, a simulated ECS cluster with provisioning lag, a workload generator in place of CloudWatch,
 * and a manual clock standing in for EventBridge's schedule. The admission API is served over
 * HTTP on localhost by the admission function's own routes.
 */

export interface LocalSystemOptions {
  readonly config: ShaperConfig;
  /** Seed of the built-in workload. */
  readonly seed: number;
  /** Simulated time the run starts at, epoch seconds (aligned down to the interval). */
  readonly startTime: number;
  /** Port of the admission API; 0 picks a free one. */
  readonly apiPort: number;
  /** Multiplies the workload's demand. @default 1 */
  readonly intensity?: number;
  /** Key, issuer and audience of the tokens the admission API accepts (see local-signing-key.ts). */
  readonly tokens: TokenSettings;
  /**
   * Folder of the embedded on-disk store for decisions, ledgers and usage (replayed at start,
   * so a restart loses nothing acknowledged); absent = in memory, gone when the process ends.
   */
  readonly dataDir?: string;
}

/** What one pipeline cycle did, stage by stage. */
export interface CycleReport {
  readonly time: number;
  readonly collect: {
    readonly shards: number;
    readonly records: number;
    readonly missing: number;
    readonly requestsFolded: number;
  };
  readonly forecast: { readonly users: ForecastUsersResult[]; readonly pools: ForecastPoolsResult };
  readonly plan: PlanCapacityResult;
}

export class LocalSystem {
  readonly clock: ManualClock;
  readonly usage: InMemoryUsageStore | FileUsageStore;
  readonly forecasts = new InMemoryForecastStore();
  readonly plans = new InMemoryPlanStore();
  readonly policies = new InMemoryPolicyStore();
  readonly admissions: InMemoryAdmissionStore | FileAdmissionStore;
  readonly events = new InMemoryEventPublisher();
  readonly users: InMemoryUserRegistry;
  readonly cluster: SimulatedEcsCluster;
  readonly workload: SyntheticWorkload;
  private readonly configSource: StaticConfigSource;
  private readonly usageSource: SyntheticUsageSource;
  private readonly fallbackModel = new InProcessForecastModel();
  private readonly forecastStates = new InMemoryForecastStateStore();
  private readonly sagemakerRuntime;
  private readonly tokens = new Map<string, Promise<string>>();

  private constructor(
    readonly config: ShaperConfig,
    private readonly options: LocalSystemOptions,
    private readonly modelServer: RunningModelServer,
    private readonly api: { server: RunningHttpApi | undefined },
  ) {
    this.clock = new ManualClock(options.startTime - (options.startTime % config.intervalSeconds));
    this.admissions = options.dataDir
      ? FileAdmissionStore.open(options.dataDir)
      : new InMemoryAdmissionStore();
    this.usage = options.dataDir ? FileUsageStore.open(options.dataDir) : new InMemoryUsageStore();
    this.configSource = new StaticConfigSource(config);
    this.users = new InMemoryUserRegistry(config.users);
    this.cluster = new SimulatedEcsCluster(this.clock, config.pools);
    this.workload = new SyntheticWorkload(config, {
      seed: options.seed,
      intensity: options.intensity ?? 1,
    });
    this.sagemakerRuntime = createAwsClients({
      env: { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: modelServer.url, AWS_REGION: "us-east-1" },
    }).sagemakerRuntime();
    this.usageSource = new SyntheticUsageSource(this.workload, config, (pool, t) =>
      this.utilization(pool, t),
    );
  }

  /** Starts the model server and the admission API; call `close()` when done. */
  static async start(options: LocalSystemOptions): Promise<LocalSystem> {
    const { config } = options;
    const modelServer = await startModelServer({
      port: 0,
      host: "127.0.0.1",
      predictionLength: config.horizonIntervals,
      seasonLength: seasonIntervals(config),
      modelVersion: "local",
    });
    await modelServer.ready;
    const api: { server: RunningHttpApi | undefined } = { server: undefined };
    const system = new LocalSystem(config, options, modelServer, api);
    const handler = httpHandler({
      maxBodyBytes: config.admission.maxBodyBytes,
      routes: admissionRoutes(async () => system.admissionDeps()),
    });
    // Tokens are about real time, not the simulated clock of the workload.
    api.server = await serveHttpApi(handler, ["POST /v1/requests", "GET /v1/requests/{id}"], {
      port: options.apiPort,
      authorize: (authorization) => verifyBearer(options.tokens, authorization, systemClock),
    });
    return system;
  }

  /** Base URL of the admission API on localhost. */
  get apiUrl(): string {
    return this.api.server?.url ?? "";
  }

  get modelServerUrl(): string {
    return this.modelServer.url;
  }

  admissionDeps(): AdmitRequestDeps {
    return {
      config: this.configSource,
      users: this.users,
      admissions: this.admissions,
      forecasts: this.forecasts,
      policies: this.policies,
      clock: this.clock,
    };
  }

  /**
   * Fills the usage history the forecasts learn from by running collect with a one-day lookback,
   * once per day before the start.
   */
  async backfill(days: number): Promise<number> {
    const dayConfig = new StaticConfigSource({
      ...this.config,
      collect: { ...this.config.collect, lookbackIntervals: seasonIntervals(this.config) },
    });
    let records = 0;
    const start = this.clock.nowSeconds();
    for (let day = days - 1; day >= 0; day--) {
      const time = start - day * 86_400;
      for (let shard = 0; shard < this.config.shardCount; shard++) {
        const result = await collectShard(
          { ...this.collectDeps(), configSource: dayConfig },
          { time, shard },
        );
        records += result.records;
      }
    }
    return records;
  }

  /** One scheduled run of the pipeline at the clock's time: collect → forecast → plan. */
  async runPipeline(): Promise<CycleReport> {
    const time = this.clock.nowSeconds();
    const shards = Array.from({ length: this.config.shardCount }, (_, shard) => shard);
    const collected: CollectShardResult[] = [];
    for (const shard of shards)
      collected.push(await collectShard(this.collectDeps(), { time, shard }));
    await collectPools(this.collectDeps(), { time });
    const forecastDeps = {
      configSource: this.configSource,
      userRegistry: this.users,
      usageStore: this.usage,
      forecastStore: this.forecasts,
      primaryModel: (config: ShaperConfig) => this.endpointModel(config),
      fallbackModel: this.fallbackModel,
      stateStore: this.forecastStates,
    };
    const users: ForecastUsersResult[] = [];
    for (const shard of shards) users.push(await forecastUsers(forecastDeps, { time, shard }));
    const pools = await forecastPools({ ...forecastDeps, events: this.events }, { time });
    const plan = await planCapacity(
      {
        config: this.configSource,
        policies: this.policies,
        forecasts: this.forecasts,
        users: this.users,
        scaler: this.cluster,
        plans: this.plans,
        admissions: this.admissions,
      },
      { time },
    );
    return {
      time,
      collect: {
        shards: shards.length,
        records: collected.reduce((n, c) => n + c.records, 0),
        missing: collected.reduce((n, c) => n + c.missingRecords, 0),
        requestsFolded: collected.reduce((n, c) => n + c.requestsFolded, 0),
      },
      forecast: { users, pools },
      plan,
    };
  }

  /**
   * Sends the workload's requests of the interval starting at `intervalStart` to the admission
   * API over HTTP, moving the clock to each request's arrival time.
   */
  async sendRequests(intervalStart: number): Promise<DecisionRecord[]> {
    const arrivals = this.config.users
      .flatMap((user) =>
        Object.keys(this.config.pools).flatMap((pool) =>
          this.workload.requests(user, pool, intervalStart, this.config.intervalSeconds),
        ),
      )
      .sort(
        (a, b) =>
          a.offsetSeconds - b.offsetSeconds || (a.body.requestId < b.body.requestId ? -1 : 1),
      );
    const decided: DecisionRecord[] = [];
    for (const arrival of arrivals) {
      this.clock.set(intervalStart + arrival.offsetSeconds);
      const response = await fetch(`${this.apiUrl}/v1/requests`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${await this.tokenFor(arrival.body.userId)}`,
        },
        body: JSON.stringify(arrival.body),
      });
      if (!response.ok) {
        throw new Error(
          `The admission API answered ${response.status} to ${arrival.body.requestId}: ${await response.text()}`,
        );
      }
      const record = await this.admissions.getDecision(arrival.body.requestId);
      if (record) decided.push(record);
    }
    return decided;
  }

  /** A token for the tenant, as `shaper token <userId>` issues (one hour of real time). */
  tokenFor(userId: string): Promise<string> {
    let token = this.tokens.get(userId);
    if (!token) {
      token = issueToken(this.options.tokens, { userId }, 3_600, systemClock);
      this.tokens.set(userId, token);
    }
    return token;
  }

  async close(): Promise<void> {
    await this.api.server?.close();
    await this.modelServer.close();
    if (this.admissions instanceof FileAdmissionStore) await this.admissions.close();
    if (this.usage instanceof FileUsageStore) await this.usage.close();
  }

  private collectDeps() {
    return {
      configSource: this.configSource,
      userRegistry: this.users,
      usageSource: this.usageSource,
      requestLog: this.admissions,
      usageStore: this.usage,
    };
  }

  private endpointModel(config: ShaperConfig): SageMakerForecastModel {
    return new SageMakerForecastModel(this.sagemakerRuntime, {
      endpointName: config.forecast.endpointName,
      timeoutMs: config.forecast.timeoutMs,
    });
  }

  /** Utilisation of a pool's tasks (as ECS would report it), from the workload and the cluster. */
  private utilization(pool: string, intervalStart: number): number | null {
    const capacity = this.cluster.capacityAt(pool, intervalStart).vcpu ?? 0;
    if (capacity <= 0) return null;
    const used = this.config.users.reduce(
      (sum, user) => sum + (this.workload.usage(user, pool, intervalStart).vcpu ?? 0),
      0,
    );
    return Math.min(100, (100 * used) / capacity);
  }
}
