import { describe, expect, it } from "vitest";
import { InMemoryUsageStore } from "../../../layers/adapters/local/in-memory-usage-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import { type ShaperConfig, type User, userPools } from "../../../layers/domain/config.js";
import { ValidationError } from "../../../layers/domain/errors.js";
import type { Amounts } from "../../../layers/domain/resources.js";
import { shardOf } from "../../../layers/domain/sharding.js";
import { intervalStarts } from "../../../layers/domain/time.js";
import type { PoolLoadRecord, RequestLogEntry, UsageRecord } from "../../../layers/domain/usage.js";
import type { RequestLog } from "../../../layers/ports/request-log.js";
import type { UsageSource, UsageWindow } from "../../../layers/ports/usage-source.js";
import type { UserRegistry } from "../../../layers/ports/user-registry.js";
import {
  type CollectUsageDeps,
  collectPools,
  collectShard,
} from "../../../layers/use-cases/collect-usage.js";
import { testConfig } from "../../fixtures/config.js";

const NOW = 1_795_813_337; // inside the interval starting 1_795_813_200
const W0 = 1_795_812_300; // first interval of the window (lookback 3 × 300 s)

/** A metrics source that answers from a function; `null` = nothing reported. */
class FakeUsageSource implements UsageSource {
  readonly reads: string[][] = [];
  constructor(
    private readonly config: ShaperConfig,
    private readonly usage: (userId: string, pool: string, t: number) => Amounts | null,
    private readonly load: (pool: string, t: number) => number | null = () => null,
  ) {}

  async readUsage(users: readonly User[], pools: readonly string[], window: UsageWindow) {
    this.reads.push(users.map((u) => u.userId));
    const out: UsageRecord[] = [];
    for (const user of users)
      for (const pool of userPools(user, this.config).filter((p) => pools.includes(p)))
        for (const t of intervalStarts(window.start, window.end, window.intervalSeconds))
          out.push({
            userId: user.userId,
            pool,
            intervalStart: t,
            usage: this.usage(user.userId, pool, t),
          });
    return out;
  }

  async readPoolLoad(pools: readonly string[], window: UsageWindow): Promise<PoolLoadRecord[]> {
    return pools.flatMap((pool) =>
      intervalStarts(window.start, window.end, window.intervalSeconds).map((t) => ({
        pool,
        intervalStart: t,
        cpuUtilizationPercent: this.load(pool, t),
        memoryUtilizationPercent: this.load(pool, t) === null ? null : 50,
      })),
    );
  }
}

/** A request log over a list, partitioned by shard as the admission table's GSI is. */
class FakeRequestLog implements RequestLog {
  constructor(private readonly entries: readonly RequestLogEntry[]) {}
  async listRequests(shard: number, shardCount: number, from: number, to: number) {
    return this.entries.filter(
      (e) => shardOf(e.userId, shardCount) === shard && e.receivedAt >= from && e.receivedAt < to,
    );
  }
}

/** Hands out a shard's users two per page, as a paginated registry does. */
class PagedRegistry extends InMemoryUserRegistry {
  override async *listUsersInShard(shard: number, shardCount: number) {
    for await (const page of super.listUsersInShard(shard, shardCount)) {
      for (let i = 0; i < page.length; i += 2) yield page.slice(i, i + 2);
    }
  }
}

function request(overrides: Partial<RequestLogEntry>): RequestLogEntry {
  return {
    requestId: `r-${Math.random().toString(36).slice(2)}`,
    userId: "acme",
    pool: "cpu",
    amounts: { vcpu: 4 },
    durationSeconds: 300,
    receivedAt: W0 + 30,
    outcome: "grant",
    ...overrides,
  };
}

/** Users `user-0`…: every fourth draws from cpu only. FNV-1a puts six of twelve in each of 2 shards. */
function usersOf(count: number): User[] {
  return Array.from({ length: count }, (_, i) => ({
    userId: `user-${i}`,
    tier: "standard",
    ...(i % 4 === 0 ? { pools: ["cpu"] } : {}),
  }));
}

function setup(options: {
  usage?: (userId: string, pool: string, t: number) => Amounts | null;
  entries?: RequestLogEntry[];
  registry?: UserRegistry;
}) {
  const config = testConfig({ shardCount: 2, users: [] });
  const users = usersOf(12);
  const registry = options.registry ?? new InMemoryUserRegistry(users);
  const usageSource = new FakeUsageSource(
    config,
    options.usage ?? (() => ({ vcpu: 1 })),
    (pool, t) => (pool === "cpu" && t !== W0 ? 40 : null),
  );
  const usageStore = new InMemoryUsageStore();
  const deps: CollectUsageDeps = {
    configSource: new StaticConfigSource(config),
    userRegistry: registry,
    usageSource,
    requestLog: new FakeRequestLog(options.entries ?? []),
    usageStore,
  };
  const shardUsers = (shard: number) => users.filter((u) => shardOf(u.userId, 2) === shard);
  return { config, users, deps, usageStore, usageSource, shardUsers };
}

async function storedUsage(
  store: InMemoryUsageStore,
  users: readonly User[],
  config: ShaperConfig,
) {
  const out: UsageRecord[] = [];
  for (const user of users)
    for (const pool of Object.keys(config.pools))
      out.push(...(await store.getUsage(user.userId, pool, W0, W0 + 900)));
  return out;
}

describe("collectShard", () => {
  it("writes one record per user of the shard, pool the user draws from and interval of the window", async () => {
    const { deps, usageStore, shardUsers, config } = setup({
      usage: (userId, pool, t) =>
        t === W0 + 300 ? null : { vcpu: userId.length, ...(pool === "gpu" ? { gpu: 1 } : {}) },
    });
    const users = shardUsers(1);
    expect(users.length).toBeGreaterThan(2);
    const result = await collectShard(deps, { time: NOW, shard: 1 });

    const expectedRecords = users.reduce((n, u) => n + userPools(u, config).length * 3, 0);
    expect(result).toMatchObject({
      shard: 1,
      shardCount: 2,
      window: { start: W0, end: W0 + 900, intervalSeconds: 300 },
      users: users.length,
      records: expectedRecords,
      missingRecords: expectedRecords / 3,
      requestsFolded: 0,
      partials: 2 * 3,
    });
    const stored = await storedUsage(usageStore, users, config);
    expect(stored).toHaveLength(expectedRecords);
    const gpuUser = users.find((u) => u.pools === undefined)!;
    const gpu = await usageStore.getUsage(gpuUser.userId, "gpu", W0, W0 + 900);
    expect(gpu.map((r) => r.usage)).toEqual([
      { vcpu: gpuUser.userId.length, gpu: 1 },
      null,
      { vcpu: gpuUser.userId.length, gpu: 1 },
    ]);
    // Users of the other shard are not touched.
    expect(await storedUsage(usageStore, shardUsers(0), config)).toEqual([]);
  });

  it("keeps an interval the source returned nothing for missing, and sums only present usage per pool", async () => {
    const { deps, usageStore, shardUsers } = setup({
      usage: (userId, pool, t) =>
        pool === "cpu" && t === W0 && userId !== "user-1" ? { vcpu: 2 } : null,
    });
    const users = shardUsers(shardOf("user-1", 2));
    await collectShard(deps, { time: NOW, shard: shardOf("user-1", 2) });
    const partials = await usageStore.getPoolUsagePartials("cpu", W0, W0 + 900);
    expect(
      partials.map((p) => [p.intervalStart, p.usage, p.reportingUsers, p.missingUsers]),
    ).toEqual([
      [W0, { vcpu: 2 * (users.length - 1) }, users.length - 1, 1],
      [W0 + 300, {}, 0, users.length],
      [W0 + 600, {}, 0, users.length],
    ]);
    const missing = await usageStore.getUsage("user-1", "cpu", W0, W0 + 900);
    expect(missing.map((r) => r.usage)).toEqual([null, null, null]);
  });

  it("folds the shard's requests into its records, also where usage is missing", async () => {
    const shard = shardOf("user-1", 2);
    const { deps, usageStore } = setup({
      usage: (userId, _pool, t) => (userId === "user-1" && t === W0 ? null : { vcpu: 3 }),
      entries: [
        request({ userId: "user-1", receivedAt: W0 + 10, amounts: { vcpu: 4 }, outcome: "grant" }),
        request({ userId: "user-1", receivedAt: W0 + 20, amounts: { vcpu: 2 }, outcome: "reject" }),
        request({
          userId: "user-1",
          receivedAt: W0 + 610,
          amounts: { vcpu: 1 },
          durationSeconds: 60,
          outcome: "delay",
        }),
        // Outside the window: the interval still open, and one too old.
        request({ userId: "user-1", receivedAt: W0 + 900 }),
        request({ userId: "user-1", receivedAt: W0 - 1 }),
      ],
    });
    const result = await collectShard(deps, { time: NOW, shard });
    expect(result.requestsFolded).toBe(3);
    const [first, second, third] = await usageStore.getUsage("user-1", "cpu", W0, W0 + 900);
    expect(first?.usage).toBeNull();
    expect(first?.requests).toEqual({
      count: 2,
      requested: { vcpu: 6 },
      amountSeconds: { vcpu: 6 * 300 },
      granted: { vcpu: 4 },
    });
    expect(second?.usage).toEqual({ vcpu: 3 });
    expect(second?.requests?.count).toBe(0);
    expect(third?.requests).toEqual({
      count: 1,
      requested: { vcpu: 1 },
      amountSeconds: { vcpu: 60 },
      granted: { vcpu: 1 },
    });
  });

  it("gives a user with requests but no metric series a record, without counting it in the pool sums", async () => {
    // user-0 draws from cpu only, yet asked for gpu.
    const shard = shardOf("user-0", 2);
    const { deps, usageStore, shardUsers } = setup({
      usage: () => null,
      entries: [
        request({ userId: "user-0", pool: "gpu", amounts: { gpu: 1 }, receivedAt: W0 + 400 }),
      ],
    });
    const result = await collectShard(deps, { time: NOW, shard });
    const gpu = await usageStore.getUsage("user-0", "gpu", W0, W0 + 900);
    expect(gpu).toHaveLength(1);
    expect(gpu[0]).toMatchObject({ intervalStart: W0 + 300, usage: null, requests: { count: 1 } });
    expect(result.requestsFolded).toBe(1);
    const gpuUsers = shardUsers(shard).filter((u) => u.pools === undefined).length;
    const partial = (await usageStore.getPoolUsagePartials("gpu", W0 + 300, W0 + 600))[0];
    expect(partial).toMatchObject({ reportingUsers: 0, missingUsers: gpuUsers });
  });

  it("reads and writes users page by page", async () => {
    const registry = new PagedRegistry(usersOf(12));
    const { deps, usageSource, usageStore, shardUsers } = setup({ registry });
    const users = shardUsers(0);
    const result = await collectShard(deps, { time: NOW, shard: 0 });
    expect(usageSource.reads.length).toBe(Math.ceil(users.length / 2));
    expect(usageSource.reads.flat().sort()).toEqual(users.map((u) => u.userId).sort());
    expect(result.users).toBe(users.length);
    const partials = await usageStore.getPoolUsagePartials("cpu", W0, W0 + 300);
    expect(partials[0]).toMatchObject({
      usage: { vcpu: users.length },
      reportingUsers: users.length,
    });
  });

  it("is idempotent: collecting the same window twice leaves the same records and sums", async () => {
    const { deps, usageStore, users, config } = setup({
      usage: (userId, _pool, t) => (t === W0 ? null : { vcpu: userId.length, memoryGiB: 2 }),
      entries: [request({ userId: "user-3", receivedAt: W0 + 700 })],
    });
    const shard = shardOf("user-3", 2);
    const first = await collectShard(deps, { time: NOW, shard });
    const before = await storedUsage(usageStore, users, config);
    const partialsBefore = await usageStore.getPoolUsagePartials("cpu", W0, W0 + 900);
    const second = await collectShard(deps, { time: NOW + 100, shard });
    expect(second).toEqual(first);
    expect(await storedUsage(usageStore, users, config)).toEqual(before);
    expect(await usageStore.getPoolUsagePartials("cpu", W0, W0 + 900)).toEqual(partialsBefore);
  });

  it("refuses a shard the config does not have, writing nothing", async () => {
    const { deps, usageStore } = setup({});
    await expect(collectShard(deps, { time: NOW, shard: 2 })).rejects.toThrow(ValidationError);
    await expect(collectShard(deps, { time: NOW, shard: -1 })).rejects.toThrow(/from 0 to 1/);
    await expect(collectShard(deps, { time: Number.NaN, shard: 0 })).rejects.toThrow(
      ValidationError,
    );
    expect(await usageStore.getPoolUsagePartials("cpu", 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});

describe("collectPools", () => {
  it("writes every pool's load per interval, null where the source had nothing", async () => {
    const { deps, usageStore } = setup({});
    const result = await collectPools(deps, { time: NOW });
    expect(result).toMatchObject({ pools: 2, records: 6, missingRecords: 4 });
    const cpu = await usageStore.getPoolLoad("cpu", W0, W0 + 900);
    expect(
      cpu.map((r) => [r.intervalStart, r.cpuUtilizationPercent, r.memoryUtilizationPercent]),
    ).toEqual([
      [W0, null, null],
      [W0 + 300, 40, 50],
      [W0 + 600, 40, 50],
    ]);
    const gpu = await usageStore.getPoolLoad("gpu", W0, W0 + 900);
    expect(gpu.every((r) => r.cpuUtilizationPercent === null)).toBe(true);
  });
});
