import { z } from "zod";
import type { Criticality } from "../../../domain/config.js";
import { ValidationError } from "../../../domain/errors.js";
import type { ReplayRequest, ReplayTrace } from "../../../domain/replay/replay-trace.js";
import type { Amounts } from "../../../domain/resources.js";
import {
  columnIndexes,
  listTraceFiles,
  numberText,
  optionalNumberText,
  parseRow,
  readCsvRecords,
} from "../trace-csv.js";
import {
  buildPools,
  compareRequests,
  formatCount,
  formatTally,
  hasPositiveAmount,
  type PoolSpec,
  patienceOf,
  peakHeld,
  safeId,
  tallyInto,
  UniqueIds,
} from "./replay-build.js";

/**
 * The `alibaba-gpu` replay mapping: Alibaba's 2023 GPU cluster pod list (`openb_pod_list_*.csv`,
 * Weng et al., USENIX ATC 2023) as requests.
 *
 * - Request: each pod, arriving at its `creation_time` and held until its `deletion_time` (the
 *   trace end when empty), whether or not it was ever scheduled (a pod never scheduled waited
 *   for capacity it never got: exactly what shaping is for). Its id is the pod `name`.
 * - Amounts: `cpu_milli` / 1000 vCPU, `memory_mib` / 1024 GiB, and GPUs: `num_gpu`, except
 *   that a pod asking for one GPU asks for `gpu_milli` / 1000 of it (a shared GPU).
 * - Tenant: the pod list has no user, so the tenant is the QoS class (`LS`, `Guaranteed`,
 *   `Burstable`, `BE`). LS and Guaranteed → premium and critical; Burstable → standard and
 *   normal; BE → free and deferrable.
 * - Pools: `gpu` for pods asking for a GPU, `cpu` for the rest; a `cpu` request may be offered
 *   the `gpu` pool (its nodes have CPUs; the cluster runs CPU pods on GPU nodes too), not the
 *   reverse. A task is one node of the cluster: the most common GPU node and the most common
 *   CPU-only node of `openb_node_list_all_node.csv` (1,523 nodes): 96 vCPU, 384 GiB, 8 GPUs
 *   (549 nodes, model G2), priced after a g4dn.metal (96 vCPU, 384 GiB, 8 T4: the same shape);
 *   32 vCPU, 256 GiB (129 nodes), priced after an r5.8xlarge (the same shape).
 * - Times: seconds from the trace's time 0, which is placed at `ALIBABA_GPU_ORIGIN_SECONDS` (the
 *   trace gives no date). The replay starts at the earliest `creation_time` read and ends at the
 *   latest time any pod names (a deletion, or the second after the last creation).
 *
 * A node list (a file whose header has `sn` and no `name`) in the directory read is skipped: the
 * pool sizes are constants, checked against that file by the tests. Pods asking for nothing are
 * skipped and counted. Any other malformed row is an error naming file, line and column.
 */

/**
 * Epoch seconds the trace's time 0 is placed at: 2025-01-06T00:00:00Z, a Monday 00:00 UTC as for
 * alibaba-dlrm's replay, so calendar features see whole days (the trace has no absolute time).
 */
export const ALIBABA_GPU_ORIGIN_SECONDS = 1_736_121_600;
/** Latest time a row may name, seconds from time 0 (10 years; the trace spans 149 days). */
const MAX_TIME_SECONDS = 10 * 365 * 86_400;

const QOS_CLASSES = ["LS", "Guaranteed", "Burstable", "BE"] as const;
type QosClass = (typeof QOS_CLASSES)[number];

/** Tier and criticality of each QoS class, as issue 4 fixes them. */
export const ALIBABA_GPU_QOS_MAPPING: Readonly<
  Record<QosClass, { readonly tier: string; readonly criticality: Criticality }>
> = {
  LS: { tier: "premium", criticality: "critical" },
  Guaranteed: { tier: "premium", criticality: "critical" },
  Burstable: { tier: "standard", criticality: "normal" },
  BE: { tier: "free", criticality: "deferrable" },
};

/** The pools' task sizes and prices (see the module comment). */
export const ALIBABA_GPU_POOLS: Readonly<Record<"gpu" | "cpu", PoolSpec>> = {
  gpu: {
    perTask: { vcpu: 96, memoryGiB: 384, gpu: 8 },
    provisioningLagSeconds: 600,
    costPerTaskHour: 7.824,
    pricedAfter: "a g4dn.metal (96 vCPU, 384 GiB, 8 T4 GPUs; AWS us-east-1 on-demand Linux)",
    sizedAfter: "the cluster's most common GPU node, 549 of 1,523",
    alternatives: [],
  },
  cpu: {
    perTask: { vcpu: 32, memoryGiB: 256 },
    provisioningLagSeconds: 300,
    costPerTaskHour: 2.016,
    pricedAfter: "an r5.8xlarge (32 vCPU, 256 GiB; AWS us-east-1 on-demand Linux)",
    sizedAfter: "the cluster's most common CPU-only node, 129 of 1,523",
    alternatives: ["gpu"],
  },
};

const COLUMNS = {
  name: "name",
  cpuMilli: "cpu_milli",
  memoryMib: "memory_mib",
  numGpu: "num_gpu",
  gpuMilli: "gpu_milli",
  qos: "qos",
  creation: "creation_time",
  deletion: "deletion_time",
  scheduled: "scheduled_time",
} as const;

const seconds = z
  .number()
  .min(0, { error: "expected seconds ≥ 0 from the trace start" })
  .max(MAX_TIME_SECONDS, { error: "expected seconds from the trace start, at most 10 years" });

const RowSchema = z
  .object({
    name: z.string().min(1, { error: "expected a pod name" }),
    cpuMilli: numberText.pipe(z.number().min(0, { error: "expected milli-cores ≥ 0" })),
    memoryMib: numberText.pipe(z.number().min(0, { error: "expected MiB ≥ 0" })),
    numGpu: numberText.pipe(z.number().int().min(0, { error: "expected a GPU count ≥ 0" })),
    gpuMilli: numberText.pipe(
      z
        .number()
        .min(0, { error: "expected a GPU share 0–1000" })
        .max(1000, { error: "expected a GPU share 0–1000" }),
    ),
    qos: z.enum(QOS_CLASSES, { error: `expected one of ${QOS_CLASSES.join(", ")}` }),
    creation: numberText.pipe(seconds),
    deletion: optionalNumberText.pipe(seconds.optional()),
    scheduled: optionalNumberText.pipe(seconds.optional()),
  })
  .refine((row) => row.deletion === undefined || row.deletion >= row.creation, {
    error: "is before creation_time",
    path: ["deletion"],
  });
type Row = z.output<typeof RowSchema>;

function amountsOf(row: Row): Amounts {
  const gpu = row.numGpu === 1 ? row.gpuMilli / 1000 : row.numGpu;
  return {
    vcpu: row.cpuMilli / 1000,
    memoryGiB: row.memoryMib / 1024,
    ...(gpu > 0 ? { gpu } : {}),
  };
}

/**
 * Reads an Alibaba GPU 2023 pod list into a replay trace (see the module comment).
 *
 * @param path a pod list (`.csv` or `.csv.gz`) or a directory of them (a node list there is
 *   skipped)
 * @returns the pods as requests sorted by (arrival, requestId), no initial load, pools `gpu`
 *   and `cpu`
 * @throws ValidationError naming file, line and column for a malformed row; when no pod is read
 * @example
 * const trace = await readAlibabaGpuReplay("../shared/data/alibaba-gpu-2023-pods");
 * trace.users.map((u) => u.userId); // ["BE", "Burstable", "Guaranteed", "LS"]
 */
export async function readAlibabaGpuReplay(path: string): Promise<ReplayTrace> {
  const files = await listTraceFiles(path);
  const pods: { readonly row: Row; readonly id: string }[] = [];
  const ids = new UniqueIds();
  const skipped = new Map<string, number>();
  const nodeLists: string[] = [];
  let firstSeconds = Number.POSITIVE_INFINITY;
  let lastSeconds = Number.NEGATIVE_INFINITY;
  let neverScheduled = 0;

  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    let nodeList = false;
    let empty = true;
    await readCsvRecords(file, ({ fields, line }) => {
      empty = false;
      if (nodeList) return;
      if (!index) {
        const header = fields.map((f) => f.trim());
        if (header.includes("sn") && !header.includes("name")) {
          nodeList = true;
          nodeLists.push(file);
          return;
        }
        index = columnIndexes(file, fields, COLUMNS, "alibaba-gpu pod list");
        return;
      }
      const row = parseRow(
        RowSchema,
        {
          name: fields[index.name],
          cpuMilli: fields[index.cpuMilli],
          memoryMib: fields[index.memoryMib],
          numGpu: fields[index.numGpu],
          gpuMilli: fields[index.gpuMilli],
          qos: fields[index.qos],
          creation: fields[index.creation],
          deletion: fields[index.deletion],
          scheduled: fields[index.scheduled],
        },
        { file, line },
        COLUMNS,
      );
      if (!hasPositiveAmount(amountsOf(row))) {
        tallyInto(skipped, "pods asking for nothing");
        return;
      }
      if (row.scheduled === undefined) neverScheduled++;
      if (row.creation < firstSeconds) firstSeconds = row.creation;
      const latest = Math.max(row.creation + 1, row.deletion ?? 0, row.scheduled ?? 0);
      if (latest > lastSeconds) lastSeconds = latest;
      pods.push({ row, id: ids.next(safeId(row.name)) });
    });
    if (empty) {
      throw new ValidationError(
        `${file} is empty; expected an alibaba-gpu pod list with a header.`,
        [{ field: "file", message: "empty" }],
      );
    }
  }
  if (pods.length === 0) {
    throw new ValidationError(
      `${path} holds no pod; expected an Alibaba GPU 2023 pod list (openb_pod_list_*.csv).`,
      [{ field: "path", message: "no pods" }],
    );
  }

  const start = ALIBABA_GPU_ORIGIN_SECONDS + Math.floor(firstSeconds);
  const end = ALIBABA_GPU_ORIGIN_SECONDS + Math.ceil(lastSeconds);
  const requests: ReplayRequest[] = pods.map(({ row, id }) => {
    const { tier, criticality } = ALIBABA_GPU_QOS_MAPPING[row.qos];
    const amounts = amountsOf(row);
    const arrival = ALIBABA_GPU_ORIGIN_SECONDS + Math.floor(row.creation);
    const until =
      row.deletion === undefined ? end : ALIBABA_GPU_ORIGIN_SECONDS + Math.ceil(row.deletion);
    return {
      requestId: id,
      userId: row.qos,
      tier,
      pool: amounts.gpu === undefined ? "cpu" : "gpu",
      amounts,
      arrival,
      durationSeconds: Math.max(1, Math.min(until, end) - arrival),
      criticality,
      ...patienceOf(criticality),
    };
  });
  requests.sort(compareRequests);

  const perUser = new Map<string, number>();
  const perPool = new Map<string, number>();
  for (const r of requests) {
    tallyInto(perUser, r.userId);
    tallyInto(perPool, r.pool);
  }
  const users = [...perUser.keys()]
    .sort()
    .map((userId) => ({ userId, tier: ALIBABA_GPU_QOS_MAPPING[userId as QosClass].tier }));
  const { pools, mapping: poolLines } = buildPools(
    ALIBABA_GPU_POOLS,
    peakHeld(requests, [], start),
  );
  const mapping = [
    `alibaba-gpu: ${files.length - nodeLists.length} pod list(s); the trace's time 0 is placed at ${new Date(ALIBABA_GPU_ORIGIN_SECONDS * 1000).toISOString()} (a Monday; the trace has no date); the replay runs from the first creation_time (${new Date(start * 1000).toISOString()}) to the latest time a pod names (${new Date(end * 1000).toISOString()}), ${formatCount(Math.round((end - start) / 86_400))} days.`,
    `request: each pod from creation_time to deletion_time (the trace end when empty), scheduled or not: ${formatCount(requests.length)} requests, ${formatCount(neverScheduled)} never scheduled; no initial load.`,
    "size: cpu_milli / 1000 vCPU, memory_mib / 1024 GiB, num_gpu GPUs (gpu_milli / 1000 of one GPU when num_gpu is 1).",
    `tenant: the QoS class (the trace has no user): ${formatTally(perUser)}.`,
    "tier and criticality by QoS: LS and Guaranteed premium and critical (wait 0 s, take no alternative); Burstable standard and normal (wait up to 600 s); BE free and deferrable (up to 3,600 s).",
    `pools: gpu for pods asking for a GPU, cpu for the rest (${formatTally(perPool)}).`,
    ...poolLines,
  ];
  if (nodeLists.length > 0) {
    mapping.push(
      `node list skipped (${nodeLists.length} file): the task sizes above are its most common node shapes.`,
    );
  }
  if (skipped.size > 0) mapping.push(`skipped: ${formatTally(skipped)}.`);
  return {
    format: "alibaba-gpu",
    start,
    end,
    pools,
    users,
    requests,
    initialLoad: [],
    mapping,
  };
}
