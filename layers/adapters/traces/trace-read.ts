import type { SeriesInput } from "../../domain/forecasting/methods/method.js";

/** The trace layouts the readers understand (see docs/backtest.md for each series definition). */
export const TRACE_FORMATS = [
  "azure-tenant",
  "bitbrains",
  "nab",
  "alibaba-dlrm",
  "google-2011",
] as const;

export type TraceFormat = (typeof TRACE_FORMATS)[number];

/** What a trace reader returns: regular series plus an account of what it read. */
export interface TraceRead {
  readonly format: TraceFormat;
  /** Step of every series, seconds (300, or 60 for google-2011). */
  readonly stepSeconds: number;
  /** Regular series sorted by id; NaN where the trace has no sample. */
  readonly series: SeriesInput[];
  /** Files read, in order. */
  readonly files: readonly string[];
  /** Data records read (header rows not counted). */
  readonly rows: number;
  /** Records deliberately left out, by reason (known junk of the format); empty when none. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Assumptions the reader had to make, by kind, with counts (e.g. tasks assumed running). */
  readonly assumed: Readonly<Record<string, number>>;
}

/** Adds one to `counts[key]`. */
export function countInto(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
