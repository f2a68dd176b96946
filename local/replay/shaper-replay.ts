import { ManualClock } from "../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryEventPublisher } from "../../layers/adapters/local/in-memory-event-publisher.js";
import { InMemoryForecastStore } from "../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPlanStore } from "../../layers/adapters/local/in-memory-plan-store.js";
import { InMemoryPolicyStore } from "../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUsageStore } from "../../layers/adapters/local/in-memory-usage-store.js";
import { InMemoryUserRegistry } from "../../layers/adapters/local/in-memory-user-registry.js";
import { InProcessForecastModel } from "../../layers/adapters/local/in-process-forecast-model.js";
import { ObjectForecastStateStore } from "../../layers/adapters/local/object-forecast-state-store.js";
import { ReplayCapacityScaler } from "../../layers/adapters/local/replay-capacity-scaler.js";
import { StaticConfigSource } from "../../layers/adapters/local/static-config-source.js";
import type { AdmissionRequestInput, Lease } from "../../layers/domain/admission.js";
import { parseConfig, quantileKey, type ShaperConfig } from "../../layers/domain/config.js";
import { REACTIVE_TARGET_UTILISATION } from "../../layers/domain/replay/baselines.js";
import type { PolicyRun, RequestFate } from "../../layers/domain/replay/policy-run.js";
import type { ForecastFan, ReplayPolicyChange } from "../../layers/domain/replay/replay-result.js";
import type { ReplayRequest, ReplayTrace } from "../../layers/domain/replay/replay-trace.js";
import { RESOURCES } from "../../layers/domain/resources.js";
import { admitRequest } from "../../layers/use-cases/admit-request.js";
import { collectPools, collectShard } from "../../layers/use-cases/collect-usage.js";
import { forecastPools } from "../../layers/use-cases/forecast-pools.js";
import { forecastUsers } from "../../layers/use-cases/forecast-users.js";
import { planCapacity } from "../../layers/use-cases/plan-capacity.js";
import { adaptPolicies } from "../../layers/use-cases/retrain/adapt-policies.js";
import { TraceUsageSource } from "./trace-usage-source.js";

/**
 * The `shaper` policy of a replay: the product itself, the same use cases the Lambdas run —
 * collect → forecast → plan on the schedule (every interval), admission for each request — wired
 * to in-memory stores, the in-process forecast model (the same series model the endpoint serves),
 * a simulated cluster and a manual clock. Only the transport differs from `npm start`: requests go
 * to the admission use case directly instead of over HTTP.
 *
 * The simulated user takes what it is given: a grant starts at once; a delay within its
 * `maxDelaySeconds` starts then (beyond, it counts as denied); an offer is taken when the request
 * accepts alternatives and the offer starts within its patience — the user then sends the
 * alternative as a new request when it can start, and is served if that one is granted in time.
 * A request longer than the API's 31-day limit is sent for 31 days (the user does not renew it).
 */

export interface ShaperReplayOptions {
  /** The deployment config whose tiers, schedule and forecast settings shaper runs with. */
  readonly config: ShaperConfig;
  /** Called after each interval with the share of the span done (0–1). */
  readonly onProgress?: (done: number) => void;
  /** Users (at most) to draw forecast fans for, the busiest first. @default 4 */
  readonly fans?: number;
}

export interface ShaperReplayResult {
  readonly run: PolicyRun;
  readonly fans: ForecastFan[];
  /** The config the replay ran (pools and users from the trace). */
  readonly config: ShaperConfig;
  /** Tier policy changes the daily Adapt step made, oldest first. */
  readonly policyChanges: readonly ReplayPolicyChange[];
}

/** The deployment config with the trace's pools and tenants in place of its own. */
export function replayConfig(base: ShaperConfig, trace: ReplayTrace): ShaperConfig {
  const poolsOf = new Map<string, Set<string>>();
  const note = (userId: string, pool: string) => {
    const set = poolsOf.get(userId) ?? new Set<string>();
    set.add(pool);
    poolsOf.set(userId, set);
  };
  for (const r of trace.requests) note(r.userId, r.pool);
  for (const l of trace.initialLoad) note(l.userId, l.pool);
  return parseConfig(
    {
      ...base,
      shardCount: 1,
      // Trace tenants are whole applications: the demo's per-user caps do not apply to them.
      tiers: Object.fromEntries(
        Object.entries(base.tiers).map(([name, tier]) => {
          const { cap: _cap, ...rest } = tier;
          return [name, rest];
        }),
      ),
      pools: Object.fromEntries(
        Object.entries(trace.pools).map(([name, pool]) => [
          name,
          {
            perTask: pool.perTask,
            minTasks: pool.minTasks,
            maxTasks: pool.maxTasks,
            provisioningLagSeconds: pool.provisioningLagSeconds,
            costPerTaskHour: pool.costPerTaskHour,
            ecs: { cluster: "replay", service: name },
            alternatives: pool.alternatives,
          },
        ]),
      ),
      users: trace.users.map((u) => ({
        userId: u.userId,
        tier: u.tier,
        pools: [...(poolsOf.get(u.userId) ?? [])].sort(),
      })),
    },
    `the replay config for ${trace.format}`,
  );
}

/** The longest `durationSeconds` the admission API accepts (admission.ts). */
const MAX_REQUEST_SECONDS = 31 * 86_400;

/** Second of the day the retrain flow's daily run fires (03:17 UTC). */
const ADAPT_AT_SECOND_OF_DAY = 3 * 3_600 + 17 * 60;

interface Arrival {
  readonly at: number;
  readonly index: number;
  readonly body: AdmissionRequestInput;
  /** For a follow-up: the original request's arrival (the delay counts from there). */
  readonly followUpOf?: number;
}

/**
 * Replays the trace through shaper's pipeline.
 *
 * @param trace the trace
 * @param options config and progress callback
 * @returns what shaper did, scored like every other policy, and forecast fans for the report
 */
export async function runShaperReplay(
  trace: ReplayTrace,
  options: ShaperReplayOptions,
): Promise<ShaperReplayResult> {
  const started = performance.now();
  const config = replayConfig(options.config, trace);
  const interval = config.intervalSeconds;
  const first = trace.start - (trace.start % interval);
  const clock = new ManualClock(first);
  const configSource = new StaticConfigSource(config);
  const users = new InMemoryUserRegistry(config.users);
  const admissions = new InMemoryAdmissionStore();
  const usageStore = new InMemoryUsageStore();
  const forecasts = new InMemoryForecastStore();
  const policies = new InMemoryPolicyStore();
  const plans = new InMemoryPlanStore();
  const events = new InMemoryEventPublisher();
  // States stay objects between intervals, so the model continues its warm forecasters.
  const model = new InProcessForecastModel({ keepWarm: true });
  const states = new ObjectForecastStateStore();

  // The cluster starts as every policy does: sized for the initial load at 70 % utilisation.
  const initialTasks: Record<string, number> = {};
  for (const [name, pool] of Object.entries(trace.pools)) {
    const held = RESOURCES.map((r) =>
      trace.initialLoad.filter((l) => l.pool === name).reduce((n, l) => n + (l.amounts[r] ?? 0), 0),
    );
    let tasks = 0;
    RESOURCES.forEach((r, k) => {
      const per = pool.perTask[r] ?? 0;
      if (per > 0)
        tasks = Math.max(
          tasks,
          Math.ceil((held[k] as number) / (REACTIVE_TARGET_UTILISATION * per)),
        );
    });
    initialTasks[name] = Math.min(pool.maxTasks, Math.max(pool.minTasks, tasks));
  }
  const cluster = new ReplayCapacityScaler(clock, config.pools, initialTasks);
  const usageSource: TraceUsageSource = new TraceUsageSource(
    trace,
    interval,
    (pool, t): number | null => {
      const tasks = cluster.runningTasks(pool);
      const per = trace.pools[pool]?.perTask.vcpu ?? 0;
      if (tasks * per <= 0) return null;
      return Math.min(100, (100 * (usageSource.poolUsageAt(pool, t).vcpu ?? 0)) / (tasks * per));
    },
  );

  // The initial load holds its capacity in the ledgers from the start, as running work does.
  for (const [name, pool] of Object.entries(trace.pools)) {
    const leases: Lease[] = trace.initialLoad
      .filter((l) => l.pool === name)
      .map((l) => ({
        leaseId: `initial#${l.id}`,
        userId: l.userId,
        kind: "request",
        amounts: l.amounts,
        startAt: trace.start,
        endAt: l.endAt,
      }));
    const capacity = Object.fromEntries(
      Object.entries(pool.perTask).map(([r, v]) => [r, (v ?? 0) * (initialTasks[name] ?? 0)]),
    );
    await admissions.putLedger(
      { pool: name, version: 0, capacity: [{ start: first, capacity }], leases, updatedAt: first },
      0,
    );
  }

  const admissionDeps = {
    config: configSource,
    users,
    admissions,
    forecasts,
    policies,
    clock,
    sleep: async () => {},
  };
  const forecastDeps = {
    configSource,
    userRegistry: users,
    usageStore,
    forecastStore: forecasts,
    primaryModel: () => model,
    fallbackModel: model,
    stateStore: states,
  };
  const collectDeps = {
    configSource,
    userRegistry: users,
    usageSource,
    requestLog: admissions,
    usageStore,
  };

  const fates: (RequestFate | undefined)[] = new Array(trace.requests.length).fill(undefined);
  const followUps: Arrival[] = [];
  let next = 0;
  const fanAt = trace.start + Math.floor(0.6 * (trace.end - trace.start));
  let fanSnapshot: ForecastFan[] | undefined;
  const policyChanges: ReplayPolicyChange[] = [];
  const span = trace.end - first;

  const stages = new StageTimes();
  const settle = async (arrival: Arrival) => {
    const request = trace.requests[arrival.index] as ReplayRequest;
    clock.set(arrival.at);
    const record = await stages.time("admit", () => admitRequest(admissionDeps, arrival.body));
    const decision = record.decision;
    const origin = arrival.followUpOf ?? request.arrival;
    if (decision.outcome === "grant" || decision.outcome === "delay") {
      const delay = Math.max(0, decision.startAt - origin);
      if (delay > request.maxDelaySeconds) {
        fates[arrival.index] = { kind: "denied", reason: `started ${delay} s late` };
      } else if (arrival.followUpOf !== undefined) {
        fates[arrival.index] = {
          kind: "offered",
          delaySeconds: delay,
          pool: arrival.body.pool,
          amounts: arrival.body.amounts,
        };
      } else {
        fates[arrival.index] =
          delay === 0 ? { kind: "now" } : { kind: "delayed", delaySeconds: delay };
      }
      return;
    }
    if (
      decision.outcome === "offer" &&
      arrival.followUpOf === undefined &&
      request.acceptAlternatives
    ) {
      const alt = decision.alternative;
      const startAt = Math.max(arrival.at, alt.startAt);
      if (startAt - origin <= request.maxDelaySeconds) {
        insertSorted(followUps, {
          at: startAt,
          index: arrival.index,
          followUpOf: origin,
          body: {
            requestId: `${request.requestId}.alt`,
            userId: request.userId,
            pool: alt.pool,
            amounts: alt.amounts,
            durationSeconds: alt.durationSeconds,
            criticality: request.criticality,
            maxDelaySeconds: Math.max(0, request.maxDelaySeconds - (startAt - origin)),
            acceptAlternatives: false,
          },
        });
        return;
      }
    }
    fates[arrival.index] = { kind: "denied", reason: `${decision.outcome}: ${decision.reason}` };
  };

  for (let t = first; t < trace.end; t += interval) {
    clock.set(t);
    await stages.time("collect", async () => {
      for (let shard = 0; shard < config.shardCount; shard++)
        await collectShard(collectDeps, { time: t, shard });
      await collectPools(collectDeps, { time: t });
    });
    await stages.time("forecastUsers", async () => {
      for (let shard = 0; shard < config.shardCount; shard++)
        await forecastUsers(forecastDeps, { time: t, shard });
    });
    await stages.time("forecastPools", () =>
      forecastPools({ ...forecastDeps, events }, { time: t }),
    );
    await stages.time("plan", () =>
      planCapacity(
        { config: configSource, policies, forecasts, users, scaler: cluster, plans, admissions },
        { time: t },
      ),
    );
    // The retrain flow runs daily at 03:17 UTC (infra/constructs/retrain-flow.ts); its Adapt
    // step moves each tier's quantile and headroom from the day's outcomes, within bounds.
    if ((t + interval - ADAPT_AT_SECOND_OF_DAY) % 86_400 < interval && t - first >= 86_400) {
      const adapted = await stages.time("adapt", () =>
        adaptPolicies(
          {
            configSource,
            forecastStore: forecasts,
            requestLog: admissions,
            usageStore,
            policyStore: policies,
            clock,
          },
          { time: new Date(t * 1000).toISOString() },
        ),
      );
      for (const c of adapted.changes)
        policyChanges.push({ at: c.at, tier: c.tier, cause: c.cause });
    }
    if (!fanSnapshot && t >= fanAt)
      fanSnapshot = await forecastFans(trace, config, forecasts, usageSource, t, options.fans ?? 4);
    const until = t + interval;
    for (;;) {
      const request = trace.requests[next];
      const followUp = followUps[0];
      const requestAt =
        request && request.arrival < until ? request.arrival : Number.POSITIVE_INFINITY;
      const followUpAt = followUp && followUp.at < until ? followUp.at : Number.POSITIVE_INFINITY;
      if (requestAt === Number.POSITIVE_INFINITY && followUpAt === Number.POSITIVE_INFINITY) break;
      if (followUpAt <= requestAt) {
        await settle(followUps.shift() as Arrival);
        continue;
      }
      const r = request as ReplayRequest;
      await settle({
        at: r.arrival,
        index: next,
        body: {
          requestId: r.requestId,
          userId: r.userId,
          pool: r.pool,
          amounts: r.amounts,
          // The admission API takes at most 31 days; a longer request is sent for that long.
          durationSeconds: Math.min(r.durationSeconds, MAX_REQUEST_SECONDS),
          criticality: r.criticality,
          maxDelaySeconds: r.maxDelaySeconds,
          acceptAlternatives: r.acceptAlternatives,
        },
      });
      next++;
    }
    options.onProgress?.(Math.min(1, (until - first) / span));
  }
  clock.set(trace.end);
  return {
    run: {
      name: "shaper",
      fates: fates.map(
        (f) => f ?? { kind: "denied", reason: "no decision before the trace ended" },
      ),
      capacity: cluster.curves(),
      scalingActions: cluster.scalingActions(),
      wallSeconds: (performance.now() - started) / 1000,
      stageSeconds: stages.seconds(),
    },
    fans: fanSnapshot ?? [],
    config,
    policyChanges,
  };
}

/** Wall time spent in each pipeline stage of the replay, summed over its intervals. */
class StageTimes {
  private readonly ms = new Map<string, number>();

  async time<T>(stage: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.ms.set(stage, (this.ms.get(stage) ?? 0) + performance.now() - start);
    }
  }

  /** Seconds per stage, rounded to 0.1 s. */
  seconds(): Record<string, number> {
    return Object.fromEntries(
      [...this.ms].map(([stage, ms]) => [stage, Math.round(ms / 100) / 10]),
    );
  }
}

function insertSorted(queue: Arrival[], arrival: Arrival): void {
  let i = queue.length;
  while (i > 0 && (queue[i - 1] as Arrival).at > arrival.at) i--;
  queue.splice(i, 0, arrival);
}

/** Forecast fans of the busiest users (by vCPU asked for in the trace) at interval `t`. */
async function forecastFans(
  trace: ReplayTrace,
  config: ShaperConfig,
  forecasts: InMemoryForecastStore,
  usage: TraceUsageSource,
  t: number,
  count: number,
): Promise<ForecastFan[]> {
  const asked = new Map<string, number>();
  for (const r of trace.requests) {
    const key = `${r.userId} ${r.pool}`;
    asked.set(key, (asked.get(key) ?? 0) + (r.amounts.vcpu ?? 0) * r.durationSeconds);
  }
  const busiest = [...asked.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  const out: ForecastFan[] = [];
  const interval = config.intervalSeconds;
  for (const [key] of busiest) {
    const [userId, pool] = key.split(" ") as [string, string];
    const forecast = await forecasts.getUserForecast(pool, userId);
    const vcpu = forecast?.byResource.vcpu;
    if (!forecast || !vcpu) continue;
    const levels = [0.1, 0.5, 0.9].filter((q) => vcpu.quantiles[quantileKey(q)] !== undefined);
    const history: number[] = [];
    for (let k = 36; k > 0; k--)
      history.push(usage.usageAt(userId, pool, forecast.start - k * interval).vcpu ?? 0);
    const actual: (number | null)[] = [];
    for (let h = 0; h < forecast.horizon; h++) {
      const at = forecast.start + h * interval;
      actual.push(at < trace.end ? (usage.usageAt(userId, pool, at).vcpu ?? 0) : null);
    }
    out.push({
      userId,
      pool,
      start: forecast.start,
      stepSeconds: forecast.intervalSeconds,
      history,
      actual,
      quantiles: levels.map((level) => ({
        level,
        values: [...(vcpu.quantiles[quantileKey(level)] ?? [])],
      })),
    });
  }
  void t;
  return out;
}
