import { z } from "zod";
import { ValidationError } from "../../domain/errors.js";
import { SeriesGrid } from "./series-grid.js";
import { columnIndexes, numberText, parseRow, readCsvRecords, traceFileStem } from "./trace-csv.js";
import type { TraceRead } from "./trace-read.js";

/**
 * Reader of the NAB realAWSCloudwatch series: one series per file, id = the file name without
 * its extension, the `value` column, 5-minute steps.
 *
 * `timestamp` (`YYYY-MM-DD HH:MM:SS`) is read as UTC. Each sample falls in the 300-s slot ⌊t/300⌋
 * of the epoch grid (NAB stamps sit at a fixed offset within the 5 minutes, e.g. hh:m2:00); a
 * slot with no sample is NaN and samples sharing a slot (a few files repeat a timestamp) are
 * averaged. A file and its continuation (same name in another directory) form one series.
 *
 * Junk: none known; a malformed row is an error naming file, line and column.
 */

export const NAB_STEP_SECONDS = 300;

const COLUMNS = { timestamp: "timestamp", value: "value" } as const;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

const RowSchema = z.object({
  timestamp: z
    .string()
    .regex(TIMESTAMP, { error: "expected a time as YYYY-MM-DD HH:MM:SS" })
    .transform((text) => Date.parse(`${text.replace(" ", "T")}Z`) / 1000)
    .pipe(z.number().finite({ error: "expected a valid calendar time" })),
  value: numberText,
});

/**
 * Reads NAB files into series.
 *
 * @param files `.csv`/`.csv.gz` files with a `timestamp,value` header
 * @returns one series per file stem, sorted by id
 * @throws ValidationError naming file, line and column for a malformed row or header
 */
export async function readNab(files: readonly string[]): Promise<TraceRead> {
  const grid = new SeriesGrid(NAB_STEP_SECONDS);
  let rows = 0;
  for (const file of files) {
    const id = traceFileStem(file);
    const features = { format: "nab", metric: id.replace(/_[0-9a-f]{6}$/, "") };
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    await readCsvRecords(file, ({ fields, line }) => {
      if (!index) {
        index = columnIndexes(file, fields, COLUMNS, "nab");
        return;
      }
      const row = parseRow(
        RowSchema,
        { timestamp: fields[index.timestamp], value: fields[index.value] },
        { file, line },
        COLUMNS,
      );
      rows++;
      grid.add(id, row.timestamp, row.value, features, {
        file,
        line,
        column: COLUMNS.timestamp,
      });
    });
    if (!index) {
      throw new ValidationError(`${file} is empty; expected a NAB CSV with a header.`);
    }
  }
  return {
    format: "nab",
    stepSeconds: NAB_STEP_SECONDS,
    series: grid.build(),
    files,
    rows,
    skipped: {},
    assumed: {},
  };
}
