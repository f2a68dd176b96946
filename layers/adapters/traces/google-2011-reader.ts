import { z } from "zod";
import { IntervalDemand } from "./series-grid.js";
import { optionalNumberText, parseRow, readCsvRecords } from "./trace-csv.js";
import { countInto, type TraceRead } from "./trace-read.js";

/**
 * Reader of Google's clusterdata-2011-2 `task_events` shards: per user (the hashed user name,
 * column 7) the requested CPU (column 10, normalised cores) of its RUNNING tasks at each 1-minute
 * instant.
 *
 * - No header row; 13 columns; timestamps in microseconds since 600 s before the trace start
 *   (trace time 600 s = 19:00 EDT, Sunday 1 May 2011 = epoch 1,304,290,800). Timestamp 0 means
 *   "before the trace window": those events describe the state at trace start, so a task with a
 *   SCHEDULE event at 0 is running from the first instant.
 * - A task (job ID, task index) runs from its SCHEDULE (1) event until its EVICT (2), FAIL (3),
 *   FINISH (4), KILL (5) or LOST (6) event, or to the end of the files read; it may be scheduled
 *   again after an eviction. UPDATE_RUNNING (8) with a CPU request changes the request from then
 *   on. SUBMIT (0) and UPDATE_PENDING (7) do not change what runs.
 * - A task that ends without having been seen at all in the files read was running before them
 *   (a shard other than the first has no SCHEDULE for it): it is counted from the first instant,
 *   with the request its end event carries, and the count is reported in `assumed`.
 * - The grid is the trace's minute grid (trace time 600 s + k·60 s) from the first to the last
 *   event of the files read; every user's series covers all of it, 0 while nothing of theirs runs.
 *   Users with no running task in the files get no series.
 * - Features: `tier` is the priority band of most of the user's SCHEDULE events: "free" (0–1),
 *   "middle" (2–8), "production" (9–11), as the trace documentation groups them ("unknown" for a
 *   user seen only through end events).
 *
 * Known junk, skipped and counted: events stamped 2^63−1 (after the trace window), a SCHEDULE or
 * UPDATE_RUNNING without a CPU request, a SCHEDULE of a task already running. Any other malformed
 * row is an error naming file, line and column.
 */

export const GOOGLE_2011_STEP_SECONDS = 60;
/** Epoch seconds of trace time 0 (600 s before the trace start, 2011-05-01T23:00:00Z). */
export const GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS = 1_304_290_800 - 600;
/** Trace time of the trace start, seconds. */
const TRACE_START_SECONDS = 600;
const AFTER_TRACE_END = "9223372036854775807";

const COLUMNS: Readonly<Record<string, string>> = {
  timestamp: "1 (timestamp)",
  job: "3 (job ID)",
  task: "4 (task index)",
  event: "6 (event type)",
  user: "7 (user name)",
  priority: "9 (priority)",
  cpu: "10 (CPU request)",
};

/**
 * Latest timestamp a row may carry, microseconds (one year; the trace spans 29 days, and the
 * 2^63−1 sentinel is skipped before this check): every user's series covers the minute grid up
 * to the latest event, so one wrong timestamp would allocate series of billions of steps.
 */
export const GOOGLE_2011_MAX_TIMESTAMP_MICROS = (TRACE_START_SECONDS + 365 * 86_400) * 1e6;

const RowSchema = z.object({
  timestamp: z
    .string()
    .regex(/^\d+$/, { error: "expected microseconds (a whole number)" })
    .transform(Number)
    .pipe(
      z.number().max(GOOGLE_2011_MAX_TIMESTAMP_MICROS, {
        error: "expected microseconds within a year of the trace start",
      }),
    ),
  job: z.string().regex(/^\d+$/, { error: "expected a job ID" }),
  task: z.string().regex(/^\d+$/, { error: "expected a task index" }),
  event: z
    .string()
    .regex(/^[0-8]$/, { error: "expected an event type 0–8" })
    .transform(Number),
  user: z.string().min(1, { error: "expected a (hashed) user name" }),
  priority: optionalNumberText.pipe(z.number().int().min(0).max(11).optional()),
  cpu: optionalNumberText.pipe(z.number().min(0).optional()),
});

const SCHEDULE = 1;
const UPDATE_RUNNING = 8;
const ENDS = new Set([2, 3, 4, 5, 6]);

function band(priority: number): "free" | "middle" | "production" {
  if (priority <= 1) return "free";
  return priority >= 9 ? "production" : "middle";
}

interface Running {
  readonly user: string;
  readonly sinceSeconds: number;
  readonly cpu: number;
}

/**
 * Reads task-event shards into per-user running-CPU series.
 *
 * @param files shard files in trace order (their names sort that way)
 * @returns one series per user with a running task, sorted by id, on a shared 1-minute grid
 * @throws ValidationError naming file, line and column for a malformed row
 */
export async function readGoogle2011(files: readonly string[]): Promise<TraceRead> {
  const demand = new IntervalDemand(GOOGLE_2011_STEP_SECONDS);
  const running = new Map<string, Running>();
  const seen = new Set<string>();
  const bands = new Map<string, Record<string, number>>();
  const skipped: Record<string, number> = {};
  const assumed: Record<string, number> = {};
  let rows = 0;
  let firstSeconds = Number.POSITIVE_INFINITY;
  let lastSeconds = Number.NEGATIVE_INFINITY;
  let events = 0;

  for (const file of files) {
    await readCsvRecords(file, ({ fields, line }) => {
      rows++;
      if (fields[0] === AFTER_TRACE_END) {
        countInto(skipped, "event after the trace window (timestamp 2^63-1)");
        return;
      }
      const row = parseRow(
        RowSchema,
        {
          timestamp: fields[0],
          job: fields[2],
          task: fields[3],
          event: fields[5],
          user: fields[6],
          priority: fields[8],
          cpu: fields[9],
        },
        { file, line },
        COLUMNS,
      );
      events++;
      const t = Math.max(row.timestamp / 1e6, TRACE_START_SECONDS);
      if (t < firstSeconds) firstSeconds = t;
      if (t > lastSeconds) lastSeconds = t;
      const key = `${row.job}:${row.task}`;
      const wasSeen = seen.has(key);
      seen.add(key);
      const current = running.get(key);

      if (row.event === SCHEDULE) {
        if (current) {
          countInto(skipped, "SCHEDULE of a task already running");
          return;
        }
        if (row.cpu === undefined) {
          countInto(skipped, "SCHEDULE without a CPU request");
          return;
        }
        running.set(key, { user: row.user, sinceSeconds: t, cpu: row.cpu });
        const counts = bands.get(row.user) ?? {};
        if (row.priority !== undefined) countInto(counts, band(row.priority));
        bands.set(row.user, counts);
        return;
      }
      if (row.event === UPDATE_RUNNING) {
        if (!current) return;
        if (row.cpu === undefined) {
          countInto(skipped, "UPDATE_RUNNING without a CPU request");
          return;
        }
        demand.add(current.user, current.sinceSeconds, t, current.cpu);
        running.set(key, { user: current.user, sinceSeconds: t, cpu: row.cpu });
        return;
      }
      if (!ENDS.has(row.event)) return;
      if (current) {
        demand.add(current.user, current.sinceSeconds, t, current.cpu);
        running.delete(key);
      } else if (!wasSeen) {
        if (row.cpu === undefined) {
          countInto(skipped, "end of a task never seen, without a CPU request");
          return;
        }
        // Running before the files start (see the module comment); counted from the first instant.
        demand.add(row.user, Number.NEGATIVE_INFINITY, t, row.cpu);
        countInto(assumed, "tasks running before the files start (end event only)");
        if (!bands.has(row.user)) bands.set(row.user, {});
      }
    });
  }
  for (const task of running.values()) {
    demand.add(task.user, task.sinceSeconds, Number.POSITIVE_INFINITY, task.cpu);
  }
  if (running.size > 0) assumed["tasks still running at the end of the files"] = running.size;

  if (events === 0) {
    return {
      format: "google-2011",
      stepSeconds: GOOGLE_2011_STEP_SECONDS,
      series: [],
      files,
      rows,
      skipped,
      assumed,
    };
  }
  const step = GOOGLE_2011_STEP_SECONDS;
  const firstInstant = Math.ceil((firstSeconds - TRACE_START_SECONDS) / step);
  const lastInstant = Math.floor((lastSeconds - TRACE_START_SECONDS) / step);
  const originSeconds = TRACE_START_SECONDS + firstInstant * step;
  const length = Math.max(lastInstant - firstInstant + 1, 0);
  for (const [user, counts] of bands) {
    // Ties go to the higher band; a user seen only through end events has no known band.
    const tier = (["production", "middle", "free"] as const).reduce<string>(
      (best, b) => ((counts[b] ?? 0) > (counts[best] ?? 0) ? b : best),
      "unknown",
    );
    demand.setFeatures(user, { format: "google-2011", resource: "cpu", tier });
  }
  const series = demand
    .build(originSeconds, length)
    .map((s) => ({ ...s, startSeconds: s.startSeconds + GOOGLE_2011_TRACE_ZERO_EPOCH_SECONDS }));
  const idle = series.filter((s) => !hasPositive(s.values)).length;
  if (idle > 0) skipped["users whose tasks never ran within the grid (no series)"] = idle;
  return {
    format: "google-2011",
    stepSeconds: step,
    series: series.filter((s) => hasPositive(s.values)),
    files,
    rows,
    skipped,
    assumed,
  };
}

function hasPositive(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if ((values[i] as number) > 0) return true;
  return false;
}
