import type {
  CloudWatchClient,
  GetMetricDataInput,
  GetMetricDataOutput,
  MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { createAwsClients } from "../../../../layers/adapters/aws-clients.js";
import {
  CloudWatchUsageSource,
  type UsageReadReport,
} from "../../../../layers/adapters/cloudwatch/cloudwatch-usage-source.js";
import { StaticConfigSource } from "../../../../layers/adapters/local/static-config-source.js";
import type { ShaperConfigInput, User } from "../../../../layers/domain/config.js";
import { ConfigError, DependencyError } from "../../../../layers/domain/errors.js";
import { testConfig } from "../../../fixtures/config.js";

/**
 * GetMetricData behaviours an emulator does not produce (pages, PartialData, InternalError,
 * Forbidden, messages, throttling), simulated in-process: a middleware answers the command
 * before it is sent, so the adapter runs against a real SDK client with made-up responses.
 * The real wire format is covered by test/integration/collect-handler.test.ts against moto.
 */

const T = 1_795_812_300;
const window = { start: T, end: T + 900, intervalSeconds: 300 };

type Status = Pick<MetricDataResult, "StatusCode" | "Messages">;

class FakeCloudWatch {
  readonly calls: GetMetricDataInput[] = [];
  private readonly points = new Map<string, { t: number; v: number }[]>();
  /** Datapoints per page; more make a NextToken and PartialData. */
  pageSize = Number.POSITIVE_INFINITY;
  /** Shift of returned timestamps from the period start, seconds (unaligned emulators). */
  timestampShiftSeconds = 0;
  /** A status to report for a query, by its metric and dimension values. */
  status: (metricName: string, dims: string[]) => Status | undefined = () => undefined;
  /** Throw this instead of answering. */
  failure: Error | undefined;
  /** Answer every call with this NextToken (a broken server). */
  stuckToken: string | undefined;
  readonly client: CloudWatchClient;

  constructor() {
    this.client = createAwsClients({
      env: { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_REGION: "us-east-1" },
      maxAttempts: 1,
    }).cloudwatch();
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "GetMetricDataCommand") return next(args);
        const input = structuredClone(args.input as GetMetricDataInput);
        this.calls.push(input);
        if (this.failure) throw this.failure;
        return { output: { $metadata: {}, ...this.answer(input) }, response: {} } as never;
      },
      { step: "initialize", name: "fakeGetMetricData" },
    );
  }

  put(metricName: string, dims: string[], t: number, v: number, namespace = "Shaper/Usage") {
    const key = `${namespace}|${metricName}|${dims.join("|")}`;
    this.points.set(key, [...(this.points.get(key) ?? []), { t, v }]);
  }

  private answer(input: GetMetricDataInput): GetMetricDataOutput {
    const start = (input.StartTime as Date).getTime() / 1000;
    const end = (input.EndTime as Date).getTime() / 1000;
    const all: { id: string; t: number; v: number }[] = [];
    const statuses = new Map<string, Status>();
    for (const q of input.MetricDataQueries ?? []) {
      const stat = q.MetricStat!;
      const dims = (stat.Metric?.Dimensions ?? []).map((d) => d.Value ?? "");
      const status = this.status(stat.Metric?.MetricName ?? "", dims);
      if (status) statuses.set(q.Id!, status);
      const key = `${stat.Metric?.Namespace}|${stat.Metric?.MetricName}|${dims.join("|")}`;
      const period = stat.Period!;
      for (let b = start; b < end; b += period) {
        const inBucket = (this.points.get(key) ?? []).filter((p) => p.t >= b && p.t < b + period);
        if (inBucket.length === 0) continue;
        const v =
          stat.Stat === "Maximum"
            ? Math.max(...inBucket.map((p) => p.v))
            : inBucket.reduce((s, p) => s + p.v, 0) / inBucket.length;
        all.push({ id: q.Id!, t: b + this.timestampShiftSeconds, v });
      }
    }
    const offset = input.NextToken ? Number(input.NextToken.slice(4)) : 0;
    const page = all.slice(offset, offset + this.pageSize);
    const more = offset + this.pageSize < all.length;
    const results: MetricDataResult[] = (input.MetricDataQueries ?? []).map((q) => {
      const mine = page.filter((p) => p.id === q.Id);
      return {
        Id: q.Id,
        Timestamps: mine.map((p) => new Date(p.t * 1000)),
        Values: mine.map((p) => p.v),
        StatusCode: more ? "PartialData" : "Complete",
        ...statuses.get(q.Id!),
      };
    });
    const nextToken = this.stuckToken ?? (more ? `tok-${offset + this.pageSize}` : undefined);
    return { MetricDataResults: results, ...(nextToken ? { NextToken: nextToken } : {}) };
  }
}

function source(fake: FakeCloudWatch, overrides: Partial<ShaperConfigInput> = {}) {
  const reports: UsageReadReport[] = [];
  const config = testConfig(overrides);
  const usageSource = new CloudWatchUsageSource(fake.client, new StaticConfigSource(config), {
    onReport: (r) => reports.push(r),
  });
  return { usageSource, reports, config };
}

const acme: User = { userId: "acme", tier: "premium" };
const initech: User = { userId: "initech", tier: "standard", pools: ["cpu"] };

describe("CloudWatchUsageSource.readUsage", () => {
  it("reads each resource of each pool a user draws from, per interval, with the configured statistic", async () => {
    const fake = new FakeCloudWatch();
    fake.put("vcpu", ["acme", "cpu"], T + 10, 2);
    fake.put("vcpu", ["acme", "cpu"], T + 70, 4);
    fake.put("memoryGiB", ["acme", "cpu"], T + 10, 16);
    fake.put("gpu", ["acme", "gpu"], T + 310, 1);
    fake.put("vcpu", ["initech", "cpu"], T + 610, 8);
    const { usageSource, reports } = source(fake);

    const records = await usageSource.readUsage([acme, initech], ["cpu", "gpu"], window);

    expect(records).toHaveLength((2 + 1) * 3);
    const at = (user: string, pool: string, t: number) =>
      records.find((r) => r.userId === user && r.pool === pool && r.intervalStart === t)?.usage;
    expect(at("acme", "cpu", T)).toEqual({ vcpu: 3, memoryGiB: 16 });
    expect(at("acme", "gpu", T + 300)).toEqual({ gpu: 1 });
    expect(at("initech", "cpu", T + 600)).toEqual({ vcpu: 8 });
    // Nothing at all in an interval: missing, never zeros.
    expect(at("acme", "cpu", T + 300)).toBeNull();
    expect(records.filter((r) => r.userId === "initech" && r.pool === "gpu")).toEqual([]);

    const queries = fake.calls[0]?.MetricDataQueries ?? [];
    expect(queries).toHaveLength(2 + 3 + 2); // acme: cpu 2 + gpu 3 resources; initech: cpu 2
    expect(queries[0]?.MetricStat).toEqual({
      Metric: {
        Namespace: "Shaper/Usage",
        MetricName: "vcpu",
        Dimensions: [
          { Name: "UserId", Value: "acme" },
          { Name: "Pool", Value: "cpu" },
        ],
      },
      Period: 300,
      Stat: "Average",
    });
    expect(fake.calls[0]?.StartTime).toEqual(new Date(T * 1000));
    expect(fake.calls[0]?.EndTime).toEqual(new Date((T + 900) * 1000));
    expect(reports[0]).toMatchObject({ kind: "usage", queries: 7, calls: 1, failedSeries: [] });
  });

  it("uses the namespace, metric names, dimensions and statistic the config names", async () => {
    const fake = new FakeCloudWatch();
    fake.put("cores", ["acme", "cpu"], T + 1, 5, "Acme/Metering");
    fake.put("cores", ["acme", "cpu"], T + 2, 9, "Acme/Metering");
    const { usageSource } = source(fake, {
      collect: {
        namespace: "Acme/Metering",
        metricNames: { vcpu: "cores", memoryGiB: "ram" },
        userDimension: "Tenant",
        poolDimension: "Queue",
        statistic: "Maximum",
        lookbackIntervals: 3,
      },
    });
    const records = await usageSource.readUsage([initech, acme], ["cpu"], window);
    expect(records.find((r) => r.userId === "acme" && r.intervalStart === T)?.usage).toEqual({
      vcpu: 9,
    });
    const stat = fake.calls[0]?.MetricDataQueries?.[0]?.MetricStat;
    expect(stat?.Metric?.Namespace).toBe("Acme/Metering");
    expect(stat?.Metric?.Dimensions?.map((d) => d.Name)).toEqual(["Tenant", "Queue"]);
    expect(stat?.Stat).toBe("Maximum");
  });

  it("batches at 500 queries per call with ids the API accepts, mapping every answer back", async () => {
    const fake = new FakeCloudWatch();
    // 101 users × (cpu: 2 + gpu: 3 resources) = 505 series: two calls.
    const users: User[] = Array.from({ length: 101 }, (_, i) => ({
      userId: `user-${i}`,
      tier: "standard",
    }));
    users.forEach((u, i) => {
      fake.put("memoryGiB", [u.userId, "gpu"], T + 5, i);
    });
    const { usageSource, reports } = source(fake);
    const records = await usageSource.readUsage(users, ["cpu", "gpu"], window);

    expect(fake.calls.map((c) => c.MetricDataQueries?.length)).toEqual([500, 5]);
    const ids = fake.calls.flatMap((c) => c.MetricDataQueries?.map((q) => q.Id) ?? []);
    expect(new Set(ids).size).toBe(505);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    for (const [i, u] of users.entries()) {
      const r = records.find(
        (x) => x.userId === u.userId && x.pool === "gpu" && x.intervalStart === T,
      );
      expect(r?.usage).toEqual({ memoryGiB: i });
    }
    expect(reports[0]).toMatchObject({ queries: 505, batches: 2, calls: 2 });
  });

  it("follows NextToken to the last page and merges a series split across pages", async () => {
    const fake = new FakeCloudWatch();
    fake.pageSize = 2;
    for (const [k, t] of [T, T + 300, T + 600].entries()) {
      fake.put("vcpu", ["initech", "cpu"], t + 1, k + 1);
      fake.put("memoryGiB", ["initech", "cpu"], t + 1, 10 * (k + 1));
    }
    const { usageSource, reports } = source(fake);
    const records = await usageSource.readUsage([initech], ["cpu"], window);

    expect(fake.calls.map((c) => c.NextToken)).toEqual([undefined, "tok-2", "tok-4"]);
    expect(new Set(fake.calls.map((c) => JSON.stringify(c.MetricDataQueries))).size).toBe(1);
    expect(records.map((r) => r.usage)).toEqual([
      { vcpu: 1, memoryGiB: 10 },
      { vcpu: 2, memoryGiB: 20 },
      { vcpu: 3, memoryGiB: 30 },
    ]);
    expect(reports[0]).toMatchObject({ calls: 3, datapoints: 6, failedSeries: [] });
  });

  it("treats a series CloudWatch failed to deliver as missing for the window and names it", async () => {
    const fake = new FakeCloudWatch();
    for (const t of [T, T + 300, T + 600]) {
      fake.put("vcpu", ["acme", "cpu"], t, 2);
      fake.put("memoryGiB", ["acme", "cpu"], t, 8);
      fake.put("vcpu", ["acme", "gpu"], t, 1);
      fake.put("vcpu", ["initech", "cpu"], t, 6);
    }
    fake.status = (metric, [user, pool]) => {
      if (user === "acme" && pool === "cpu" && metric === "memoryGiB")
        return { StatusCode: "InternalError" };
      if (user === "acme" && pool === "gpu")
        return { StatusCode: "Forbidden", Messages: [{ Code: "Forbidden", Value: "denied" }] };
      if (user === "initech")
        return { StatusCode: "Complete", Messages: [{ Code: "ArithmeticError", Value: "x" }] };
      return undefined;
    };
    const { usageSource, reports } = source(fake);
    const records = await usageSource.readUsage([acme, initech], ["cpu", "gpu"], window);

    const usage = (user: string, pool: string) =>
      records.filter((r) => r.userId === user && r.pool === pool).map((r) => r.usage);
    // The failed resource is left out; the others of the pool stay.
    expect(usage("acme", "cpu")).toEqual([{ vcpu: 2 }, { vcpu: 2 }, { vcpu: 2 }]);
    // Every series of the pool failed: missing, not zero.
    expect(usage("acme", "gpu")).toEqual([null, null, null]);
    // Messages on a result also fail the series.
    expect(usage("initech", "cpu")).toEqual([null, null, null]);
    expect(reports[0]?.failedSeries).toEqual([
      {
        userId: "acme",
        pool: "cpu",
        metric: "memoryGiB",
        statusCode: "InternalError",
        messages: [],
      },
      {
        userId: "acme",
        pool: "gpu",
        metric: "vcpu",
        statusCode: "Forbidden",
        messages: ["Forbidden: denied"],
      },
      {
        userId: "acme",
        pool: "gpu",
        metric: "memoryGiB",
        statusCode: "Forbidden",
        messages: ["Forbidden: denied"],
      },
      {
        userId: "acme",
        pool: "gpu",
        metric: "gpu",
        statusCode: "Forbidden",
        messages: ["Forbidden: denied"],
      },
      {
        userId: "initech",
        pool: "cpu",
        metric: "vcpu",
        statusCode: "Complete",
        messages: ["ArithmeticError: x"],
      },
      {
        userId: "initech",
        pool: "cpu",
        metric: "memoryGiB",
        statusCode: "Complete",
        messages: ["ArithmeticError: x"],
      },
    ]);
  });

  it("places datapoints on the interval grid and drops those outside the window or not usable", async () => {
    const fake = new FakeCloudWatch();
    fake.timestampShiftSeconds = 30; // an emulator that buckets from an unaligned start
    fake.put("vcpu", ["initech", "cpu"], T, 1);
    fake.put("vcpu", ["initech", "cpu"], T + 300, -3); // a broken publisher
    fake.put("memoryGiB", ["initech", "cpu"], T + 600, 4);
    const { usageSource, reports } = source(fake);
    const records = await usageSource.readUsage([initech], ["cpu"], window);
    expect(records.map((r) => [r.intervalStart, r.usage])).toEqual([
      [T, { vcpu: 1 }],
      [T + 300, null],
      [T + 600, { memoryGiB: 4 }],
    ]);
    expect(reports[0]).toMatchObject({ datapoints: 2, droppedDatapoints: 1 });
  });

  it("fails with a CloudWatch DependencyError that says whether a retry helps", async () => {
    const fake = new FakeCloudWatch();
    fake.failure = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    const { usageSource } = source(fake);
    const error = await usageSource.readUsage([acme], ["cpu"], window).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ dependency: "CloudWatch", retryable: true });
    expect((error as Error).message).toMatch(/GetMetricData, 2 queries/);
  });

  it("stops a server that repeats its NextToken instead of looping forever", async () => {
    const fake = new FakeCloudWatch();
    fake.stuckToken = "again";
    const { usageSource } = source(fake);
    await expect(usageSource.readUsage([acme], ["cpu"], window)).rejects.toThrow(
      /same NextToken twice/,
    );
    expect(fake.calls).toHaveLength(2);
  });

  it("refuses an interval CloudWatch cannot use as a period", async () => {
    const fake = new FakeCloudWatch();
    const { usageSource } = source(fake, { intervalSeconds: 90 });
    await expect(
      usageSource.readUsage([acme], ["cpu"], { start: 0, end: 180, intervalSeconds: 90 }),
    ).rejects.toThrow(ConfigError);
    expect(fake.calls).toHaveLength(0);
  });
});

describe("CloudWatchUsageSource.readPoolLoad", () => {
  it("reads each pool's ECS service CPU and memory utilisation, null where missing", async () => {
    const fake = new FakeCloudWatch();
    fake.put("CPUUtilization", ["shaper-test", "cpu-pool"], T + 60, 30, "AWS/ECS");
    fake.put("CPUUtilization", ["shaper-test", "cpu-pool"], T + 120, 50, "AWS/ECS");
    fake.put("MemoryUtilization", ["shaper-test", "cpu-pool"], T + 60, 70, "AWS/ECS");
    fake.put("MemoryUtilization", ["shaper-test", "gpu-pool"], T + 660, 20, "AWS/ECS");
    const { usageSource, reports } = source(fake);
    const load = await usageSource.readPoolLoad(["cpu", "gpu", "unknown"], window);
    expect(
      load.map((r) => [
        r.pool,
        r.intervalStart,
        r.cpuUtilizationPercent,
        r.memoryUtilizationPercent,
      ]),
    ).toEqual([
      ["cpu", T, 40, 70],
      ["cpu", T + 300, null, null],
      ["cpu", T + 600, null, null],
      ["gpu", T, null, null],
      ["gpu", T + 300, null, null],
      ["gpu", T + 600, null, 20],
    ]);
    const q = fake.calls[0]?.MetricDataQueries?.[0]?.MetricStat;
    expect(q?.Metric?.Namespace).toBe("AWS/ECS");
    expect(q?.Metric?.Dimensions).toEqual([
      { Name: "ClusterName", Value: "shaper-test" },
      { Name: "ServiceName", Value: "cpu-pool" },
    ]);
    expect(q?.Stat).toBe("Average");
    expect(reports[0]).toMatchObject({ kind: "pool-load", queries: 4 });
  });
});
