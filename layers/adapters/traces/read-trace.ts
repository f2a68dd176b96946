import { ValidationError } from "../../domain/errors.js";
import { readAlibabaDlrm } from "./alibaba-dlrm-reader.js";
import { readAzureTenant } from "./azure-tenant-reader.js";
import { readBitbrains } from "./bitbrains-reader.js";
import { readGoogle2011 } from "./google-2011-reader.js";
import { readNab } from "./nab-reader.js";
import { listTraceFiles } from "./trace-csv.js";
import { TRACE_FORMATS, type TraceFormat, type TraceRead } from "./trace-read.js";

const READERS: Readonly<Record<TraceFormat, (files: readonly string[]) => Promise<TraceRead>>> = {
  "azure-tenant": readAzureTenant,
  bitbrains: readBitbrains,
  nab: readNab,
  "alibaba-dlrm": readAlibabaDlrm,
  "google-2011": readGoogle2011,
};

/** True when `name` is one of the supported trace formats. */
export function isTraceFormat(name: string): name is TraceFormat {
  return (TRACE_FORMATS as readonly string[]).includes(name);
}

/**
 * Reads a trace file, or every `.csv`/`.csv.gz` of a directory in name order, into regular series.
 * Series ids are stable across files of one format, so a history and a future file of the same
 * trace name the same series (see `joinHistoryAndFuture`).
 *
 * @param format the trace layout
 * @param tracePath a file or a directory
 * @returns the series (sorted by id) and an account of the rows read and skipped
 * @throws ValidationError for an unknown format, a missing path, or a malformed row (naming file,
 *   line and column)
 * @example
 * const read = await readTrace("nab", "../shared/data/nab-aws-cloudwatch");
 * read.series[0]?.id; // "ec2_cpu_utilization_24ae8d"
 */
export async function readTrace(format: string, tracePath: string): Promise<TraceRead> {
  if (!isTraceFormat(format)) {
    throw new ValidationError(
      `Unknown trace format "${format}". Expected one of: ${TRACE_FORMATS.join(", ")}.`,
      [{ field: "format", message: `expected one of ${TRACE_FORMATS.join(", ")}` }],
    );
  }
  const files = await listTraceFiles(tracePath);
  return READERS[format](files);
}
