import path from "node:path";
import { describe, expect, it } from "vitest";
import { readAzureTenant } from "../../../../layers/adapters/traces/azure-tenant-reader.js";
import { ValidationError } from "../../../../layers/domain/errors.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

const dir = path.join(TRACE_FIXTURES, "azure-tenant");
const HEADER =
  "series_timestamp_field,aggregation,availability_zone,series_type,tenant_id,series_subsubtype,vm_category,region,resource,sampling_period_s,series_name,step,offset_s,value";
const row = (category: string, resource: string, step: number, value: string) =>
  `2588400,demand,az-azure-1a,tenant_usage,cust.1_domid,az_1_75,${category},az-azure-1,${resource},300,All,${step},${step * 300},${value}`;

describe("readAzureTenant", () => {
  it("reads one 5-minute series per tenant, subsubtype, category and resource", async () => {
    const read = await readAzureTenant([
      path.join(dir, "history", "azure_tenant_demand_5min.csv.gz"),
    ]);

    expect(read.series.map((s) => s.id)).toEqual([
      "cust.903_domid/az_1_75/Interactive/memory",
      "cust.903_domid/az_1_75/Interactive/vcpus",
    ]);
    const vcpus = read.series[1];
    expect(vcpus?.values.length).toBe(864);
    expect(vcpus?.stepSeconds).toBe(300);
    expect(vcpus?.startSeconds).toBe(0);
    // The first fixture row of the vcpus series: step 0, value 808.0.
    expect(vcpus?.values[0]).toBe(808);
    expect(vcpus?.features).toEqual({
      format: "azure-tenant",
      tenant: "cust.903_domid",
      category: "Interactive",
      resource: "vcpus",
      zone: "az_1_75",
    });
    expect(read.rows).toBe(1728);
  });

  it("places a future file after the history on the same offsets", async () => {
    const future = await readAzureTenant([
      path.join(dir, "future", "azure_tenant_demand_5min.csv.gz"),
    ]);

    expect(future.series[0]?.startSeconds).toBe(864 * 300);
    expect(future.series[0]?.values.length).toBe(288);
  });

  it("names an empty category 'all' and leaves a missing step as NaN", async () => {
    const file = writeTraceFile(
      "t.csv",
      [HEADER, row("", "vcpus", 0, "4.0"), row("", "vcpus", 2, "6.0")].join("\n"),
    );
    const read = await readAzureTenant([file]);

    expect(read.series[0]?.id).toBe("cust.1_domid/az_1_75/all/vcpus");
    expect(Array.from(read.series[0]?.values ?? [])).toEqual([4, Number.NaN, 6]);
  });

  it("rejects a malformed value naming file, line and column", async () => {
    const file = writeTraceFile(
      "bad.csv",
      [HEADER, row("", "vcpus", 0, "4.0"), row("", "vcpus", 1, "n/a")].join("\n"),
    );

    const error = await readAzureTenant([file]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(`${file}:3: column "value" is "n/a"`);
  });

  it("rejects a file whose header lacks the trace's columns", async () => {
    const file = writeTraceFile("other.csv", "timestamp,value\n2014-01-01 00:00:00,1\n");

    await expect(readAzureTenant([file])).rejects.toThrow(/lacks "tenant_id"/);
  });
});
