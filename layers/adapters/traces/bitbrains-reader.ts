import { z } from "zod";
import { ValidationError } from "../../domain/errors.js";
import { SeriesGrid } from "./series-grid.js";
import { columnIndexes, numberText, parseRow, readCsvRecords, traceFileStem } from "./trace-csv.js";
import type { TraceRead } from "./trace-read.js";

/**
 * Reader of the Bitbrains "Rnd" 2013 VM traces (GWA-T-12 as copied in shared/data): per VM two
 * series, `vm<N>/cpu-mhz` (`CPU usage [MHZ]`) and `vm<N>/memory-kb` (`Memory usage [KB]`).
 *
 * - Separator: `;` followed by a TAB, as in the original per-VM files.
 * - `Timestamp [ms]` holds Unix SECONDS despite its label.
 * - Samples come every ≈300 s with drift (299/301 s); each falls in the 300-s slot ⌊t/300⌋ of the
 *   epoch grid. A slot with no sample is NaN (a gap, never glued over); two samples in one slot
 *   are averaged. VM numbers name the same VM in every month, so reading several month files (a
 *   directory) joins them into one series per VM.
 *
 * The original archive layout (one file per VM, `<N>.csv`, no `VM id` column) is read too: the
 * VM number is then the file name.
 *
 * Junk: none known; a malformed row is an error naming file, line and column.
 */

export const BITBRAINS_STEP_SECONDS = 300;

const VM_COLUMN = "VM id";
const COLUMNS = {
  timestamp: "Timestamp [ms]",
  cpu: "CPU usage [MHZ]",
  memory: "Memory usage [KB]",
} as const;
const COLUMN_NAMES = { ...COLUMNS, vm: VM_COLUMN };

const RowSchema = z.object({
  vm: z.string().regex(/^\d+$/, { error: "expected a VM number" }),
  // Seconds, so anything past year 2100 (or a value in milliseconds) is rejected.
  timestamp: numberText.pipe(
    z
      .number()
      .int()
      .min(0)
      .max(4_102_444_800, { error: "expected Unix seconds (the column holds seconds)" }),
  ),
  cpu: numberText,
  memory: numberText,
});

/**
 * Reads Bitbrains month files into series.
 *
 * @param files `.csv`/`.csv.gz` files, each starting with its header row
 * @returns two series per VM (CPU MHz, memory KB), sorted by id
 * @throws ValidationError naming file, line and column for a malformed row or header
 */
export async function readBitbrains(files: readonly string[]): Promise<TraceRead> {
  const grid = new SeriesGrid(BITBRAINS_STEP_SECONDS);
  let rows = 0;
  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    let vmIndex = -1;
    const stem = traceFileStem(file);
    await readCsvRecords(
      file,
      ({ fields, line }) => {
        if (!index) {
          index = columnIndexes(file, fields, COLUMNS, "bitbrains");
          vmIndex = fields.findIndex((f) => f.trim() === VM_COLUMN);
          if (vmIndex < 0 && !/^\d+$/.test(stem)) {
            throw new ValidationError(
              `${file}:1: the header lacks "${VM_COLUMN}" and the file name is not a VM number. Expected the concatenated layout (with "${VM_COLUMN}") or one <N>.csv per VM.`,
            );
          }
          return;
        }
        const at = index;
        const row = parseRow(
          RowSchema,
          {
            vm: vmIndex < 0 ? stem : fields[vmIndex],
            timestamp: fields[at.timestamp],
            cpu: fields[at.cpu],
            memory: fields[at.memory],
          },
          { file, line },
          COLUMN_NAMES,
        );
        rows++;
        const vm = `vm${Number(row.vm)}`;
        const source = { file, line, column: COLUMNS.timestamp };
        grid.add(
          `${vm}/cpu-mhz`,
          row.timestamp,
          row.cpu,
          { format: "bitbrains", vm, resource: "cpu", unit: "MHz" },
          source,
        );
        grid.add(
          `${vm}/memory-kb`,
          row.timestamp,
          row.memory,
          { format: "bitbrains", vm, resource: "memory", unit: "KB" },
          source,
        );
      },
      { delimiter: ";\t" },
    );
    if (!index) {
      throw new ValidationError(`${file} is empty; expected a bitbrains CSV with a header.`);
    }
  }
  return {
    format: "bitbrains",
    stepSeconds: BITBRAINS_STEP_SECONDS,
    series: grid.build(),
    files,
    rows,
    skipped: {},
    assumed: {},
  };
}
