import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALIBABA_GPU_POOLS,
  ALIBABA_GPU_ORIGIN_SECONDS as ORIGIN,
  readAlibabaGpuReplay,
} from "../../../../../layers/adapters/traces/replay/alibaba-gpu-replay.js";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import type { ReplayTrace } from "../../../../../layers/domain/replay/replay-trace.js";
import { sharedData } from "../../../../helpers/shared-data.js";
import { writeTraceFile } from "../../../../helpers/trace-files.js";
import { expectWellFormed } from "./replay-invariants.js";

const DIR = sharedData("alibaba-gpu-2023-pods");
const HEADER =
  "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time";

function tally(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

// Counts computed independently with a short Python script over openb_pod_list_default.csv.
describe("readAlibabaGpuReplay on the real pod list", () => {
  let trace: ReplayTrace;
  beforeAll(async () => {
    trace = await readAlibabaGpuReplay(DIR);
  });

  it("makes every pod a request, scheduled or not, with no initial load", () => {
    expect(trace.format).toBe("alibaba-gpu");
    expect(trace.requests).toHaveLength(6_521);
    expect(trace.initialLoad).toEqual([]);
    // openb-pod-0061 (BE) was never scheduled: created at 10,001,278 s, deleted 125 s later.
    expect(trace.requests.find((r) => r.requestId === "openb-pod-0061")).toEqual({
      requestId: "openb-pod-0061",
      userId: "BE",
      tier: "free",
      pool: "gpu",
      amounts: { vcpu: 11.908, memoryGiB: 46, gpu: 1 },
      arrival: ORIGIN + 10_001_278,
      durationSeconds: 125,
      criticality: "deferrable",
      maxDelaySeconds: 3_600,
      acceptAlternatives: true,
    });
    expect(trace.mapping.join("\n")).toContain("6,521 requests, 671 never scheduled");
  });

  it("runs from the first creation to the latest deletion, time 0 on a Monday", () => {
    expect(new Date(ORIGIN * 1000).toISOString()).toBe("2025-01-06T00:00:00.000Z");
    expect(new Date(ORIGIN * 1000).getUTCDay()).toBe(1);
    expect(trace.start).toBe(ORIGIN);
    expect(trace.end).toBe(ORIGIN + 12_902_960);
    expect(trace.requests.reduce((sum, r) => sum + r.durationSeconds, 0)).toBe(206_996_308);
  });

  it("makes the QoS class the tenant, with its tier and criticality", () => {
    expect(trace.users).toEqual([
      { userId: "BE", tier: "free" },
      { userId: "Burstable", tier: "standard" },
      { userId: "Guaranteed", tier: "premium" },
      { userId: "LS", tier: "premium" },
    ]);
    expect(tally(trace.requests.map((r) => r.userId))).toEqual({
      LS: 3_684,
      BE: 2_744,
      Burstable: 86,
      Guaranteed: 7,
    });
    expect(tally(trace.requests.map((r) => r.criticality))).toEqual({
      critical: 3_691,
      deferrable: 2_744,
      normal: 86,
    });
    const byTier = tally(trace.requests.map((r) => `${r.tier}/${r.criticality}`));
    expect(byTier).toEqual({
      "premium/critical": 3_691,
      "free/deferrable": 2_744,
      "standard/normal": 86,
    });
  });

  it("sends pods asking for GPUs to the gpu pool and the rest to the cpu pool", () => {
    expect(tally(trace.requests.map((r) => r.pool))).toEqual({ gpu: 5_585, cpu: 936 });
    const byId = new Map(trace.requests.map((r) => [r.requestId, r]));
    // num_gpu 8: eight whole GPUs; num_gpu 1 with gpu_milli 220: a fifth of one; num_gpu 0: cpu.
    expect(byId.get("openb-pod-0017")?.amounts).toEqual({ vcpu: 88, memoryGiB: 320, gpu: 8 });
    expect(byId.get("openb-pod-0022")?.amounts).toEqual({
      vcpu: 4,
      memoryGiB: 15_258 / 1024,
      gpu: 0.22,
    });
    expect(byId.get("openb-pod-0005")).toMatchObject({
      pool: "cpu",
      amounts: { vcpu: 20, memoryGiB: 64 },
      criticality: "critical",
    });
  });

  it("sizes each pool's task as the cluster's most common node of its kind", () => {
    // Most common shape of the node list, counted here from the file itself.
    const shapes = new Map<string, number>();
    for (const line of readFileSync(path.join(DIR, "openb_node_list_all_node.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)) {
      const [, cpu, mem, gpu] = line.split(",");
      const key = `${Number(gpu) > 0 ? "gpu" : "cpu"} ${Number(cpu) / 1000}/${Number(mem) / 1024}/${gpu}`;
      shapes.set(key, (shapes.get(key) ?? 0) + 1);
    }
    const most = (kind: string) =>
      [...shapes.entries()].filter(([k]) => k.startsWith(kind)).sort((a, b) => b[1] - a[1])[0];
    expect(most("gpu")).toEqual(["gpu 96/384/8", 549]);
    expect(most("cpu")).toEqual(["cpu 32/256/0", 129]);
    expect(ALIBABA_GPU_POOLS.gpu.perTask).toEqual({ vcpu: 96, memoryGiB: 384, gpu: 8 });
    expect(ALIBABA_GPU_POOLS.cpu.perTask).toEqual({ vcpu: 32, memoryGiB: 256 });

    // Peaks held: gpu 700.36 vCPU, 2,322 GiB, 65.59 GPUs → 9 tasks; cpu 256 vCPU → 8 tasks.
    expect(trace.pools).toEqual({
      gpu: {
        perTask: { vcpu: 96, memoryGiB: 384, gpu: 8 },
        provisioningLagSeconds: 600,
        costPerTaskHour: 7.824,
        minTasks: 0,
        maxTasks: 18,
        alternatives: [],
      },
      cpu: {
        perTask: { vcpu: 32, memoryGiB: 256 },
        provisioningLagSeconds: 300,
        costPerTaskHour: 2.016,
        minTasks: 0,
        maxTasks: 16,
        alternatives: ["gpu"],
      },
    });
    expect(trace.mapping.at(-1)).toContain("node list skipped");
  });

  it("keeps every request well formed: unique safe ids, sorted, within the trace", () => {
    expectWellFormed(trace);
  });
});

describe("readAlibabaGpuReplay on small pod lists", () => {
  it("names file, line and column of a malformed row", async () => {
    const file = writeTraceFile(
      "pods.csv",
      [HEADER, "p1,1000,1024,0,0,,LS,Running,0,10,0", "p2,1000,1024,0,0,,Gold,Running,5,10,5"].join(
        "\n",
      ),
    );

    const read = readAlibabaGpuReplay(file);

    await expect(read).rejects.toThrow(ValidationError);
    await expect(read).rejects.toThrow(`${file}:3: column "qos" is "Gold"`);
  });

  it("rejects a pod deleted before it was created", async () => {
    const file = writeTraceFile(
      "pods.csv",
      [HEADER, "p1,1000,1024,0,0,,LS,Running,50,10,50"].join("\n"),
    );

    await expect(readAlibabaGpuReplay(file)).rejects.toThrow(
      `${file}:2: column "deletion_time" is "10": is before creation_time`,
    );
  });

  it("holds a pod without deletion time to the trace end", async () => {
    const file = writeTraceFile(
      "pods.csv.gz",
      [
        HEADER,
        "p1,2000,2048,0,0,,Burstable,Running,100,,100",
        "p2,1000,1024,1,500,,BE,Pending,150,400,",
      ].join("\n"),
    );

    const trace = await readAlibabaGpuReplay(file);

    expect([trace.start - ORIGIN, trace.end - ORIGIN]).toEqual([100, 400]);
    expect(
      trace.requests.map((r) => [r.requestId, r.pool, r.arrival - ORIGIN, r.durationSeconds]),
    ).toEqual([
      ["p1", "cpu", 100, 300],
      ["p2", "gpu", 150, 250],
    ]);
    expect(trace.requests[1]?.amounts).toEqual({ vcpu: 1, memoryGiB: 1, gpu: 0.5 });
  });

  it("keeps ids unique and safe when pod names repeat or hold other characters", async () => {
    const file = writeTraceFile(
      "pods-a.csv",
      [
        HEADER,
        "p1,1000,1024,0,0,,LS,Running,0,10,0",
        "pod #2,1000,1024,0,0,,LS,Running,0,10,0",
      ].join("\n"),
    );
    writeFileSync(
      path.join(path.dirname(file), "pods-b.csv"),
      [HEADER, "p1,1000,1024,0,0,,Guaranteed,Running,5,10,5", "p0,0,0,0,0,,BE,Failed,6,7,"].join(
        "\n",
      ),
    );

    const trace = await readAlibabaGpuReplay(path.dirname(file));

    expect(trace.requests.map((r) => r.requestId)).toEqual([
      "p1",
      expect.stringMatching(/^pod__2-[0-9a-f]{8}$/),
      "p1:2",
    ]);
    // A pod asking for nothing is skipped and counted.
    expect(trace.mapping.at(-1)).toBe("skipped: pods asking for nothing 1.");
    expectWellFormed(trace);
  });
});
