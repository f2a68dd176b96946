import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { type Options, parse } from "csv-parse";
import { z } from "zod";
import { ValidationError } from "../../domain/errors.js";

/**
 * Streaming CSV access shared by the trace readers: which files a path names, their rows one at a
 * time (gunzipped on the fly when the name ends in `.gz`), and row validation with zod that names
 * the file, line and column of a bad value.
 */

const TRACE_FILE = /\.csv(\.gz)?$/i;
const DECIMAL = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * Largest magnitude a trace number may have. Far above any real measurement (memory in KB, CPU
 * in MHz, bytes per interval) and far enough below the float limit that summing thousands of
 * samples into one slot cannot overflow to Infinity (and Infinity − Infinity to NaN).
 */
export const MAX_TRACE_NUMBER = 1e15;

/** A field holding a finite decimal number (not empty, not "nan", not 1e999 or beyond ±1e15). */
export const numberText = z
  .string()
  .regex(DECIMAL, { error: "expected a decimal number" })
  .transform(Number)
  .pipe(
    z
      .number({ error: "expected a finite decimal number (this one overflows)" })
      .min(-MAX_TRACE_NUMBER, { error: `expected a number of at most ${MAX_TRACE_NUMBER} in size` })
      .max(MAX_TRACE_NUMBER, { error: `expected a number of at most ${MAX_TRACE_NUMBER} in size` }),
  );

/** A field holding a decimal number, or empty (→ undefined). */
export const optionalNumberText = z.union([z.literal("").transform(() => undefined), numberText]);

/**
 * The trace files a path names: the file itself, or every `.csv`/`.csv.gz` in a directory (not
 * recursive), sorted by name so shards and months are read in order.
 *
 * @param tracePath a file or a directory
 * @returns absolute file paths, at least one
 * @throws ValidationError when the path does not exist or a directory holds no trace file
 */
export async function listTraceFiles(tracePath: string): Promise<string[]> {
  const absolute = path.resolve(tracePath);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(absolute);
  } catch (error) {
    throw new ValidationError(
      `Trace path ${tracePath} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Expected a .csv/.csv.gz file or a directory of them.`,
      [{ field: "path", message: "does not exist or is not readable" }],
    );
  }
  if (!info.isDirectory()) return [absolute];
  const names = (await readdir(absolute)).filter((name) => TRACE_FILE.test(name)).sort();
  if (names.length === 0) {
    throw new ValidationError(
      `Directory ${tracePath} holds no .csv or .csv.gz file. Point --history/--future at a trace file or a directory of them.`,
      [{ field: "path", message: "no trace files" }],
    );
  }
  return names.map((name) => path.join(absolute, name));
}

/** The file name without its `.csv`/`.csv.gz` extension (NAB series ids). */
export function traceFileStem(file: string): string {
  return path.basename(file).replace(TRACE_FILE, "");
}

/** One CSV record and the line it starts on (1-based, counting the header). */
export interface CsvRecord {
  readonly fields: readonly string[];
  readonly line: number;
}

export interface CsvReadOptions {
  /** Field separator. @default "," */
  readonly delimiter?: string;
}

/**
 * Streams the records of one CSV file (gunzipped when its name ends in `.gz`), header included.
 *
 * @param file path of a `.csv` or `.csv.gz` file
 * @param onRecord called once per record, in file order
 * @throws ValidationError naming the file and line when the CSV itself is malformed (unclosed
 *   quote, wrong number of fields, truncated gzip)
 */
export async function readCsvRecords(
  file: string,
  onRecord: (record: CsvRecord) => void,
  options: CsvReadOptions = {},
): Promise<void> {
  const parserOptions: Options<CsvRecord, string[]> = {
    delimiter: options.delimiter ?? ",",
    skip_empty_lines: true,
    // The line is taken here rather than with `info: true`, which copies the parser's whole info
    // object for every record and so doubles the time a large trace takes to parse.
    on_record: (record, context) => ({ fields: record, line: context.lines }),
  };
  // csv-parse's overloads let on_record change the record type only together with `columns`.
  const parser = parse(parserOptions as unknown as Options);
  // The consumer is the pipeline's last stage, so an error it throws (a bad row) stops the read
  // and destroys every stream, and an error of any stream reaches this await.
  // The consumer's own error is kept aside: when it stops the pipeline early, the pipeline may
  // reject with the resulting abort instead. Only onRecord's errors are kept: a parse error
  // (wrong field count, unclosed quote) also surfaces in this loop, and is wrapped below.
  let rejected: unknown;
  const consume = async (entries: AsyncIterable<CsvRecord>) => {
    for await (const entry of entries) {
      try {
        onRecord(entry);
      } catch (error) {
        rejected = error;
        throw error;
      }
    }
  };
  const source = createReadStream(file);
  try {
    if (/\.gz$/i.test(file)) await pipeline(source, createGunzip(), parser, consume);
    else await pipeline(source, parser, consume);
  } catch (error) {
    if (rejected !== undefined) throw rejected;
    if (error instanceof ValidationError) throw error;
    const lines = (error as { lines?: number }).lines;
    throw new ValidationError(
      `${file}${lines === undefined ? "" : `:${lines}`}: cannot read the CSV: ${(error as Error).message}. Expected an intact ${/\.gz$/i.test(file) ? "gzipped " : ""}CSV trace file.`,
      [{ field: "file", message: (error as Error).message }],
      { cause: error },
    );
  }
}

/**
 * Finds the columns a reader needs in a header record.
 *
 * @param header the header fields as written in the file
 * @param wanted column names, exactly as the trace writes them
 * @returns the index of each wanted column
 * @throws ValidationError naming the file and the missing columns
 */
export function columnIndexes<K extends string>(
  file: string,
  header: readonly string[],
  wanted: Readonly<Record<K, string>>,
  format: string,
): Record<K, number> {
  const trimmed = header.map((h) => h.trim());
  const out = {} as Record<K, number>;
  const missing: string[] = [];
  for (const [key, name] of Object.entries(wanted) as [K, string][]) {
    const index = trimmed.indexOf(name);
    if (index < 0) missing.push(name);
    else out[key] = index;
  }
  if (missing.length > 0) {
    throw new ValidationError(
      `${file}:1: the header lacks ${missing.map((m) => `"${m}"`).join(", ")}; a ${format} trace has them. Check --format, or the file's separator.`,
      missing.map((m) => ({ field: m, message: "missing from the header" })),
    );
  }
  return out;
}

/**
 * Validates the fields a reader picked from one record.
 *
 * @param schema a zod object schema over the picked fields (strings in, typed values out)
 * @param picked the raw field texts, keyed as in the schema
 * @param columnNames the trace's name of each key, used in the error
 * @returns the parsed row
 * @throws ValidationError naming the file, line, column and bad value, and what was expected
 */
export function parseRow<S extends z.ZodType>(
  schema: S,
  picked: Readonly<Record<string, string | undefined>>,
  where: { readonly file: string; readonly line: number },
  columnNames: Readonly<Record<string, string>>,
): z.output<S> {
  const parsed = schema.safeParse(picked);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const column = columnNames[key] ?? key;
  throw new ValidationError(
    `${where.file}:${where.line}: column "${column}" is ${JSON.stringify(picked[key] ?? null)}: ${issue?.message ?? "invalid"}. Fix or remove that row (or check --format).`,
    parsed.error.issues.map((i) => ({
      field: columnNames[String(i.path[0] ?? "")] ?? String(i.path[0] ?? ""),
      message: i.message,
    })),
    { details: { file: where.file, line: where.line } },
  );
}
