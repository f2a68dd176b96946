import { z } from "zod";
import { ValidationError } from "../../../domain/errors.js";
import {
  DEFAULT_MAX_DELAY_SECONDS,
  type InitialLoad,
  type ReplayPool,
  type ReplayRequest,
  type ReplayTrace,
  tiersBySize,
} from "../../../domain/replay/replay-trace.js";
import type { Amounts } from "../../../domain/resources.js";
import { ALIBABA_DLRM_MAX_TIME_SECONDS } from "../alibaba-dlrm-reader.js";
import {
  columnIndexes,
  listTraceFiles,
  numberText,
  optionalNumberText,
  parseRow,
  readCsvRecords,
} from "../trace-csv.js";

/**
 * The alibaba-dlrm mapping of `shaper replay` (issue 4, fixed): each instance's creation is a
 * request of its app (the tenant) for the instance's vCPU, memory and GPUs, lasting until its
 * deletion or the trace end; instances with no creation time were running at the start and are
 * initial load, not requests. Role `HN` (GPU node instance) → pool `gpu`, `CN` → pool `cpu`.
 * Tiers by app size (instances in the files read): top 10 % premium, next 40 % standard, the rest
 * free. Premium → critical, others normal.
 *
 * The trace gives seconds from its start; the replay places the start at
 * `ALIBABA_DLRM_REPLAY_START` (a Monday, 00:00 UTC) so calendar features see whole days.
 */

/** Epoch seconds the trace's time 0 is placed at: 2025-01-06T00:00:00Z, a Monday. */
export const ALIBABA_DLRM_REPLAY_START = 1_736_121_600;

/**
 * The simulated cluster. A task is one node of the kind the trace's instances run on, priced
 * after the nearest AWS instance: `cpu` like an r7i.48xlarge (192 vCPU, 1,536 GiB, $12.70/h
 * on-demand us-east-1), `gpu` like a g6e.48xlarge (192 vCPU, 1,536 GiB, 8 GPUs, $30.13/h).
 */
export const ALIBABA_DLRM_POOLS: Readonly<Record<string, ReplayPool>> = {
  cpu: {
    perTask: { vcpu: 192, memoryGiB: 1_536 },
    provisioningLagSeconds: 300,
    costPerTaskHour: 12.7,
    minTasks: 0,
    maxTasks: 4_000,
    alternatives: [],
  },
  gpu: {
    perTask: { vcpu: 192, memoryGiB: 1_536, gpu: 8 },
    provisioningLagSeconds: 600,
    costPerTaskHour: 30.13,
    minTasks: 0,
    maxTasks: 2_000,
    alternatives: [],
  },
};

const COLUMNS = {
  instance: "instance_sn",
  role: "role",
  app: "app_name",
  cpu: "cpu_request",
  gpu: "gpu_request",
  memory: "memory_request",
  creation: "creation_time",
  deletion: "deletion_time",
} as const;

const time = optionalNumberText.pipe(
  z
    .number()
    .min(0, { error: "expected seconds ≥ 0 from the trace start" })
    .max(ALIBABA_DLRM_MAX_TIME_SECONDS, {
      error: `expected seconds from the trace start, at most ${ALIBABA_DLRM_MAX_TIME_SECONDS} (10 years)`,
    })
    .optional(),
);
const amount = numberText.pipe(z.number().min(0, { error: "expected an amount ≥ 0" }));
const id = z.string().regex(/^[A-Za-z0-9._:@=+\-/]{1,100}$/, {
  error: "expected an id of letters, digits and . _ : @ = + - / (at most 100)",
});

const RowSchema = z
  .object({
    instance: id,
    role: z.enum(["CN", "HN"], { error: "expected CN or HN" }),
    app: id,
    cpu: amount,
    gpu: amount,
    memory: amount,
    creation: time,
    deletion: time,
  })
  .refine(
    (row) =>
      row.creation === undefined || row.deletion === undefined || row.deletion >= row.creation,
    { error: "is before creation_time", path: ["deletion"] },
  );
type Row = z.infer<typeof RowSchema>;

/**
 * Reads the DLRM instance table (a file or a folder of `.csv`/`.csv.gz`) as a replay trace.
 *
 * @param path file or directory
 * @returns the trace, requests sorted by arrival
 * @throws ValidationError naming file, line and column for a malformed row; when nothing in the
 *   files is a request
 */
export async function readAlibabaDlrmReplay(path: string): Promise<ReplayTrace> {
  const files = await listTraceFiles(path);
  const rows: Row[] = [];
  let traceEnd = 0;
  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    await readCsvRecords(file, ({ fields, line }) => {
      if (!index) {
        index = columnIndexes(file, fields, COLUMNS, "alibaba-dlrm");
        return;
      }
      const columns = index;
      const row = parseRow(
        RowSchema,
        Object.fromEntries(
          Object.entries(columns).map(([key, at]) => [key, fields[at as number]]),
        ) as Record<keyof typeof COLUMNS, string | undefined>,
        { file, line },
        COLUMNS,
      );
      rows.push(row);
      for (const t of [row.creation, row.deletion])
        if (t !== undefined && t > traceEnd) traceEnd = t;
    });
    if (!index) {
      throw new ValidationError(`${file} is empty; expected an alibaba-dlrm CSV with a header.`);
    }
  }
  // The instant after the last one any row names: an instance deleted at the last time still ran.
  const end = ALIBABA_DLRM_REPLAY_START + Math.floor(traceEnd) + 1;
  const sizes = new Map<string, number>();
  for (const row of rows) sizes.set(row.app, (sizes.get(row.app) ?? 0) + 1);
  const tiers = tiersBySize(sizes);
  const requests: ReplayRequest[] = [];
  const initialLoad: InitialLoad[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.instance)) {
      throw new ValidationError(
        `Instance ${row.instance} appears twice in ${path}; each instance_sn must be unique.`,
      );
    }
    seen.add(row.instance);
    const tier = tiers.get(row.app) as string;
    const pool = row.role === "HN" ? "gpu" : "cpu";
    const amounts: Amounts = { vcpu: row.cpu, memoryGiB: row.memory };
    if (row.gpu > 0) amounts.gpu = row.gpu;
    if (!(row.cpu > 0 || row.memory > 0 || row.gpu > 0)) continue;
    const endAt =
      row.deletion === undefined ? end : Math.min(end, ALIBABA_DLRM_REPLAY_START + row.deletion);
    if (row.creation === undefined) {
      initialLoad.push({ id: row.instance, userId: row.app, tier, pool, amounts, endAt });
      continue;
    }
    const arrival = ALIBABA_DLRM_REPLAY_START + row.creation;
    const critical = tier === "premium";
    requests.push({
      requestId: row.instance,
      userId: row.app,
      tier,
      pool,
      amounts,
      arrival,
      durationSeconds: Math.max(1, Math.round(endAt - arrival)),
      criticality: critical ? "critical" : "normal",
      maxDelaySeconds: DEFAULT_MAX_DELAY_SECONDS[critical ? "critical" : "normal"],
      acceptAlternatives: !critical,
    });
  }
  if (requests.length === 0) {
    throw new ValidationError(
      `No instance in ${path} has a creation_time, so there is nothing to replay; expected the DLRM instance table.`,
    );
  }
  requests.sort((a, b) => a.arrival - b.arrival || (a.requestId < b.requestId ? -1 : 1));
  const users = [...tiers.entries()]
    .map(([userId, tier]) => ({ userId, tier }))
    .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  const count = (t: string) => users.filter((u) => u.tier === t).length;
  return {
    format: "alibaba-dlrm",
    start: ALIBABA_DLRM_REPLAY_START,
    end,
    pools: ALIBABA_DLRM_POOLS,
    users,
    requests,
    initialLoad,
    mapping: [
      "request     an instance's creation: its vcpu, memory and GPUs, held until deletion (or the trace end)",
      "initial     instances with no creation time: running at the start, not requests",
      "tenant      app_name",
      `tiers       by instances per app: top 10 % premium (${count("premium")}), next 40 % standard (${count("standard")}), rest free (${count("free")})`,
      "criticality premium → critical (waits 0 s, no alternatives); others normal (waits ≤ 600 s, take alternatives)",
      "pools       role HN → gpu (task = 192 vCPU, 1,536 GiB, 8 GPUs, $30.13/h, ready after 600 s); CN → cpu (task = 192 vCPU, 1,536 GiB, $12.70/h, ready after 300 s)",
      `time        trace second 0 placed at ${new Date(ALIBABA_DLRM_REPLAY_START * 1000).toISOString()}`,
    ],
  };
}
