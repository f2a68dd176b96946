import { z } from "zod";
import { ValidationError } from "../../domain/errors.js";
import { IntervalDemand } from "./series-grid.js";
import {
  columnIndexes,
  numberText,
  optionalNumberText,
  parseRow,
  readCsvRecords,
} from "./trace-csv.js";
import type { TraceRead } from "./trace-read.js";

/**
 * Reader of the Alibaba 2025 disaggregated-DLRM instance table: per application (`app_name`,
 * the tenant) the requested vCPU (`cpu_request`) of its live instances at each 5-minute instant.
 *
 * An instance is live at t when creation_time ≤ t < deletion_time; an empty creation_time means
 * it was running at trace start, an empty deletion_time that it ran to the trace end. Times are
 * seconds from the trace start, which is placed at epoch 0 (the trace gives no date). The grid is
 * t = 0, 300, 600, … up to the latest time any instance names in the files read (the trace end);
 * every application's series covers the whole grid, 0 where nothing of it is live.
 *
 * Junk: none known; a malformed row, or an instance deleted before it was created, is an error
 * naming file, line and column.
 */

export const ALIBABA_DLRM_STEP_SECONDS = 300;
/** Epoch seconds of the trace start (the trace has no absolute time). */
export const ALIBABA_DLRM_ORIGIN_SECONDS = 0;

const COLUMNS = {
  app: "app_name",
  cpu: "cpu_request",
  creation: "creation_time",
  scheduled: "scheduled_time",
  deletion: "deletion_time",
} as const;

/**
 * Latest time a row may name, seconds from the trace start (10 years; the trace spans weeks):
 * every application's series covers the grid up to the latest time, so one wrong time would
 * allocate a series of billions of steps.
 */
export const ALIBABA_DLRM_MAX_TIME_SECONDS = 10 * 365 * 86_400;

const time = optionalNumberText.pipe(
  z
    .number()
    .min(0, { error: "expected seconds ≥ 0 from the trace start" })
    .max(ALIBABA_DLRM_MAX_TIME_SECONDS, {
      error: `expected seconds from the trace start, at most ${ALIBABA_DLRM_MAX_TIME_SECONDS} (10 years)`,
    })
    .optional(),
);

const RowSchema = z
  .object({
    app: z.string().min(1, { error: "expected an application name" }),
    cpu: numberText.pipe(z.number().min(0, { error: "expected a vCPU request ≥ 0" })),
    creation: time,
    scheduled: time,
    deletion: time,
  })
  .refine(
    (row) =>
      row.creation === undefined || row.deletion === undefined || row.deletion >= row.creation,
    { error: "is before creation_time", path: ["deletion"] },
  );

/**
 * Reads DLRM instance files into per-application demand series.
 *
 * @param files `.csv`/`.csv.gz` files with the trace's header
 * @returns one series per app_name, sorted by id, all on the same grid from the trace start
 * @throws ValidationError naming file, line and column for a malformed row or header
 */
export async function readAlibabaDlrm(files: readonly string[]): Promise<TraceRead> {
  const demand = new IntervalDemand(ALIBABA_DLRM_STEP_SECONDS);
  let rows = 0;
  let traceEndSeconds = 0;
  const openAtStart = { count: 0 };
  const openAtEnd = { count: 0 };
  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    await readCsvRecords(file, ({ fields, line }) => {
      if (!index) {
        index = columnIndexes(file, fields, COLUMNS, "alibaba-dlrm");
        return;
      }
      const row = parseRow(
        RowSchema,
        {
          app: fields[index.app],
          cpu: fields[index.cpu],
          creation: fields[index.creation],
          scheduled: fields[index.scheduled],
          deletion: fields[index.deletion],
        },
        { file, line },
        COLUMNS,
      );
      rows++;
      for (const t of [row.creation, row.scheduled, row.deletion]) {
        if (t !== undefined && t > traceEndSeconds) traceEndSeconds = t;
      }
      if (row.creation === undefined) openAtStart.count++;
      if (row.deletion === undefined) openAtEnd.count++;
      demand.declare(row.app, { format: "alibaba-dlrm", app: row.app, resource: "vcpu" });
      demand.add(
        row.app,
        ALIBABA_DLRM_ORIGIN_SECONDS + (row.creation ?? Number.NEGATIVE_INFINITY),
        ALIBABA_DLRM_ORIGIN_SECONDS + (row.deletion ?? Number.POSITIVE_INFINITY),
        row.cpu,
      );
    });
    if (!index) {
      throw new ValidationError(`${file} is empty; expected an alibaba-dlrm CSV with a header.`);
    }
  }
  const length = Math.floor(traceEndSeconds / ALIBABA_DLRM_STEP_SECONDS) + 1;
  return {
    format: "alibaba-dlrm",
    stepSeconds: ALIBABA_DLRM_STEP_SECONDS,
    series: demand.build(ALIBABA_DLRM_ORIGIN_SECONDS, length),
    files,
    rows,
    skipped: {},
    assumed: {
      "running at trace start (no creation_time)": openAtStart.count,
      "running to trace end (no deletion_time)": openAtEnd.count,
    },
  };
}
