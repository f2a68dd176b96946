import { beforeAll, describe, expect, it } from "vitest";
import {
  gpuShareOf,
  readAlibabaGenaiReplay,
} from "../../../../../layers/adapters/traces/replay/alibaba-genai-replay.js";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import type { ReplayTrace } from "../../../../../layers/domain/replay/replay-trace.js";
import { sharedData } from "../../../../helpers/shared-data.js";
import { writeTraceFile } from "../../../../helpers/trace-files.js";
import { expectWellFormed } from "./replay-invariants.js";

const DIR = sharedData("alibaba-genai-2026-lora-requests");
const HEADER =
  "gmt_create,predict_type,predict_status,exec_time_seconds,groupId,prompt_length,negative_prompt_length,num_images_per_prompt,num_inference_steps,checkpoint_model_version_id,num_lora";

function tally(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function row(created: string, exec: string, group: string, images = "1.0", steps = "30.0") {
  return `${created},TXT_2_IMG,SUCCEED,${exec},${group},63.0,,${images},${steps},M0000,0`;
}

// Counts computed independently with a short Python script over lora_request_trace.csv.gz.
describe("readAlibabaGenaiReplay on the real trace", () => {
  let trace: ReplayTrace;
  beforeAll(async () => {
    trace = await readAlibabaGenaiReplay(DIR);
  });

  it("makes every request with images and steps a request of its group", () => {
    expect(trace.format).toBe("alibaba-genai");
    // 20,492 rows; the 21 PENDING ones have no images or steps and never ran.
    expect(trace.requests).toHaveLength(20_471);
    expect(trace.initialLoad).toEqual([]);
    expect(trace.mapping.at(-1)).toBe("skipped: requests without images or steps (PENDING) 21.");
    expect(trace.requests[0]).toEqual({
      requestId: "G0000:1",
      userId: "G0000",
      tier: "standard",
      pool: "gpu",
      amounts: { vcpu: 1, memoryGiB: 4, gpu: 0.125 },
      arrival: Date.UTC(2024, 10, 15, 16, 57, 50) / 1000,
      durationSeconds: 32,
      criticality: "normal",
      maxDelaySeconds: 600,
      acceptAlternatives: true,
    });
  });

  it("runs from the first request to the end of the last one", () => {
    expect(new Date(trace.start * 1000).toISOString()).toBe("2024-11-15T16:57:50.000Z");
    expect(new Date(trace.end * 1000).toISOString()).toBe("2024-12-04T00:00:52.000Z");
  });

  it("tiers groups by their request count, the top tier critical", () => {
    expect(trace.users).toHaveLength(3_418);
    expect(tally(trace.users.map((u) => u.tier))).toEqual({
      free: 1_709,
      standard: 1_367,
      premium: 342,
    });
    expect(tally(trace.requests.map((r) => r.tier))).toEqual({
      premium: 11_417,
      standard: 6_669,
      free: 2_385,
    });
    expect(tally(trace.requests.map((r) => r.criticality))).toEqual({
      critical: 11_417,
      normal: 9_054,
    });
    // G0264 sends the most requests (1,207).
    expect(trace.users.find((u) => u.userId === "G0264")?.tier).toBe("premium");
    expect(trace.requests.filter((r) => r.userId === "G0264")).toHaveLength(1_207);
  });

  it("sizes requests by images × steps in eighths of a GPU task", () => {
    expect(tally(trace.requests.map((r) => String((r.amounts.gpu ?? 0) * 8)))).toEqual({
      "1": 11_302,
      "2": 2_038,
      "3": 206,
      "4": 3_490,
      "5": 46,
      "6": 326,
      "7": 38,
      "8": 3_025,
    });
    const gpuSeconds = trace.requests.reduce(
      (sum, r) => sum + (r.amounts.gpu ?? 0) * r.durationSeconds,
      0,
    );
    expect(gpuSeconds).toBe(232_840);
  });

  it("has one gpu pool of g5.2xlarge tasks, up to twice the peak", () => {
    // Peak held: 13.25 GPUs → 14 tasks.
    expect(trace.pools).toEqual({
      gpu: {
        perTask: { vcpu: 8, memoryGiB: 32, gpu: 1 },
        provisioningLagSeconds: 600,
        costPerTaskHour: 1.212,
        minTasks: 0,
        maxTasks: 28,
        alternatives: [],
      },
    });
  });

  it("keeps every request well formed: unique safe ids, sorted, within the trace", () => {
    expectWellFormed(trace);
  });
});

describe("gpuShareOf", () => {
  it("gives 1/8 of a GPU per 30 image-steps, rounded up, at most one GPU", () => {
    expect(gpuShareOf(1, 30)).toBe(0.125);
    expect(gpuShareOf(1, 40)).toBe(0.25);
    expect(gpuShareOf(4, 30)).toBe(0.5);
    expect(gpuShareOf(8, 30)).toBe(1);
    expect(gpuShareOf(8, 100)).toBe(1);
    expect(gpuShareOf(1, 1)).toBe(0.125);
  });
});

describe("readAlibabaGenaiReplay on small files", () => {
  it("names file, line and column of a malformed row", async () => {
    const file = writeTraceFile(
      "lora.csv",
      [
        HEADER,
        row("2024-11-15 16:57:50", "32.0", "G1"),
        row("2024-11-31 10:00:00", "5", "G1"),
      ].join("\n"),
    );

    const read = readAlibabaGenaiReplay(file);

    await expect(read).rejects.toThrow(ValidationError);
    await expect(read).rejects.toThrow(`${file}:3: column "gmt_create" is "2024-11-31 10:00:00"`);
  });

  it("lasts at least a second and ends the trace with its last request", async () => {
    const file = writeTraceFile(
      "lora.csv.gz",
      [
        HEADER,
        row("2024-11-15 10:00:00", "0.0", "G1"),
        row("2024-11-15 10:00:05", "20.4", "G2", "8.0", "30.0"),
        "2024-11-15 10:00:06,TXT_2_IMG,PENDING,0.0,G3,,,,,,0",
      ].join("\n"),
    );

    const trace = await readAlibabaGenaiReplay(file);

    const t0 = Date.UTC(2024, 10, 15, 10, 0, 0) / 1000;
    expect([trace.start - t0, trace.end - t0]).toEqual([0, 26]);
    expect(trace.requests.map((r) => [r.requestId, r.arrival - t0, r.durationSeconds])).toEqual([
      ["G1:1", 0, 1],
      ["G2:1", 5, 21],
    ]);
    // Two groups: the top 10 % (one group, ties by id) is premium and critical.
    expect(trace.users).toEqual([
      { userId: "G1", tier: "premium" },
      { userId: "G2", tier: "free" },
    ]);
    expect(trace.requests[0]).toMatchObject({ criticality: "critical", acceptAlternatives: false });
    expect(trace.requests[1]?.amounts).toEqual({ vcpu: 8, memoryGiB: 32, gpu: 1 });
    expect(trace.mapping.at(-1)).toBe("skipped: requests without images or steps (PENDING) 1.");
    expectWellFormed(trace);
  });
});
