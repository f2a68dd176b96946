import { rmSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readTrace } from "../../../layers/adapters/traces/read-trace.js";
import type { TraceFormat, TraceRead } from "../../../layers/adapters/traces/trace-read.js";
import { ValidationError } from "../../../layers/domain/errors.js";
import { writeTraceFile } from "../../helpers/trace-files.js";

/**
 * Hostile trace files through every reader of layers/adapters/traces: small files of valid rows
 * (written for the test, in each format's layout) with one generated fault — a bad cell, a row
 * of the wrong shape, a broken header. Each read ends in series with no ±Infinity (NaN only
 * where a gap-keeping reader had no sample), known junk counted as skipped, or a ValidationError
 * that names the file, the line and the column. Never another error, never a hang.
 */

interface FormatSpec {
  readonly format: TraceFormat;
  readonly fileName: string;
  readonly delimiter: string;
  /** Header fields; undefined for headerless files (google-2011). */
  readonly header?: readonly string[];
  readonly row: fc.Arbitrary<string[]>;
  /** Index of each validated column and its name as errors quote it. */
  readonly columns: readonly (readonly [index: number, name: string])[];
  /** True when the reader keeps gaps as NaN (sample grids); false for interval-demand readers. */
  readonly keepsGaps: boolean;
}

const decimal = fc
  .double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true })
  .map((v) => String(Math.round(v * 1000) / 1000));
const small = (max: number) => fc.integer({ min: 0, max }).map(String);

const AZURE_HEADER = [
  "series_timestamp_field",
  "aggregation",
  "tenant_id",
  "series_subsubtype",
  "vm_category",
  "resource",
  "sampling_period_s",
  "offset_s",
  "value",
];
const BITBRAINS_HEADER = [
  "VM id",
  "Timestamp [ms]",
  "CPU cores",
  "CPU usage [MHZ]",
  "Memory usage [KB]",
];
const ALIBABA_HEADER = [
  "instance_sn",
  "app_name",
  "cpu_request",
  "creation_time",
  "scheduled_time",
  "deletion_time",
];

const SPECS: readonly FormatSpec[] = [
  {
    format: "azure-tenant",
    fileName: "azure_tenant_demand_5min.csv",
    delimiter: ",",
    header: AZURE_HEADER,
    row: fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom("", "Interactive"), small(60), decimal)
      .map(([tenant, category, step, value]) => [
        "2588400",
        "demand",
        `cust.${tenant}`,
        "az_1",
        category,
        "vcpus",
        "300",
        String(Number(step) * 300),
        value,
      ]),
    columns: [
      [2, "tenant_id"],
      [5, "resource"],
      [6, "sampling_period_s"],
      [7, "offset_s"],
      [8, "value"],
    ],
    keepsGaps: true,
  },
  {
    format: "bitbrains",
    fileName: "rnd_2013-7.csv",
    delimiter: ";\t",
    header: BITBRAINS_HEADER,
    row: fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 60 }), decimal, decimal)
      .map(([vm, k, cpu, memory]) => [
        String(vm),
        String(1_373_977_237 + k * 300),
        "2",
        cpu,
        memory,
      ]),
    columns: [
      [0, "VM id"],
      [1, "Timestamp [ms]"],
      [3, "CPU usage [MHZ]"],
      [4, "Memory usage [KB]"],
    ],
    keepsGaps: true,
  },
  {
    format: "nab",
    fileName: "ec2_cpu_utilization_abc123.csv",
    delimiter: ",",
    header: ["timestamp", "value"],
    row: fc
      .tuple(fc.integer({ min: 0, max: 60 }), decimal)
      .map(([k, value]) => [
        new Date((1_392_388_020 + k * 300) * 1000).toISOString().slice(0, 19).replace("T", " "),
        value,
      ]),
    columns: [
      [0, "timestamp"],
      [1, "value"],
    ],
    keepsGaps: true,
  },
  {
    format: "alibaba-dlrm",
    fileName: "disaggregated_DLRM_trace.csv",
    delimiter: ",",
    header: ALIBABA_HEADER,
    row: fc
      .tuple(
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom("8", "96", "0.5"),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
      )
      .map(([app, cpu, created, lasts]) => [
        `instance_${app}`,
        `app_${app}`,
        cpu,
        created === undefined ? "" : String(created),
        created === undefined ? "" : String(created),
        lasts === undefined ? "" : String((created ?? 0) + lasts),
      ]),
    columns: [
      [1, "app_name"],
      [2, "cpu_request"],
      [3, "creation_time"],
      [4, "scheduled_time"],
      [5, "deletion_time"],
    ],
    keepsGaps: false,
  },
  {
    format: "google-2011",
    fileName: "task_events_part-00000-of-00500.csv",
    delimiter: ",",
    row: fc
      .tuple(
        fc.integer({ min: 0, max: 3_600 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom("0", "1", "1", "4", "5", "8"),
        fc.constantFrom("", "0.0625", "0.5"),
        fc.constantFrom("", "0", "9"),
      )
      .map(([seconds, job, task, event, cpu, priority]) => [
        String(600_000_000 + seconds * 1_000_000),
        "",
        String(job),
        String(task),
        "",
        event,
        `user${job}`,
        "2",
        priority,
        cpu,
        "",
        "",
        "",
      ]),
    columns: [
      [0, "1 (timestamp)"],
      [2, "3 (job ID)"],
      [3, "4 (task index)"],
      [5, "6 (event type)"],
      [6, "7 (user name)"],
      [8, "9 (priority)"],
      [9, "10 (CPU request)"],
    ],
    keepsGaps: false,
  },
];

/** Cell texts a broken export, a locale or an attacker writes where a number or id belongs. */
const hostileCell = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "NaN",
      "nan",
      "inf",
      "-inf",
      "Infinity",
      "1e999",
      "-1e999",
      "1e308",
      "1e300",
      "-1",
      "-0",
      "0",
      "abc",
      "1,5",
      "0x1F",
      "1e-400",
      "99999999999999999999",
      "9223372036854775806",
      "9223372036854775807",
      "  7  ",
      "null",
      "½",
      "٣",
      "2014-02-30 25:61:00",
      "9999-12-31 23:59:59",
      "0000-01-01 00:00:00",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

type Fault =
  | { readonly kind: "none" }
  | { readonly kind: "cell"; readonly row: number; readonly column: number; readonly text: string }
  | { readonly kind: "shape"; readonly row: number; readonly how: "short" | "long" | "quote" }
  | { readonly kind: "header"; readonly column: number; readonly how: "drop" | "rename" };

function fault(spec: FormatSpec, rows: number): fc.Arbitrary<Fault> {
  const row = fc.integer({ min: 0, max: rows - 1 });
  const options: fc.Arbitrary<Fault>[] = [
    fc.constant({ kind: "none" } as const),
    fc.record({
      kind: fc.constant("cell" as const),
      row,
      column: fc.integer({ min: 0, max: spec.columns.length - 1 }),
      text: hostileCell,
    }),
    fc.record({
      kind: fc.constant("cell" as const),
      row,
      column: fc.integer({ min: 0, max: spec.columns.length - 1 }),
      text: hostileCell,
    }),
    fc.record({
      kind: fc.constant("shape" as const),
      row,
      how: fc.constantFrom("short" as const, "long" as const, "quote" as const),
    }),
  ];
  if (spec.header) {
    options.push(
      fc.record({
        kind: fc.constant("header" as const),
        column: fc.integer({ min: 0, max: spec.columns.length - 1 }),
        how: fc.constantFrom("drop" as const, "rename" as const),
      }),
    );
  }
  return fc.oneof(...options);
}

/** CSV quoting for a cell holding a separator, a quote or a line break. */
function quote(cell: string): string {
  return /[,;"\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** The file's text and the line (1-based) the faulty record starts on. */
function render(spec: FormatSpec, rows: string[][], f: Fault): { text: string; line?: number } {
  const header = spec.header ? [...spec.header] : undefined;
  const body = rows.map((r) => [...r]);
  const offset = header ? 2 : 1;
  let line: number | undefined;
  if (f.kind === "cell") {
    const [index] = spec.columns[f.column] ?? [0];
    (body[f.row] as string[])[index] = f.text;
    line = f.row + offset;
  } else if (f.kind === "shape") {
    const r = body[f.row] as string[];
    if (f.how === "short") r.pop();
    else if (f.how === "long") r.push("surplus");
    else r[0] = `"${r[0]}`;
    line = f.row + offset;
  } else if (f.kind === "header" && header) {
    const [index] = spec.columns[f.column] ?? [0];
    if (f.how === "drop") {
      header.splice(index, 1);
      for (const r of body) r.splice(index, 1);
    } else header[index] = `${header[index]}_renamed`;
    line = 1;
  }
  const lines = [...(header ? [header] : []), ...body].map((r) =>
    r
      .map((cell, i) => (f.kind === "shape" && f.how === "quote" && i === 0 ? cell : quote(cell)))
      .join(spec.delimiter),
  );
  return { text: `${lines.join("\n")}\n`, ...(line === undefined ? {} : { line }) };
}

function checkRead(spec: FormatSpec, read: TraceRead): void {
  expect(read.format).toBe(spec.format);
  for (const series of read.series) {
    expect(series.values.length).toBeGreaterThan(0);
    let finite = 0;
    for (let i = 0; i < series.values.length; i++) {
      const v = series.values[i] as number;
      expect(v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY).toBe(false);
      if (Number.isFinite(v)) finite++;
      else expect(spec.keepsGaps).toBe(true);
    }
    // A series runs from its first to its last sample: NaN only in between, never all NaN.
    expect(finite).toBeGreaterThan(0);
    if (spec.keepsGaps) {
      expect(Number.isFinite(series.values[0])).toBe(true);
      expect(Number.isFinite(series.values[series.values.length - 1])).toBe(true);
    }
    expect(Number.isFinite(series.startSeconds)).toBe(true);
  }
  for (const count of Object.values(read.skipped)) expect(count).toBeGreaterThan(0);
}

function checkRefusal(spec: FormatSpec, error: unknown, file: string, f: Fault): void {
  if (!(error instanceof ValidationError)) throw error;
  expect(error.message).toContain(file);
  if (f.kind === "cell") {
    const [, name] = spec.columns[f.column] ?? [0, ""];
    expect(error.message).toContain(`column "${name}"`);
    // The bad row's line; for a time that stretches a series too far, the line of whichever
    // sample (the bad one or a later one) made the span too wide.
    const line = Number(new RegExp(`^${escapeRegExp(file)}:(\\d+):`).exec(error.message)?.[1]);
    expect(line).toBeGreaterThanOrEqual(f.row + (spec.header ? 2 : 1));
  } else if (f.kind === "header") {
    expect(error.message).toContain(`${file}:1:`);
  } else {
    // A record of the wrong shape: the CSV layer names the line (the parser counts the line it
    // noticed the fault on, which for an unclosed quote is the end of the file).
    expect(error.message).toMatch(new RegExp(`${escapeRegExp(file)}:\\d+`));
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("trace files (hostile input)", () => {
  for (const spec of SPECS) {
    it(`${spec.format}: reads finite series, counts junk, or names file, line and column`, async () => {
      const outcomes = { read: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc
            .array(spec.row, { minLength: 1, maxLength: 20 })
            .chain((rows) => fc.tuple(fc.constant(rows), fault(spec, rows.length))),
          async ([rows, f]) => {
            const { text } = render(spec, rows, f);
            const file = writeTraceFile(spec.fileName, text);
            try {
              const read = await readTrace(spec.format, file);
              checkRead(spec, read);
              outcomes.read++;
            } catch (error) {
              checkRefusal(spec, error, file, f);
              // A row that only breaks the file's shape is never silently taken as data.
              outcomes.refused++;
            } finally {
              rmSync(path.dirname(file), { recursive: true, force: true });
            }
          },
        ),
        { numRuns: 200 },
      );
      expect(outcomes.read).toBeGreaterThan(0);
      expect(outcomes.refused).toBeGreaterThan(0);
    });
  }

  /** Reads `rows` with one cell replaced; expects the refusal to name file, line and column. */
  async function expectRefused(spec: FormatSpec, column: RegExp, text: string): Promise<void> {
    // Three copies of one row: one series, so a far timestamp stretches that series.
    const [row] = fc.sample(spec.row, { numRuns: 1, seed: 1 });
    const rows = [0, 1, 2].map(() => [...(row ?? [])]);
    const f: Fault = {
      kind: "cell",
      row: 1,
      column: spec.columns.findIndex(([, name]) => column.test(name)),
      text,
    };
    const file = writeTraceFile(spec.fileName, render(spec, rows, f).text);
    try {
      const error = await readTrace(spec.format, file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${spec.format} accepted ${text}`).toBeInstanceOf(ValidationError);
      checkRefusal(spec, error, file, f);
    } finally {
      rmSync(path.dirname(file), { recursive: true, force: true });
    }
  }

  it("refuses a value that overflows to Infinity or could sum to it, naming file, line and column", async () => {
    for (const spec of SPECS) {
      for (const text of ["1e999", "-1e999", "1e300"]) {
        await expectRefused(spec, /^value$|MHZ|KB|cpu_request|CPU request/, text);
      }
    }
  });

  it("refuses a timestamp years away from the rest instead of allocating a series across the gap", async () => {
    const times: Record<TraceFormat, [RegExp, string]> = {
      "azure-tenant": [/offset_s/, "1e12"],
      bitbrains: [/Timestamp/, "0"],
      nab: [/timestamp/, "9999-12-31 23:59:59"],
      "alibaba-dlrm": [/creation_time/, "1e12"],
      "google-2011": [/timestamp/, "9223372036854775806"],
    };
    for (const spec of SPECS) {
      const [column, text] = times[spec.format];
      await expectRefused(spec, column, text);
    }
  });
});
