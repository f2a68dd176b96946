import path from "node:path";
import { describe, expect, it } from "vitest";
import { readNab } from "../../../../layers/adapters/traces/nab-reader.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

const dir = path.join(TRACE_FIXTURES, "nab");
const utc = (text: string) => Date.parse(`${text.replace(" ", "T")}Z`) / 1000;

describe("readNab", () => {
  it("names each series after its file and reads the timestamps as UTC", async () => {
    const read = await readNab([path.join(dir, "ec2_cpu_utilization_825cc2.csv")]);
    const s = read.series[0];

    expect(s?.id).toBe("ec2_cpu_utilization_825cc2");
    expect(s?.features).toEqual({ format: "nab", metric: "ec2_cpu_utilization" });
    expect(s?.startSeconds).toBe(Math.floor(utc("2014-04-10 02:44:00") / 300) * 300);
    expect(s?.values[0]).toBe(92.042);
  });

  it("leaves the missing 5 minutes as NaN", async () => {
    const values = Array.from(
      (await readNab([path.join(dir, "ec2_cpu_utilization_825cc2.csv")])).series[0]?.values ?? [],
    );

    // 12 rows from 02:44 to 03:44 with 03:14 missing: 13 slots, slot 6 (03:10–03:15) empty.
    expect(values).toHaveLength(13);
    expect(values[5]).toBe(95.584);
    expect(values[6]).toBeNaN();
    expect(values[7]).toBe(90.62);
  });

  it("averages the samples sharing a slot and keeps the hour before them missing", async () => {
    const values = Array.from(
      (await readNab([path.join(dir, "ec2_network_in_5abac7.csv")])).series[0]?.values ?? [],
    );
    const at0300 = [42, 103.2, 42, 60, 42, 111.6, 68.4, 42, 112.8, 42, 68.4, 60, 86.4];

    // 01:45, 01:50, 01:55, twelve empty slots, 03:00 (13 samples), 03:05, 03:10, 03:15.
    expect(values).toHaveLength(19);
    expect(values.slice(3, 15).every(Number.isNaN)).toBe(true);
    expect(values[15]).toBeCloseTo(at0300.reduce((a, b) => a + b, 0) / at0300.length, 10);
    expect(values[16]).toBe(68.4);
  });

  it("joins a file and its continuation of the same name", async () => {
    const first = writeTraceFile("cpu_x.csv", "timestamp,value\n2014-01-01 00:00:00,1\n");
    const next = writeTraceFile("cpu_x.csv", "timestamp,value\n2014-01-01 00:10:00,3\n");
    const read = await readNab([first, next]);

    expect(read.series).toHaveLength(1);
    expect(Array.from(read.series[0]?.values ?? [])).toEqual([1, Number.NaN, 3]);
  });

  it("rejects a timestamp that is not YYYY-MM-DD HH:MM:SS", async () => {
    const file = writeTraceFile(
      "bad.csv",
      "timestamp,value\n2014-01-01 00:00:00,1\n01/02/2014 00:05,2\n",
    );

    await expect(readNab([file])).rejects.toThrow(/bad\.csv:3: column "timestamp"/);
  });
});
