import path from "node:path";
import { describe, expect, it } from "vitest";
import { readBitbrains } from "../../../../layers/adapters/traces/bitbrains-reader.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

const fixture = path.join(TRACE_FIXTURES, "bitbrains", "rnd_2013-7_vm1-2_cut.csv.gz");
const HEADER =
  "VM id;\tTimestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]";
const row = (vm: number, seconds: number, cpu: number, memory: number) =>
  `${vm};\t${seconds};\t2;\t5851.9989;\t${cpu};\t1.5;\t8218624.0;\t${memory};\t0.0;\t0.0;\t0.0;\t0.0`;

describe("readBitbrains", () => {
  it("splits the ';<TAB>' columns into a CPU and a memory series per VM", async () => {
    const read = await readBitbrains([fixture]);

    expect(read.series.map((s) => s.id)).toEqual([
      "vm1/cpu-mhz",
      "vm1/memory-kb",
      "vm2/cpu-mhz",
      "vm2/memory-kb",
    ]);
    // First VM 1 row of the fixture: 1373977237 s, CPU 1076.7677976 MHz, memory 1045777.6 KB.
    expect(read.series[0]?.values[0]).toBe(1076.7677976);
    expect(read.series[1]?.values[0]).toBe(1045777.6);
    expect(read.series[0]?.features).toMatchObject({ vm: "vm1", resource: "cpu" });
  });

  it("reads 'Timestamp [ms]' as Unix seconds on the 300-s grid", async () => {
    const read = await readBitbrains([fixture]);
    const cpu = read.series[0];

    expect(cpu?.startSeconds).toBe(Math.floor(1373977237 / 300) * 300);
    expect(new Date((cpu?.startSeconds ?? 0) * 1000).toISOString().slice(0, 7)).toBe("2013-07");
  });

  it("keeps gaps as NaN instead of gluing the samples together", async () => {
    const cpu = (await readBitbrains([fixture])).series[0];
    const values = Array.from(cpu?.values ?? []);

    // VM 1's fixture rows fall in slots 0–9, 377–387, 1692–1701 and 1703–1713 (the 600-s gap).
    expect(values).toHaveLength(1714);
    expect(values.filter(Number.isFinite)).toHaveLength(42);
    expect(values[9]).not.toBeNaN();
    expect(values[10]).toBeNaN();
    expect(values[376]).toBeNaN();
    expect(values[377]).not.toBeNaN();
    expect(values[1701]).not.toBeNaN();
    expect(values[1702]).toBeNaN();
    expect(values[1703]).not.toBeNaN();
  });

  it("averages two samples that fall in one slot", async () => {
    const file = writeTraceFile(
      "m.csv",
      [
        HEADER,
        row(3, 1_000_200, 10, 100),
        row(3, 1_000_320, 30, 300),
        row(3, 1_000_500, 50, 500),
      ].join("\n"),
    );
    const read = await readBitbrains([file]);

    expect(Array.from(read.series[0]?.values ?? [])).toEqual([20, 50]);
    expect(Array.from(read.series[1]?.values ?? [])).toEqual([200, 500]);
  });

  it("joins month files of one VM into one series", async () => {
    const july = writeTraceFile("7.csv", [HEADER, row(4, 3_000, 1, 1)].join("\n"));
    const august = writeTraceFile("8.csv", [HEADER, row(4, 3_900, 2, 2)].join("\n"));
    const read = await readBitbrains([july, august]);

    expect(read.series[0]?.id).toBe("vm4/cpu-mhz");
    expect(Array.from(read.series[0]?.values ?? [])).toEqual([1, Number.NaN, Number.NaN, 2]);
  });

  it("rejects a timestamp in milliseconds, naming the column", async () => {
    const file = writeTraceFile("ms.csv", [HEADER, row(1, 1_372_629_804_000, 1, 1)].join("\n"));

    await expect(readBitbrains([file])).rejects.toThrow(/:2: column "Timestamp \[ms\]"/);
  });
});
