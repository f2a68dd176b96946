import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { readGoogle2011Replay } from "../../../../../layers/adapters/traces/replay/google-2011-replay.js";
import { ValidationError } from "../../../../../layers/domain/errors.js";
import type { ReplayTrace } from "../../../../../layers/domain/replay/replay-trace.js";
import { sharedData } from "../../../../helpers/shared-data.js";
import { writeTraceFile } from "../../../../helpers/trace-files.js";
import { expectWellFormed } from "./replay-invariants.js";

const SHARDS = sharedData("google-cluster-2011-task-events");
const SHARD_0 = path.join(SHARDS, "task_events_part-00000-of-00500.csv.gz");
const SHARD_1 = path.join(SHARDS, "task_events_part-00001-of-00500.csv.gz");
/** Epoch seconds of trace time 0 (600 s before 2011-05-01T23:00:00Z). */
const ZERO = 1_304_290_200;

/** One task_events row; `seconds` of trace time (0 = before the trace window). */
function event(
  seconds: number,
  job: number,
  type: number,
  opts: {
    task?: number;
    user?: string;
    cls?: number;
    priority?: number;
    cpu?: string;
    memory?: string;
    machine?: string;
  } = {},
): string {
  const { task = 0, user = "u1", cls = 2, priority = 9, cpu = "0.5", memory = "0.25" } = opts;
  const machine = opts.machine ?? (type === 0 ? "" : "7");
  return `${Math.round(seconds * 1e6)},,${job},${task},${machine},${type},${user},${cls},${priority},${cpu},${memory},0,0`;
}

// The real shards take seconds to parse (csv-parse, ~130,000 rows a second), so these tests
// read shard 0 (450,146 rows: the state at the trace start and its first 83 minutes) and shard 1
// alone (77,776 rows), not all four. Every count below was computed independently with a short
// Python script over the same shard (SUBMIT → next EVICT/FAIL/FINISH/KILL/LOST; SUBMIT and
// SCHEDULE at timestamp 0 = initial load). Over shards 0–3 together the same script (and this
// reader) give 189,690 requests, 132,980 initial loads and 530 users.
function tally(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

describe("readGoogle2011Replay on the real shard 0", () => {
  let trace: ReplayTrace;
  beforeAll(async () => {
    trace = await readGoogle2011Replay(SHARD_0);
  });

  it("turns every SUBMIT into a request and the tasks running at timestamp 0 into initial load", () => {
    expect(trace.format).toBe("google-2011");
    expect(trace.requests).toHaveLength(68_492);
    expect(trace.initialLoad).toHaveLength(132_980);
    // 11,357 tasks were SUBMITted at 0 but still pending: requests at the trace start, with the
    // 2 SUBMITs of its first second.
    expect(trace.requests.filter((r) => r.arrival === trace.start)).toHaveLength(11_359);
  });

  it("starts at trace time 600 s (19:00 EDT, 1 May 2011) and ends the second after the last event", () => {
    expect(new Date(trace.start * 1000).toISOString()).toBe("2011-05-01T23:00:00.000Z");
    // The shard's last event is at 5,611.086346 s of trace time.
    expect(trace.end).toBe(ZERO + 5_612);
  });

  it("tiers requests by priority and sets criticality by scheduling class", () => {
    expect(tally(trace.requests.map((r) => r.tier))).toEqual({
      standard: 48_707,
      free: 19_159,
      premium: 626,
    });
    expect(tally(trace.requests.map((r) => r.criticality))).toEqual({
      deferrable: 58_183,
      normal: 10_025,
      critical: 284,
    });
  });

  it("lists the users with the tier of most of their tasks", () => {
    expect(trace.users).toHaveLength(519);
    expect(tally(trace.users.map((u) => u.tier))).toEqual({
      free: 257,
      premium: 211,
      standard: 51,
    });
  });

  it("makes a task submitted again after a failure a new request, with no patience if critical", () => {
    // Job 6126024662 task 0 (priority 9, class 3) runs at timestamp 0, FAILs at 970.13 s, is
    // SUBMITted again at 970.13 s and FAILs at 1,416.64 s.
    expect(trace.initialLoad.find((l) => l.id === "6126024662:0:1")?.endAt).toBe(ZERO + 971);
    expect(trace.requests.find((r) => r.requestId === "6126024662:0:2")).toEqual({
      requestId: "6126024662:0:2",
      userId: "pUz8GwA+Y6EIw9rPqVYyqQpn2IN3jre0J3rZHrVqzR4=",
      tier: "premium",
      pool: "cpu",
      amounts: { vcpu: 0.125 * 32, memoryGiB: 0.0159 * 128 },
      arrival: ZERO + 970,
      durationSeconds: 1_417 - 970,
      criticality: "critical",
      maxDelaySeconds: 0,
      acceptAlternatives: false,
    });
  });

  it("runs a request with no end event to the trace end", () => {
    expect(trace.requests.filter((r) => r.arrival + r.durationSeconds === trace.end)).toHaveLength(
      19_246,
    );
    // Job 4122597003 task 0: pending at the start (priority 11, class 2), never ends.
    expect(trace.requests.find((r) => r.requestId === "4122597003:0:1")).toMatchObject({
      arrival: trace.start,
      durationSeconds: trace.end - trace.start,
      amounts: { vcpu: 0.1125 * 32, memoryGiB: 0.06384 * 128 },
      tier: "premium",
      criticality: "normal",
    });
  });

  it("holds initial load at its SCHEDULE's request until its end or the trace end", () => {
    // Task 3418314:0 SUBMITs 0.125 CPU and SCHEDULEs 0.0625 CPU, 0.09473 memory at timestamp 0.
    expect(trace.initialLoad.find((l) => l.id === "3418314:0:1")).toEqual({
      id: "3418314:0:1",
      userId: "70s3v5qRyCO/1PCdI6fVXnrW8FU/w+5CKRSa72xgcIo=",
      tier: "premium",
      pool: "cpu",
      amounts: { vcpu: 2, memoryGiB: 0.09473 * 128 },
      endAt: trace.end,
    });
    expect(trace.initialLoad.filter((l) => l.endAt === trace.end)).toHaveLength(123_584);
    const vcpu = trace.initialLoad.reduce((sum, l) => sum + (l.amounts.vcpu ?? 0), 0);
    expect(vcpu).toBeCloseTo(239_764.9232, 3);
  });

  it("keeps every request well formed: unique safe ids, sorted, within the trace", () => {
    expectWellFormed(trace);
    expect(trace.requests.reduce((sum, r) => sum + r.durationSeconds, 0)).toBe(100_740_717);
  });

  it("sizes one cpu pool after the trace's most common machine, up to twice its peak", () => {
    expect(Object.keys(trace.pools)).toEqual(["cpu"]);
    // Peak held (requests and initial load): 275,158 vCPU → 17,198 tasks of 16 vCPU.
    expect(trace.pools.cpu).toEqual({
      perTask: { vcpu: 16, memoryGiB: 64 },
      provisioningLagSeconds: 300,
      costPerTaskHour: 0.768,
      minTasks: 0,
      maxTasks: 34_396,
      alternatives: [],
    });
    expect(trace.mapping.join("\n")).toContain("m5.4xlarge");
    expect(trace.mapping.at(-1)).toBe(
      "skipped: requests for no CPU and no memory 17, initial load of no CPU and no memory 2.",
    );
  });
});

describe("readGoogle2011Replay on the real shard 1 alone", () => {
  it("takes tasks ending on a machine as initial load and pending ones as skipped", async () => {
    const trace = await readGoogle2011Replay(SHARD_1);

    expect(trace.start).toBe(ZERO + 5_611);
    expect(trace.end).toBe(ZERO + 10_623);
    expect(trace.requests).toHaveLength(26_270);
    expect(trace.initialLoad).toHaveLength(7_080);
    expect(trace.users).toHaveLength(138);
    expect(tally(trace.requests.map((r) => r.criticality))).toEqual({
      deferrable: 19_510,
      normal: 6_390,
      critical: 370,
    });
    // 464 tasks are first seen by a SCHEDULE: pending before the shard, requests at its start.
    expect(trace.requests.filter((r) => r.arrival === trace.start)).toHaveLength(464);
    expect(trace.requests.reduce((sum, r) => sum + r.durationSeconds, 0)).toBe(24_704_762);
    // Job 6252168502 task 0: SUBMIT 8,358.48 s, EVICT 8,621.43 s, SUBMIT 8,621.43 s, FINISH
    // 9,037.68 s; CPU 0.03125, memory 0.003109, priority 0, scheduling class 1.
    const byId = new Map(trace.requests.map((r) => [r.requestId, r]));
    expect(byId.get("6252168502:0:1")).toEqual({
      requestId: "6252168502:0:1",
      userId: "Qp8btWQgCV7tfDpiSAjKj4Q4n9WFN5r+1A5YXzWPXu8=",
      tier: "free",
      pool: "cpu",
      amounts: { vcpu: 1, memoryGiB: 0.003109 * 128 },
      arrival: ZERO + 8_358,
      durationSeconds: 8_622 - 8_358,
      criticality: "deferrable",
      maxDelaySeconds: 3_600,
      acceptAlternatives: true,
    });
    expect(byId.get("6252168502:0:2")).toMatchObject({
      arrival: ZERO + 8_621,
      durationSeconds: 9_038 - 8_621,
    });
    expect(trace.mapping.at(-1)).toBe(
      "skipped: end events of a task not running or submitted in the files read 36, requests for no CPU and no memory 16, initial load of no CPU and no memory 1.",
    );
    expectWellFormed(trace);
  });
});

describe("readGoogle2011Replay on small shards", () => {
  it("names file, line and column of a malformed row", async () => {
    const file = writeTraceFile(
      "part-00000.csv",
      [event(0, 1, 0), event(700, 2, 0), event(800, 3, 0, { priority: 12 })].join("\n"),
    );

    const read = readGoogle2011Replay(file);

    await expect(read).rejects.toThrow(ValidationError);
    await expect(read).rejects.toThrow(`${file}:3: column "9 (priority)" is "12"`);
  });

  it("runs a request without an end event to the trace end", async () => {
    const file = writeTraceFile(
      "part-00000.csv.gz",
      [event(700.5, 1, 0), event(701, 1, 1), event(900, 2, 0), event(950.2, 2, 4)].join("\n"),
    );

    const trace = await readGoogle2011Replay(file);

    expect(trace.start).toBe(ZERO + 700);
    expect(trace.end).toBe(ZERO + 951);
    expect(trace.requests.map((r) => [r.requestId, r.arrival - ZERO, r.durationSeconds])).toEqual([
      ["1:0:1", 700, 251],
      ["2:0:1", 900, 51],
    ]);
  });

  it("separates tasks running at timestamp 0 from tasks pending there", async () => {
    const file = writeTraceFile(
      "part-00000.csv",
      [
        event(0, 1, 0, { cpu: "0.5" }),
        event(0, 1, 1, { cpu: "0.25" }),
        event(0, 2, 0, { cls: 3, priority: 0 }),
        event(1000, 1, 4),
        event(1200, 2, 1),
        event(1300, 3, 0, { cls: 1, priority: 5 }),
      ].join("\n"),
    );

    const trace = await readGoogle2011Replay(file);

    expect(trace.start).toBe(ZERO + 600);
    expect(trace.initialLoad).toEqual([
      {
        id: "1:0:1",
        userId: "u1",
        tier: "premium",
        pool: "cpu",
        amounts: { vcpu: 8, memoryGiB: 32 },
        endAt: ZERO + 1000,
      },
    ]);
    expect(trace.requests).toEqual([
      {
        requestId: "2:0:1",
        userId: "u1",
        tier: "free",
        pool: "cpu",
        amounts: { vcpu: 16, memoryGiB: 32 },
        arrival: ZERO + 600,
        durationSeconds: 701,
        criticality: "critical",
        maxDelaySeconds: 0,
        acceptAlternatives: false,
      },
      expect.objectContaining({
        requestId: "3:0:1",
        tier: "standard",
        criticality: "deferrable",
        maxDelaySeconds: 3_600,
        acceptAlternatives: true,
      }),
    ]);
  });

  it("makes a task submitted again after an eviction a new request", async () => {
    const file = writeTraceFile(
      "part-00000.csv",
      [
        event(700, 1, 0),
        event(701, 1, 1),
        event(800, 1, 2),
        event(800, 1, 0),
        event(805, 1, 1),
        event(900, 1, 4),
      ].join("\n"),
    );

    const trace = await readGoogle2011Replay(file);

    expect(trace.requests.map((r) => [r.requestId, r.arrival - ZERO, r.durationSeconds])).toEqual([
      ["1:0:1", 700, 100],
      ["1:0:2", 800, 100],
    ]);
  });

  it("reads a later shard alone: running tasks as initial load, pending ones as requests at its start", async () => {
    const file = writeTraceFile(
      "part-00002.csv",
      [
        event(5000, 2, 5, { machine: "" }), // killed while pending: never held anything
        event(5050, 1, 4, { machine: "7" }), // was running: initial load until 5,050 s
        event(5200, 3, 1), // pending before the shard: a request at its start
        event(5300, 3, 4),
        event(5400, 4, 0, { cpu: "0", memory: "0" }), // asks for nothing: skipped
        "9223372036854775807,,5,0,,0,u1,2,9,0.1,0.1,0,0", // after the trace window: skipped
      ].join("\n"),
    );

    const trace = await readGoogle2011Replay(file);

    expect(trace.start).toBe(ZERO + 5000);
    expect(trace.initialLoad.map((l) => [l.id, l.endAt - ZERO])).toEqual([["1:0:0", 5050]]);
    expect(trace.requests.map((r) => [r.requestId, r.arrival - ZERO, r.durationSeconds])).toEqual([
      ["3:0:1", 5000, 300],
    ]);
    expect(trace.mapping.at(-1)).toBe(
      "skipped: end events of a task not running or submitted in the files read 1, events after the trace window (timestamp 2^63-1) 1, requests for no CPU and no memory 1.",
    );
  });

  it("reads every .csv and .csv.gz of a directory in name order", async () => {
    const first = writeTraceFile("part-00000.csv", [event(700, 1, 0), event(701, 1, 1)].join("\n"));
    writeFileSync(
      path.join(path.dirname(first), "part-00001.csv.gz"),
      gzipSync(`${event(800, 1, 4)}\n${event(810, 2, 0, { user: "u 2" })}\n`),
    );

    const trace = await readGoogle2011Replay(path.dirname(first));

    expect(trace.requests.map((r) => [r.requestId, r.durationSeconds])).toEqual([
      ["1:0:1", 100],
      ["2:0:1", 1],
    ]);
    // A user name outside IdSchema is made safe (and stays distinct).
    expect(trace.users.map((u) => u.userId)).toEqual([
      "u1",
      expect.stringMatching(/^u_2-[0-9a-f]{8}$/),
    ]);
    expectWellFormed(trace);
  });

  it("rejects a path with no events", async () => {
    const file = writeTraceFile(
      "part-00000.csv",
      "9223372036854775807,,5,0,,0,u1,2,9,0.1,0.1,0,0\n",
    );

    await expect(readGoogle2011Replay(file)).rejects.toThrow("holds no task event");
  });
});
