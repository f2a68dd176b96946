import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ALIBABA_DLRM_REPLAY_START,
  readAlibabaDlrmReplay,
} from "../../../../../layers/adapters/traces/replay/alibaba-dlrm-replay.js";
import { sharedData } from "../../../../helpers/shared-data.js";
import { expectWellFormed } from "./replay-invariants.js";

const DATA = sharedData("alibaba-dlrm-2025-instances");
const HEADER =
  "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time";

function fixture(rows: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "dlrm-replay-"));
  const file = join(dir, "trace.csv");
  writeFileSync(file, `${HEADER}\n${rows.join("\n")}\n`);
  return file;
}

describe("alibaba-dlrm replay mapping", () => {
  it("reads the shared trace: creations are requests, the rest initial load, tiers by app size", async () => {
    const trace = await readAlibabaDlrmReplay(DATA);
    expectWellFormed(trace);
    // Counted independently: 20,135 instances, 13,911 with a creation_time (10,348 CN + 3,563 HN).
    expect(trace.requests).toHaveLength(13_911);
    expect(trace.initialLoad).toHaveLength(20_135 - 13_911);
    expect(trace.requests.filter((r) => r.pool === "gpu")).toHaveLength(3_563);
    expect(trace.users).toHaveLength(125);
    const tiers = new Map<string, number>();
    for (const u of trace.users) tiers.set(u.tier, (tiers.get(u.tier) ?? 0) + 1);
    expect(Object.fromEntries(tiers)).toEqual({ premium: 13, standard: 50, free: 62 });
    for (const r of trace.requests) {
      expect(r.criticality).toBe(r.tier === "premium" ? "critical" : "normal");
    }
    expect(trace.requests.every((r) => r.pool !== "gpu" || (r.amounts.gpu ?? 0) > 0)).toBe(true);
    expect(trace.end).toBe(ALIBABA_DLRM_REPLAY_START + 2_677_541 + 1);
  });

  it("ends an instance without deletion at the trace end, and one deleted at its deletion", async () => {
    const trace = await readAlibabaDlrmReplay(
      fixture([
        "i0,CN,app_1,64,64,0,0,0,0,320.0,320.0,0,0,-1,,,500",
        "i1,HN,app_1,8,8,1,1,0,0,40.0,40.0,0,0,-1,100,101,",
        "i2,CN,app_2,48,48,0,0,0,0,240.0,240.0,0,0,-1,200,201,900",
      ]),
    );
    expect(trace.initialLoad).toEqual([
      expect.objectContaining({ id: "i0", pool: "cpu", endAt: ALIBABA_DLRM_REPLAY_START + 500 }),
    ]);
    expect(trace.requests.map((r) => [r.requestId, r.pool, r.durationSeconds])).toEqual([
      ["i1", "gpu", 801],
      ["i2", "cpu", 700],
    ]);
    expect(trace.requests[0]?.amounts).toEqual({ vcpu: 8, memoryGiB: 40, gpu: 1 });
  });

  it("names file, line and column of a malformed row", async () => {
    const file = fixture(["i0,CN,app_1,lots,64,0,0,0,0,320.0,320.0,0,0,-1,,,500"]);
    await expect(readAlibabaDlrmReplay(file)).rejects.toThrow(
      /trace\.csv:2: column "cpu_request" is "lots"/,
    );
  });

  it("refuses a trace with nothing to replay", async () => {
    const file = fixture(["i0,CN,app_1,64,64,0,0,0,0,320.0,320.0,0,0,-1,,,500"]);
    await expect(readAlibabaDlrmReplay(file)).rejects.toThrow(
      /no instance .* has a creation_time/i,
    );
  });
});
