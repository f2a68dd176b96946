import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS,
  readGoogle2011,
} from "../../../../layers/adapters/traces/google-2011-reader.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

const dir = path.join(TRACE_FIXTURES, "google-2011");
const shards = readdirSync(dir)
  .filter((f) => f.endsWith(".csv.gz"))
  .sort()
  .map((f) => path.join(dir, f));
const QP8 = "Qp8btWQgCV7tfDpiSAjKj4Q4n9WFN5r+1A5YXzWPXu8=";

/** One task_events row: times in seconds of trace time (0 = before the trace window). */
function event(seconds: number, job: number, event: number, cpu: string, user = "u", priority = 0) {
  return `${Math.round(seconds * 1e6)},,${job},0,1,${event},${user},0,${priority},${cpu},0.01,0.0,0`;
}

describe("readGoogle2011", () => {
  it("reads one per-minute series per user from the trace start", async () => {
    const read = await readGoogle2011(shards);

    expect(read.series).toHaveLength(3);
    expect(read.stepSeconds).toBe(60);
    // Trace time 600 s is 2011-05-01T23:00:00Z (19:00 EDT), the first instant.
    expect(
      read.series.every((s) => s.startSeconds === GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS + 600),
    ).toBe(true);
    expect(new Date((read.series[0]?.startSeconds ?? 0) * 1000).toISOString()).toBe(
      "2011-05-01T23:00:00.000Z",
    );
  });

  it("counts a task scheduled at timestamp 0 as running from the first instant", async () => {
    const s = (await readGoogle2011(shards)).series.find((x) => x.id === QP8);

    // Task 3623260116:0 (0.0625 CPU) has a SCHEDULE at 0 and never ends.
    expect(s?.values[0]).toBe(0.0625);
    expect(s?.values[(s?.values.length ?? 1) - 1]).toBeGreaterThanOrEqual(0.0625);
  });

  it("counts a task from its SCHEDULE to its FINISH", async () => {
    const s = (await readGoogle2011(shards)).series.find((x) => x.id === QP8);

    // Job 6251704360 (0.03125 CPU): SCHEDULE at 1,142.918742 s, FINISH at 1,611.473022 s of trace
    // time; instant k is at 600 + 60k s, so it runs at instants 10–16.
    expect(s?.values[9]).toBe(0.0625);
    expect(s?.values[10]).toBe(0.09375);
    expect(s?.values[16]).toBe(0.09375);
    expect(s?.values[17]).toBe(0.0625);
  });

  it("follows an evicted task into its next SCHEDULE", async () => {
    const s = (await readGoogle2011(shards)).series.find((x) => x.id === QP8);

    // Job 6252168502: SCHEDULE 8,360.3 s, EVICT 8,621.4 s, SCHEDULE 8,623.0 s, FINISH 9,037.7 s.
    expect(s?.values[129]).toBe(0.0625);
    expect(
      Array.from(s?.values ?? [])
        .slice(130, 141)
        .every((v) => v === 0.09375),
    ).toBe(true);
    expect(s?.values[141]).toBe(0.0625);
  });

  it("tags each user with the priority band of most of its SCHEDULE events", async () => {
    const s = (await readGoogle2011(shards)).series.find((x) => x.id === QP8);

    // One SCHEDULE at priority 10, the other 24 at priority 0.
    expect(s?.features).toEqual({ format: "google-2011", resource: "cpu", tier: "free" });
  });

  it("stops counting at an eviction and resumes at the next SCHEDULE", async () => {
    const file = writeTraceFile(
      "e.csv",
      [
        event(0, 1, 1, "0.5"),
        event(700, 1, 2, "0.5"), // evicted: off from instant 2 (720 s)
        event(850, 1, 1, "0.5"), // rescheduled: on from instant 5 (900 s)
        event(1000, 1, 4, "0.5"), // finished: off from instant 7 (1,020 s)
        event(1100, 2, 0, "0.25"),
      ].join("\n"),
    );
    const values = Array.from((await readGoogle2011([file])).series[0]?.values ?? []);

    expect(values).toEqual([0.5, 0.5, 0, 0, 0, 0.5, 0.5, 0, 0]);
  });

  it("applies UPDATE_RUNNING's new request from the update on", async () => {
    const file = writeTraceFile(
      "u.csv",
      [event(600, 1, 1, "0.5"), event(690, 1, 8, "0.25"), event(780, 9, 0, "0.1")].join("\n"),
    );
    const values = Array.from((await readGoogle2011([file])).series[0]?.values ?? []);

    expect(values).toEqual([0.5, 0.5, 0.25, 0.25]);
  });

  it("counts a task that only ends in the files as running from their start", async () => {
    const file = writeTraceFile(
      "s.csv",
      [event(600, 1, 1, "0.5"), event(700, 7, 4, "0.125"), event(780, 1, 4, "0.5")].join("\n"),
    );
    const read = await readGoogle2011([file]);

    expect(Array.from(read.series[0]?.values ?? [])).toEqual([0.625, 0.625, 0.5, 0]);
    expect(read.assumed["tasks running before the files start (end event only)"]).toBe(1);
  });

  it("skips and counts events after the trace window and SCHEDULEs without a request", async () => {
    const file = writeTraceFile(
      "j.csv",
      [
        event(600, 1, 1, "0.5"),
        event(600, 2, 1, ""),
        "9223372036854775807,,3,0,1,4,u,0,0,0.5,0.01,0.0,0",
        event(720, 9, 0, "0.1"),
      ].join("\n"),
    );
    const read = await readGoogle2011([file]);

    expect(Array.from(read.series[0]?.values ?? [])).toEqual([0.5, 0.5, 0.5]);
    expect(read.skipped).toEqual({
      "SCHEDULE without a CPU request": 1,
      "event after the trace window (timestamp 2^63-1)": 1,
    });
  });

  it("rejects a row with a bad event type, naming file, line and column", async () => {
    const file = writeTraceFile(
      "x.csv",
      [event(600, 1, 1, "0.5"), "700000000,,1,0,1,X,u,0,0,0.5,0.01,0.0,0"].join("\n"),
    );

    await expect(readGoogle2011([file])).rejects.toThrow(
      /x\.csv:2: column "6 \(event type\)" is "X"/,
    );
  });
});
