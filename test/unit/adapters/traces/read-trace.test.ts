import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readTrace } from "../../../../layers/adapters/traces/read-trace.js";
import { listTraceFiles } from "../../../../layers/adapters/traces/trace-csv.js";
import { ValidationError } from "../../../../layers/domain/errors.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

describe("readTrace", () => {
  it("reads every .csv/.csv.gz of a directory in name order", async () => {
    const read = await readTrace("google-2011", path.join(TRACE_FIXTURES, "google-2011"));

    expect(read.files.map((f) => path.basename(f))).toEqual([
      "task_events_part-00000-of-00500_cut.csv.gz",
      "task_events_part-00001-of-00500_cut.csv.gz",
      "task_events_part-00002-of-00500_cut.csv.gz",
      "task_events_part-00003-of-00500_cut.csv.gz",
    ]);
    expect(read.format).toBe("google-2011");
  });

  it("ignores files that are not traces in a directory", async () => {
    const file = writeTraceFile("a.csv", "timestamp,value\n2014-01-01 00:00:00,1\n");
    writeFileSync(path.join(path.dirname(file), "notes.txt"), "not a trace");

    expect((await listTraceFiles(path.dirname(file))).map((f) => path.basename(f))).toEqual([
      "a.csv",
    ]);
  });

  it("rejects an unknown format, listing the known ones", async () => {
    await expect(readTrace("azure", TRACE_FIXTURES)).rejects.toThrow(
      'Unknown trace format "azure". Expected one of: azure-tenant, bitbrains, nab, alibaba-dlrm, google-2011.',
    );
  });

  it("rejects a path that does not exist", async () => {
    const error = await readTrace("nab", "/no/such/trace.csv").catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^Trace path \/no\/such\/trace\.csv cannot be read/);
  });

  it("rejects a directory without trace files", async () => {
    const dir = path.join(path.dirname(writeTraceFile("x.txt", "")), "empty");
    mkdirSync(dir);

    await expect(readTrace("nab", dir)).rejects.toThrow(/holds no \.csv or \.csv\.gz file/);
  });

  it("rejects a truncated gzip file, naming it", async () => {
    const file = writeTraceFile("t.csv.gz", "timestamp,value\n".repeat(200));
    writeFileSync(file, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]));

    await expect(readTrace("nab", file)).rejects.toThrow(/t\.csv\.gz: cannot read the CSV/);
  });
});
