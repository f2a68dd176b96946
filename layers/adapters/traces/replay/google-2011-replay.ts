import { z } from "zod";
import type { Criticality } from "../../../domain/config.js";
import { ValidationError } from "../../../domain/errors.js";
import type {
  InitialLoad,
  ReplayRequest,
  ReplayTrace,
} from "../../../domain/replay/replay-trace.js";
import type { Amounts } from "../../../domain/resources.js";
import {
  GOOGLE_2011_MAX_TIMESTAMP_MICROS,
  GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS,
} from "../google-2011-reader.js";
import { listTraceFiles, parseRow, readCsvRecords } from "../trace-csv.js";
import {
  buildPools,
  compareRequests,
  formatCount,
  formatTally,
  hasPositiveAmount,
  type PoolSpec,
  patienceOf,
  peakHeld,
  safeId,
  tallyInto,
} from "./replay-build.js";

/**
 * The `google-2011` replay mapping: Google's clusterdata-2011-2 `task_events` shards (no header,
 * 13 columns, timestamps in microseconds since 600 s before the trace start) as requests.
 *
 * - Request: each SUBMIT (0) of a task (job ID, task index), arriving at its timestamp and held
 *   until the task's next EVICT (2), FAIL (3), FINISH (4), KILL (5) or LOST (6), or the trace
 *   end: the span issue 4 fixes, so the time Google's scheduler kept it pending is part of it. A
 *   task submitted again after an end is a new request (`<job>:<task>:<n>`, n counting the task's
 *   submissions in the files read). Amounts are those of the SUBMIT (later UPDATE events do not
 *   change them; a SUBMIT without them takes the task's SCHEDULE's).
 * - Initial load: timestamp 0 means "before the trace window", so a task SUBMITted and SCHEDULEd
 *   at timestamp 0 was running at the trace start. It holds what its SCHEDULE says (at
 *   timestamp 0 over a quarter of the tasks SUBMIT one request and SCHEDULE another, the current
 *   one). So is a task whose first event in the files read is an UPDATE_RUNNING (8), or an end
 *   event on a machine (a shard read without the first one). A task SUBMITted at 0 but not
 *   SCHEDULEd at 0 was pending: a request at the trace start, as is a task whose first event
 *   read is a later SCHEDULE.
 * - Tenant: the user column (base64 of a hash, already safe as an id; see `safeId`).
 * - Tier per request by priority: 9–11 premium, 2–8 standard, 0–1 free. A user's own tier (in
 *   `users`) is the tier of most of its requests and initial load, ties going to the higher.
 * - Criticality by scheduling class: 3 critical, 2 normal, 0–1 deferrable.
 * - Size: the trace normalises requests to its largest machine. Normalised 1.0 is taken as an
 *   m5.8xlarge (32 vCPU, 128 GiB): vcpu = CPU request × 32, memoryGiB = memory request × 128.
 *   The pool's task is the trace's most common machine (CPU 0.5, memory 0.4995 of the largest,
 *   Reiss et al., SoCC 2012): 16 vCPU, 64 GiB, an m5.4xlarge.
 * - Times: trace time 600 s (19:00 EDT, 1 May 2011) is epoch 1,304,290,800; the replay starts at
 *   the first event read (trace time 600 s at the earliest), ends the second after the last, and
 *   rounds outward to whole seconds (arrival down, end up).
 *
 * Skipped and counted in the mapping: events stamped 2^63−1 (after the trace window), requests
 * and initial load asking for no CPU and no memory, end events of tasks neither running nor
 * submitted in the files read (killed while pending before them), a SCHEDULE of a task already
 * running. Any other malformed row is an error naming file, line and column.
 */

const TRACE_START_SECONDS = 600;
const AFTER_TRACE_END = "9223372036854775807";
/** Normalised 1.0 of the trace, taken as an m5.8xlarge. */
const VCPU_PER_UNIT = 32;
const MEMORY_GIB_PER_UNIT = 128;

const SUBMIT = 0;
const SCHEDULE = 1;
const UPDATE_RUNNING = 8;
const ENDS = new Set([2, 3, 4, 5, 6]);

const COLUMNS: Readonly<Record<string, string>> = {
  timestamp: "1 (timestamp)",
  job: "3 (job ID)",
  task: "4 (task index)",
  machine: "5 (machine ID)",
  event: "6 (event type)",
  user: "7 (user name)",
  schedulingClass: "8 (scheduling class)",
  priority: "9 (priority)",
  cpu: "10 (CPU request)",
  memory: "11 (memory request)",
};

/** A normalised request: a decimal ≥ 0 (a two-digit exponent at most keeps it finite), or empty. */
const REQUEST_TEXT = /^((\d+(\.\d*)?|\.\d+)([eE][-+]?\d{1,2})?)?$/;

// Every check is a pattern and the numbers are converted after the parse: zod transforms cost
// five times as much, seconds over the 800,000 rows of the shards here.
const RowSchema = z.object({
  timestamp: z
    .string()
    .regex(/^\d+$/, { error: "expected microseconds (a whole number)" })
    .refine((text) => Number(text) <= GOOGLE_2011_MAX_TIMESTAMP_MICROS, {
      error: "expected microseconds within a year of the trace start",
    }),
  job: z.string().regex(/^\d+$/, { error: "expected a job ID" }),
  task: z.string().regex(/^\d+$/, { error: "expected a task index" }),
  machine: z.string().regex(/^\d*$/, { error: "expected a machine ID or nothing" }),
  event: z.string().regex(/^[0-8]$/, { error: "expected an event type 0–8" }),
  user: z.string().min(1, { error: "expected a (hashed) user name" }),
  schedulingClass: z.string().regex(/^[0-3]$/, { error: "expected a scheduling class 0–3" }),
  priority: z.string().regex(/^(\d|1[01])$/, { error: "expected a priority 0–11" }),
  cpu: z.string().regex(REQUEST_TEXT, { error: "expected a normalised request ≥ 0, or nothing" }),
  memory: z
    .string()
    .regex(REQUEST_TEXT, { error: "expected a normalised request ≥ 0, or nothing" }),
});

/** One task event, its numbers converted. */
interface Row {
  /** Microseconds of trace time. */
  readonly timestamp: number;
  readonly job: string;
  readonly task: string;
  readonly machine: string;
  readonly event: number;
  readonly user: string;
  readonly schedulingClass: number;
  readonly priority: number;
  /** Normalised requests; undefined when the row has none. */
  readonly cpu: number | undefined;
  readonly memory: number | undefined;
}

function toRow(text: z.output<typeof RowSchema>): Row {
  return {
    ...text,
    timestamp: Number(text.timestamp),
    event: Number(text.event),
    schedulingClass: Number(text.schedulingClass),
    priority: Number(text.priority),
    cpu: text.cpu === "" ? undefined : Number(text.cpu),
    memory: text.memory === "" ? undefined : Number(text.memory),
  };
}

/** The tier of a task's priority: 9–11 premium, 2–8 standard, 0–1 free. */
export function tierOfPriority(priority: number): "premium" | "standard" | "free" {
  if (priority >= 9) return "premium";
  return priority >= 2 ? "standard" : "free";
}

/** The criticality of a task's scheduling class: 3 critical, 2 normal, 0–1 deferrable. */
export function criticalityOfClass(schedulingClass: number): Criticality {
  if (schedulingClass === 3) return "critical";
  return schedulingClass === 2 ? "normal" : "deferrable";
}

/** A submission still open: what it asked for and since when (trace seconds). */
interface Submission {
  readonly id: string;
  readonly sinceSeconds: number;
  /** SUBMITted at timestamp 0: a SCHEDULE at 0 makes it initial load. */
  readonly atZero: boolean;
  readonly row: Row;
  cpu: number | undefined;
  memory: number | undefined;
}

/** A task running when the files start. */
interface Running {
  readonly id: string;
  readonly row: Row;
}

interface Closed<T> {
  readonly open: T;
  /** Trace seconds, or undefined when it ran to the trace end. */
  readonly endSeconds: number | undefined;
}

const POOL: PoolSpec = {
  perTask: { vcpu: 0.5 * VCPU_PER_UNIT, memoryGiB: 0.5 * MEMORY_GIB_PER_UNIT },
  provisioningLagSeconds: 300,
  costPerTaskHour: 0.768,
  pricedAfter: "an m5.4xlarge (16 vCPU, 64 GiB; AWS us-east-1 on-demand Linux)",
  sizedAfter: "the trace's most common machine, CPU 0.5 and memory 0.5 of the largest",
  alternatives: [],
};

/**
 * Reads Google 2011 `task_events` shards into a replay trace (see the module comment).
 *
 * @param path a shard (`.csv` or `.csv.gz`) or a directory of them, read in name order
 * @returns the requests sorted by (arrival, requestId), the initial load, the `cpu` pool
 * @throws ValidationError naming file, line and column for a malformed row; when the files hold
 *   no event
 * @example
 * const trace = await readGoogle2011Replay("../shared/data/google-cluster-2011-task-events");
 * trace.start; // 1304290800 (2011-05-01T23:00:00Z)
 */
export async function readGoogle2011Replay(path: string): Promise<ReplayTrace> {
  const files = await listTraceFiles(path);
  const submissions = new Map<string, Submission>();
  const running = new Map<string, Running>();
  const submitCount = new Map<string, number>();
  const seen = new Set<string>();
  const requests: Closed<Submission>[] = [];
  const loads: Closed<Running>[] = [];
  const skipped = new Map<string, number>();
  let firstSeconds = Number.POSITIVE_INFINITY;
  let lastSeconds = Number.NEGATIVE_INFINITY;

  const submit = (key: string, row: Row, sinceSeconds: number, atZero: boolean) => {
    const n = (submitCount.get(key) ?? 0) + 1;
    submitCount.set(key, n);
    submissions.set(key, {
      id: `${key}:${n}`,
      sinceSeconds,
      atZero,
      row,
      cpu: row.cpu,
      memory: row.memory,
    });
  };
  const closeOpen = (key: string, endSeconds: number): boolean => {
    const open = submissions.get(key);
    if (open) {
      submissions.delete(key);
      requests.push({ open, endSeconds });
      return true;
    }
    const load = running.get(key);
    if (load) {
      running.delete(key);
      loads.push({ open: load, endSeconds });
      return true;
    }
    return false;
  };

  for (const file of files) {
    await readCsvRecords(file, ({ fields, line }) => {
      if (fields[0] === AFTER_TRACE_END) {
        tallyInto(skipped, "events after the trace window (timestamp 2^63-1)");
        return;
      }
      const row = toRow(
        parseRow(
          RowSchema,
          {
            timestamp: fields[0],
            job: fields[2],
            task: fields[3],
            machine: fields[4],
            event: fields[5],
            user: fields[6],
            schedulingClass: fields[7],
            priority: fields[8],
            cpu: fields[9],
            memory: fields[10],
          },
          { file, line },
          COLUMNS,
        ),
      );
      const t = Math.max(row.timestamp / 1e6, TRACE_START_SECONDS);
      if (t < firstSeconds) firstSeconds = t;
      if (t > lastSeconds) lastSeconds = t;
      const key = `${row.job}:${row.task}`;
      const firstSight = !seen.has(key);
      seen.add(key);

      if (row.event === SUBMIT) {
        // A SUBMIT while open (none in the shards here) ends what was open.
        closeOpen(key, t);
        submit(key, row, t, row.timestamp === 0);
        return;
      }
      if (row.event === SCHEDULE) {
        const open = submissions.get(key);
        if (open) {
          if (open.atZero && row.timestamp === 0) {
            // Scheduled before the trace window: running at the start, not a request. It holds
            // what the SCHEDULE says: at timestamp 0 over a quarter of the tasks SUBMIT one request
            // and SCHEDULE another (the current one, after updates before the window).
            submissions.delete(key);
            const cpu = row.cpu ?? open.cpu;
            const memory = row.memory ?? open.memory;
            running.set(key, { id: open.id, row: { ...row, cpu, memory } });
            return;
          }
          open.cpu ??= row.cpu;
          open.memory ??= row.memory;
          return;
        }
        if (running.has(key)) {
          tallyInto(skipped, "SCHEDULE events of a task already running");
          return;
        }
        if (row.timestamp === 0) {
          running.set(key, { id: `${key}:0`, row });
          return;
        }
        // First seen here: pending before the files start, a request at the start. Seen before
        // (a resubmission whose SUBMIT is missing; none in the shards here): a request from now.
        submit(key, row, firstSight ? Number.NEGATIVE_INFINITY : t, false);
        return;
      }
      if (ENDS.has(row.event)) {
        if (closeOpen(key, t)) return;
        if (firstSight && row.machine !== "") {
          // Running before the files start (a shard read without the first one).
          loads.push({ open: { id: `${key}:0`, row }, endSeconds: t });
          return;
        }
        tallyInto(skipped, "end events of a task not running or submitted in the files read");
        return;
      }
      if (row.event === UPDATE_RUNNING && firstSight) {
        running.set(key, { id: `${key}:0`, row });
      }
    });
  }
  if (firstSeconds === Number.POSITIVE_INFINITY) {
    throw new ValidationError(
      `${path} holds no task event within the trace window; expected Google 2011 task_events shards.`,
      [{ field: "path", message: "no events" }],
    );
  }
  for (const open of submissions.values()) requests.push({ open, endSeconds: undefined });
  for (const open of running.values()) loads.push({ open, endSeconds: undefined });

  const startSeconds = Math.floor(firstSeconds);
  const start = GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS + startSeconds;
  const end = GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS + Math.floor(lastSeconds) + 1;
  const endAt = (endSeconds: number | undefined) =>
    endSeconds === undefined
      ? end
      : Math.min(end, GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS + Math.ceil(endSeconds));
  const amountsOf = (cpu: number | undefined, memory: number | undefined): Amounts => ({
    vcpu: (cpu ?? 0) * VCPU_PER_UNIT,
    memoryGiB: (memory ?? 0) * MEMORY_GIB_PER_UNIT,
  });

  const tierCounts = new Map<string, Map<string, number>>();
  const countTier = (userId: string, tier: string) => {
    const counts = tierCounts.get(userId) ?? new Map<string, number>();
    tallyInto(counts, tier);
    tierCounts.set(userId, counts);
  };
  const replayRequests: ReplayRequest[] = [];
  for (const { open, endSeconds } of requests) {
    const amounts = amountsOf(open.cpu, open.memory);
    if (!hasPositiveAmount(amounts)) {
      tallyInto(skipped, "requests for no CPU and no memory");
      continue;
    }
    const arrival =
      GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS + Math.max(startSeconds, Math.floor(open.sinceSeconds));
    const criticality = criticalityOfClass(open.row.schedulingClass);
    const userId = safeId(open.row.user);
    const tier = tierOfPriority(open.row.priority);
    countTier(userId, tier);
    replayRequests.push({
      requestId: open.id,
      userId,
      tier,
      pool: "cpu",
      amounts,
      arrival,
      durationSeconds: Math.max(1, endAt(endSeconds) - arrival),
      criticality,
      ...patienceOf(criticality),
    });
  }
  replayRequests.sort(compareRequests);

  const initialLoad: InitialLoad[] = [];
  for (const { open, endSeconds } of loads) {
    const amounts = amountsOf(open.row.cpu, open.row.memory);
    if (!hasPositiveAmount(amounts)) {
      tallyInto(skipped, "initial load of no CPU and no memory");
      continue;
    }
    const userId = safeId(open.row.user);
    const tier = tierOfPriority(open.row.priority);
    countTier(userId, tier);
    initialLoad.push({ id: open.id, userId, tier, pool: "cpu", amounts, endAt: endAt(endSeconds) });
  }
  initialLoad.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const users = [...tierCounts.entries()]
    .map(([userId, counts]) => ({ userId, tier: majorityTier(counts) }))
    .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  const { pools, mapping: poolLines } = buildPools(
    { cpu: POOL },
    peakHeld(replayRequests, initialLoad, start),
  );
  const userTiers = new Map<string, number>();
  for (const u of users) tallyInto(userTiers, u.tier);
  const requestTiers = new Map<string, number>();
  const criticalities = new Map<string, number>();
  for (const r of replayRequests) {
    tallyInto(requestTiers, r.tier);
    tallyInto(criticalities, r.criticality);
  }

  const mapping = [
    `google-2011: ${files.length} task_events shard(s); trace time ${startSeconds} s is the start (${new Date(start * 1000).toISOString()}; trace time 600 s is 19:00 EDT, 1 May 2011), the end is ${new Date(end * 1000).toISOString()}; times rounded outward to whole seconds.`,
    `request: each SUBMIT of a task (job ID, task index), held until its next EVICT/FAIL/FINISH/KILL/LOST or the trace end (pending time included); a task submitted again is a new request: ${formatCount(replayRequests.length)} requests.`,
    `initial load: tasks SUBMITted and SCHEDULEd at timestamp 0 (before the trace window), or first seen running: ${formatCount(initialLoad.length)} tasks; a task SUBMITted at 0 but still pending is a request at the start.`,
    `tenant: the user column (hashed user name): ${formatCount(users.length)} users (by the tier of most of their tasks: ${formatTally(userTiers)}).`,
    `tier per request by priority: 9–11 premium, 2–8 standard, 0–1 free (${formatTally(requestTiers)}).`,
    `criticality by scheduling class: 3 critical (waits 0 s, takes no alternative), 2 normal (waits up to 600 s), 0–1 deferrable (up to 3,600 s) (${formatTally(criticalities)}).`,
    `size: CPU request × ${VCPU_PER_UNIT} vCPU and memory request × ${MEMORY_GIB_PER_UNIT} GiB (the trace's normalised 1.0, its largest machine, taken as an m5.8xlarge).`,
    ...poolLines,
  ];
  if (skipped.size > 0) mapping.push(`skipped: ${formatTally(skipped)}.`);
  return {
    format: "google-2011",
    start,
    end,
    pools,
    users,
    requests: replayRequests,
    initialLoad,
    mapping,
  };
}

/** The tier most counted; ties go to the higher tier. */
function majorityTier(counts: ReadonlyMap<string, number>): string {
  let best = "free";
  let most = -1;
  for (const tier of ["premium", "standard", "free"]) {
    const n = counts.get(tier) ?? 0;
    if (n > most) {
      best = tier;
      most = n;
    }
  }
  return best;
}
