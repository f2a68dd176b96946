/**
 * `npm run bench:load` in miniature: a couple of seconds at a low rate, through the same command
 * (HTTP on localhost, real token verification, the generator in a child process), on the
 * on-disk and the in-memory store. Checks the report's shape and that every answered request
 * has its decision record; no timing is asserted.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { testConfig } from "../fixtures/config.js";
import { tempDataDir } from "../helpers/temp-data-dir.js";

// Tokens are signed with a key of the test's own, not the checkout's .shaper/ key; the API's
// metrics stay off (as the CLI sets them).
process.env.SHAPER_LOCAL_SIGNING_KEY = randomBytes(32).toString("base64url");
process.env.POWERTOOLS_METRICS_DISABLED = "true";

describe("bench:load", () => {
  it.each([
    ["the on-disk store", true],
    ["the in-memory store", false],
  ])("reports rate, latency, errors and zero lost decisions on %s", async (_name, onDisk) => {
    const { runBenchLoad } = await import("../../local/bench-load-command.js");
    const dir = tempDataDir();
    const jsonPath = path.join(dir, "out", "bench-load.json");
    const lines: string[] = [];
    const report = await runBenchLoad({
      config: testConfig(),
      ratePerSecond: 40,
      durationSeconds: 2,
      warmupSeconds: 1,
      users: 12,
      seed: 7,
      ...(onDisk ? { dataDir: path.join(dir, "data") } : {}),
      jsonPath,
      print: (line) => lines.push(line),
    });
    const written = JSON.parse(readFileSync(jsonPath, "utf8"));
    expect(written).toEqual(report);
    for (const key of ["requestsPerSecond", "p50Ms", "p99Ms", "errors", "lostDecisions"]) {
      expect(typeof written[key], key).toBe("number");
    }
    expect(written.sent).toBe(120);
    expect(written.measured).toBe(80);
    expect(written.errors).toBe(0);
    expect(written.answered).toBe(120);
    expect(written.lostDecisions).toBe(0);
    expect(written.mismatchedDecisions).toBe(0);
    expect(written.requestsPerSecond).toBeGreaterThan(0);
    expect(written.p50Ms).toBeLessThanOrEqual(written.p99Ms);
    const outcomes = Object.values(written.outcomes as Record<string, number>);
    expect(outcomes.reduce((a, b) => a + b, 0)).toBe(80);
    expect(written.outcomes.grant).toBeGreaterThan(0);
    expect(written.store).toMatch(onDisk ? /on disk/ : /in memory/);
    expect(lines.join("\n")).toContain("lost decisions");
  });
});
