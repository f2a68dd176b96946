import { z } from "zod";
import { ValidationError } from "../../../domain/errors.js";
import {
  type ReplayRequest,
  type ReplayTrace,
  tiersBySize,
} from "../../../domain/replay/replay-trace.js";
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
  type PoolSpec,
  patienceOf,
  peakHeld,
  safeId,
  tallyInto,
} from "./replay-build.js";

/**
 * The `alibaba-genai` replay mapping: Alibaba's 2026 GenAI LoRA request trace
 * (`lora_request_trace.csv`, Lin et al., EuroSys 2026), text-to-image requests of a
 * Stable-Diffusion service, as requests.
 *
 * - Request: each row, arriving at `gmt_create` and lasting `exec_time_seconds` (at least 1 s),
 *   for its group (`groupId`, the tenant). Its id is `<groupId>:<n>`, the group's n-th request in
 *   the files read.
 * - Size: the work of a request is `num_images_per_prompt` × `num_inference_steps` image-steps.
 *   One GPU serves a batch of 240 (8 images × 30 steps, the largest common request); a request
 *   takes that share of one GPU, rounded up to eighths and at most one GPU (a pipeline runs on
 *   one GPU; a bigger batch takes longer, which `exec_time_seconds` already shows): 1 × 30 →
 *   1/8, 2 × 30 → 1/4, 4 × 30 → 1/2, 8 × 30 → 1. It holds the same share of a task's vCPU and
 *   memory (the share × 8 vCPU and × 32 GiB).
 * - Tiers by group volume (requests in the files read), as for alibaba-dlrm (`tiersBySize`): top
 *   10 % of groups premium, next 40 % standard, rest free. Premium → critical, others normal.
 * - Pool: one `gpu` pool; a task is a g5.2xlarge (8 vCPU, 32 GiB, 1 A10G GPU: a GPU with the
 *   memory an SDXL pipeline and its LoRAs need).
 * - Times: `gmt_create` (shifted by the trace's anonymising offset) read as UTC. The replay
 *   starts at the first request and ends when the last one finishes.
 *
 * Skipped and counted: rows without images or steps (the trace's PENDING requests, which never
 * ran), rows with zero images or steps. Any other malformed row is an error naming file, line
 * and column.
 */

/** Image-steps one GPU serves at once (8 images × 30 steps). */
const IMAGE_STEPS_PER_GPU = 240;
/** GPU shares are whole eighths. */
const GPU_SHARE_STEPS = 8;

const POOL: PoolSpec = {
  perTask: { vcpu: 8, memoryGiB: 32, gpu: 1 },
  provisioningLagSeconds: 600,
  costPerTaskHour: 1.212,
  pricedAfter: "a g5.2xlarge (8 vCPU, 32 GiB, 1 A10G GPU; AWS us-east-1 on-demand Linux)",
  sizedAfter: "one GPU with its share of host; the trace gives no node sizes",
  alternatives: [],
};

const COLUMNS = {
  created: "gmt_create",
  status: "predict_status",
  execSeconds: "exec_time_seconds",
  group: "groupId",
  images: "num_images_per_prompt",
  steps: "num_inference_steps",
} as const;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `2024-11-15 16:57:50` read as UTC, in epoch seconds; undefined when not a real instant. */
function epochSecondsOf(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March: a date that does not read back is not real.
  if (
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMonth() !== month - 1
  ) {
    return undefined;
  }
  return ms / 1000;
}

const RowSchema = z.object({
  created: z
    .string()
    .transform((text) => epochSecondsOf(text.trim()))
    .pipe(z.number({ error: "expected a time YYYY-MM-DD HH:MM:SS" })),
  status: z.string(),
  execSeconds: numberText.pipe(
    z
      .number()
      .min(0, { error: "expected seconds ≥ 0" })
      .max(86_400, { error: "expected seconds, at most a day" }),
  ),
  group: z.string().min(1, { error: "expected a group id" }),
  images: optionalNumberText.pipe(z.number().min(0, { error: "expected images ≥ 0" }).optional()),
  steps: optionalNumberText.pipe(z.number().min(0, { error: "expected steps ≥ 0" }).optional()),
});

/**
 * The share of one GPU a request of `images` × `steps` holds (see the module comment).
 *
 * @returns eighths of a GPU, from 1/8 to 1
 */
export function gpuShareOf(images: number, steps: number): number {
  const eighths = Math.ceil((images * steps * GPU_SHARE_STEPS) / IMAGE_STEPS_PER_GPU - 1e-9);
  return Math.min(GPU_SHARE_STEPS, Math.max(1, eighths)) / GPU_SHARE_STEPS;
}

function amountsOf(share: number): Amounts {
  return {
    vcpu: share * (POOL.perTask.vcpu ?? 0),
    memoryGiB: share * (POOL.perTask.memoryGiB ?? 0),
    gpu: share * (POOL.perTask.gpu ?? 0),
  };
}

/**
 * Reads the Alibaba GenAI 2026 LoRA request trace into a replay trace (see the module comment).
 *
 * @param path a trace file (`.csv` or `.csv.gz`) or a directory of them
 * @returns the requests sorted by (arrival, requestId), no initial load, one `gpu` pool
 * @throws ValidationError naming file, line and column for a malformed row; when no request is
 *   read
 * @example
 * const trace = await readAlibabaGenaiReplay("../shared/data/alibaba-genai-2026-lora-requests");
 * trace.requests[0]?.requestId; // "G0000:1"
 */
export async function readAlibabaGenaiReplay(path: string): Promise<ReplayTrace> {
  const files = await listTraceFiles(path);
  const rows: {
    readonly group: string;
    readonly arrival: number;
    readonly seconds: number;
    readonly share: number;
  }[] = [];
  const skipped = new Map<string, number>();
  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    await readCsvRecords(file, ({ fields, line }) => {
      if (!index) {
        index = columnIndexes(file, fields, COLUMNS, "alibaba-genai");
        return;
      }
      const row = parseRow(
        RowSchema,
        {
          created: fields[index.created],
          status: fields[index.status],
          execSeconds: fields[index.execSeconds],
          group: fields[index.group],
          images: fields[index.images],
          steps: fields[index.steps],
        },
        { file, line },
        COLUMNS,
      );
      if (row.images === undefined || row.steps === undefined) {
        tallyInto(skipped, `requests without images or steps (${row.status || "no status"})`);
        return;
      }
      if (row.images === 0 || row.steps === 0) {
        tallyInto(skipped, "requests for zero images or zero steps");
        return;
      }
      rows.push({
        group: safeId(row.group),
        arrival: Math.floor(row.created),
        seconds: Math.max(1, Math.ceil(row.execSeconds)),
        share: gpuShareOf(row.images, row.steps),
      });
    });
    if (!index) {
      throw new ValidationError(`${file} is empty; expected an alibaba-genai CSV with a header.`, [
        { field: "file", message: "empty" },
      ]);
    }
  }
  if (rows.length === 0) {
    throw new ValidationError(
      `${path} holds no request with images and steps; expected the Alibaba GenAI LoRA request trace.`,
      [{ field: "path", message: "no requests" }],
    );
  }

  const volume = new Map<string, number>();
  for (const r of rows) tallyInto(volume, r.group);
  const tiers = tiersBySize(volume);
  const nth = new Map<string, number>();
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    start = Math.min(start, r.arrival);
    end = Math.max(end, r.arrival + r.seconds);
  }
  const requests: ReplayRequest[] = rows.map((r) => {
    const n = (nth.get(r.group) ?? 0) + 1;
    nth.set(r.group, n);
    const tier = tiers.get(r.group) ?? "free";
    const criticality = tier === "premium" ? "critical" : "normal";
    return {
      requestId: `${r.group}:${n}`,
      userId: r.group,
      tier,
      pool: "gpu",
      amounts: amountsOf(r.share),
      arrival: r.arrival,
      durationSeconds: r.seconds,
      criticality,
      ...patienceOf(criticality),
    };
  });
  requests.sort(compareRequests);

  const users = [...tiers.entries()]
    .map(([userId, tier]) => ({ userId, tier }))
    .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  const userTiers = new Map<string, number>();
  for (const u of users) tallyInto(userTiers, u.tier);
  const requestTiers = new Map<string, number>();
  const shares = new Map<string, number>();
  for (const r of requests) {
    tallyInto(requestTiers, r.tier);
    tallyInto(shares, `${(r.amounts.gpu ?? 0) * GPU_SHARE_STEPS}/8`);
  }
  const { pools, mapping: poolLines } = buildPools({ gpu: POOL }, peakHeld(requests, [], start));
  const mapping = [
    `alibaba-genai: ${files.length} file(s); gmt_create read as UTC (the trace shifts it by an anonymising offset); the replay runs from ${new Date(start * 1000).toISOString()} to ${new Date(end * 1000).toISOString()}, when the last request finishes.`,
    `request: each row, for its groupId, from gmt_create for exec_time_seconds (at least 1 s): ${formatCount(requests.length)} requests; no initial load.`,
    `tenant: groupId; tiers by the group's requests in the trace (top 10 % premium, next 40 % standard, rest free): ${formatCount(users.length)} groups (${formatTally(userTiers)}), requests ${formatTally(requestTiers)}.`,
    "criticality: premium critical (waits 0 s, takes no alternative), standard and free normal (wait up to 600 s).",
    `size: images × steps image-steps; one GPU serves 240 (8 × 30); a request holds that share of one task (GPU, vCPU and memory), rounded up to eighths, at most 1 (${formatTally(shares)}).`,
    ...poolLines,
  ];
  if (skipped.size > 0) mapping.push(`skipped: ${formatTally(skipped)}.`);
  return {
    format: "alibaba-genai",
    start,
    end,
    pools,
    users,
    requests,
    initialLoad: [],
    mapping,
  };
}
