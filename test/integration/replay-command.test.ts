import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../layers/domain/config.js";
import type { ReplayResult } from "../../layers/domain/replay/replay-result.js";
import { parsePolicies, REPLAY_POLICIES, runReplay } from "../../local/replay-command.js";

/**
 * `shaper replay` end to end on a small DLRM-format trace: all five policies, shaper through its
 * real pipeline, JSON and report written, errors that name what to fix.
 */

const config = parseConfig(
  JSON.parse(readFileSync(new URL("../../config/shaper.config.json", import.meta.url), "utf8")),
);
const HEADER =
  "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time";

/** One day: app_0 is the biggest (premium, critical), app_1 and app_2 smaller; a burst at midday. */
function dayTrace(options: { premiumRequests: boolean }): string {
  const rows: string[] = [];
  let n = 0;
  const row = (
    app: string,
    role: string,
    cpu: number,
    created: number | "",
    deleted: number | "",
  ) =>
    rows.push(
      `i${n++},${role},${app},${cpu},${cpu},${role === "HN" ? 1 : 0},0,0,0,${cpu * 5}.0,0,0,0,-1,${created},,${deleted}`,
    );
  for (let k = 0; k < (options.premiumRequests ? 30 : 60); k++) row("app_0", "CN", 64, "", "");
  for (let k = 0; k < 6; k++) row("app_1", "CN", 48, "", "");
  for (let k = 0; k < 4; k++) row("app_2", "HN", 8, "", "");
  for (let h = 1; h < 24; h++) {
    const t = h * 3_600;
    if (options.premiumRequests) row("app_0", "CN", 64, t + 17, t + 5_400);
    row("app_1", "CN", 48, t + 300, h % 6 === 0 ? t + 20_000 : t + 1_800);
    if (h >= 11 && h <= 13)
      for (let k = 0; k < 4; k++) row("app_1", "CN", 96, t + 600 + k, t + 7_200);
    row("app_2", "HN", 8, t + 900, t + 2_400);
  }
  row("app_2", "HN", 8, 86_000, 86_400);
  const dir = mkdtempSync(join(tmpdir(), "replay-"));
  const file = join(dir, "dlrm.csv");
  writeFileSync(file, `${HEADER}\n${rows.join("\n")}\n`);
  return file;
}

describe("shaper replay", () => {
  it("replays all five policies through the same scoring, and writes JSON and the report", async () => {
    const out = mkdtempSync(join(tmpdir(), "replay-out-"));
    const lines: string[] = [];
    // Everything the replay says goes through `print` (and progress through `progressLog`).
    const stray = vi.spyOn(console, "error");
    const result = await runReplay({
      format: "alibaba-dlrm",
      trace: dayTrace({ premiumRequests: true }),
      policies: [...REPLAY_POLICIES],
      config,
      jsonPath: join(out, "replay.json"),
      reportPath: join(out, "report.html"),
      progressBar: false,
      print: (line) => lines.push(line),
    });
    expect(stray).not.toHaveBeenCalled();
    stray.mockRestore();
    const json = JSON.parse(readFileSync(join(out, "replay.json"), "utf8")) as ReplayResult;
    expect(json.policies.map((p) => p.name)).toEqual([...REPLAY_POLICIES]);
    const scored = result.policies[0]?.requests ?? 0;
    expect(scored).toBeGreaterThan(20);
    for (const p of json.policies) {
      expect(p.requests).toBe(scored);
      expect(p.grantedNow + p.delayed + p.offered + p.denied).toBe(p.requests);
      for (const field of [
        "delayP99Seconds",
        "criticalGrantedNowRate",
        "guaranteeViolations",
        "capacityHours",
        "cost",
        "fairness",
      ] as const) {
        expect(p[field], `${p.name}.${field}`).not.toBeUndefined();
      }
      expect(Object.keys(p.byTier).sort()).toEqual(["free", "premium", "standard"]);
      expect(Object.keys(p.byPool).sort()).toEqual(["cpu", "gpu"]);
      expect(p.capacityHours).toBeGreaterThan(0);
    }
    const by = Object.fromEntries(json.policies.map((p) => [p.name, p]));
    // The oracle serves everything at once with the least capacity of all.
    expect(by.oracle?.denied).toBe(0);
    for (const p of json.policies)
      expect(p.capacityHours).toBeGreaterThanOrEqual(by.oracle?.capacityHours ?? 0);
    // Shaper ran its pipeline: it scaled and decided every scored request.
    expect(by.shaper?.scalingActions).toBeGreaterThan(0);
    expect(json.timelines.map((t) => t.pool).sort()).toEqual(["cpu", "gpu"]);
    expect(json.timelines[0]?.policies).toHaveLength(5);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("capacity-cpu");
    // One day: the daily Adapt step first runs after a day, so no tier policy changed.
    expect(json.policyChanges).toEqual([]);
    expect(html).toContain("The daily Adapt step changed no tier policy.");
    expect(lines.join("\n")).toMatch(/request {5}an instance's creation/);
    expect(lines.join("\n")).toMatch(/shaper +\d+/);
  });

  it("refuses a trace with no critical request after the warm-up", async () => {
    await expect(
      runReplay({
        format: "alibaba-dlrm",
        trace: dayTrace({ premiumRequests: false }),
        policies: ["reactive"],
        config,
        progressBar: false,
        print: () => {},
      }),
    ).rejects.toThrow(/no critical request after the warm-up/);
  });

  it("names the policies and formats it knows when given others", async () => {
    expect(() => parsePolicies("reactive,magic")).toThrow(
      /unknown policies \(magic\).*reactive, patent, quota, shaper, oracle/,
    );
    await expect(
      runReplay({
        format: "azure-vm",
        trace: "/nowhere",
        policies: ["reactive"],
        config,
        progressBar: false,
        print: () => {},
      }),
    ).rejects.toThrow(/not a replay format. Use one of: alibaba-dlrm, google-2011/);
  });
});
