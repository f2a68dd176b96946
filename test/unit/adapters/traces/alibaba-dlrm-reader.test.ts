import path from "node:path";
import { describe, expect, it } from "vitest";
import { readAlibabaDlrm } from "../../../../layers/adapters/traces/alibaba-dlrm-reader.js";
import { TRACE_FIXTURES, writeTraceFile } from "../../../helpers/trace-files.js";

const fixture = path.join(TRACE_FIXTURES, "alibaba-dlrm", "disaggregated_DLRM_trace_cut.csv");
const HEADER =
  "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time";
const row = (app: string, cpu: number, creation: string, deletion: string) =>
  `i,CN,${app},${cpu},${cpu},0,0,1,1,8.0,8.0,10.0,10.0,-1,${creation},${creation},${deletion}`;

describe("readAlibabaDlrm", () => {
  it("sums the vCPU requests of the live instances at each 5-minute instant", async () => {
    const read = await readAlibabaDlrm([fixture]);
    const app121 = read.series.find((s) => s.id === "app_121");

    // app_121: four instances with neither creation nor deletion time (64 + 64 + 8 + 8 vCPU,
    // running all along) and instance_9305 (8 vCPU) live for 526,966 ≤ t < 541,864 s.
    expect(app121?.values[0]).toBe(144);
    expect(app121?.values[1756]).toBe(144); // t = 526,800 s: not yet created
    expect(app121?.values[1757]).toBe(152); // t = 527,100 s
    expect(app121?.values[1806]).toBe(152); // t = 541,800 s
    expect(app121?.values[1807]).toBe(144); // t = 542,100 s: deleted at 541,864 s
  });

  it("counts instances without deletion time to the trace end", async () => {
    const app10 = (await readAlibabaDlrm([fixture])).series.find((s) => s.id === "app_10");

    // The grid ends at the latest time in the file (2,669,250 s → instant 8,897 at 2,669,100 s).
    expect(app10?.values.length).toBe(8898);
    expect(app10?.values[8839]).toBe(96); // t = 2,651,700 s: only instance_494 (no times)
    // t = 2,652,000 s: instance_494 (96) + 23761 (8) + 23762 (96) + 23763 (96) + 23764 (8) + 23765 (8)
    expect(app10?.values[8840]).toBe(312);
    // t = 2,669,100 s: 494 (96) + 23761, 23764 (no deletion; 8 each) + 23765 (deleted at
    // 2,669,250; 8) + 23784, 23804 (no deletion; 96 each) + 23839 (created 2,668,977; 8)
    expect(app10?.values[8897]).toBe(320);
  });

  it("puts every application on the same grid from the trace start", async () => {
    const read = await readAlibabaDlrm([fixture]);

    expect(read.series.map((s) => s.startSeconds)).toEqual([0, 0]);
    expect(new Set(read.series.map((s) => s.values.length)).size).toBe(1);
    expect(read.series[0]?.features).toEqual({
      format: "alibaba-dlrm",
      app: "app_10",
      resource: "vcpu",
    });
    expect(read.assumed["running at trace start (no creation_time)"]).toBe(5);
  });

  it("reads an instance created and deleted between two instants as never live", async () => {
    const file = writeTraceFile(
      "d.csv",
      [HEADER, row("a", 4, "", ""), row("a", 2, "310", "590"), row("a", 1, "600", "900")].join(
        "\n",
      ),
    );
    const values = Array.from((await readAlibabaDlrm([file])).series[0]?.values ?? []);

    // Instants 0, 300, 600, 900: the 2-vCPU instance lives 310–590 s, between two instants.
    expect(values).toEqual([4, 4, 5, 4]);
  });

  it("rejects an instance deleted before it was created", async () => {
    const file = writeTraceFile("bad.csv", [HEADER, row("a", 4, "900", "300")].join("\n"));

    await expect(readAlibabaDlrm([file])).rejects.toThrow(/bad\.csv:2: column "deletion_time"/);
  });
});
