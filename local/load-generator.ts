import { Agent, request } from "node:http";
import { z } from "zod";
import { hashUnit } from "./workload.js";

/**
 * The load generator of `shaper bench-load`, run as its own Node process (so it does not share
 * an event loop with the server it measures). It sends `POST /v1/requests` on an OPEN-LOOP
 * schedule: request i is due at start + i / rate, and is sent when due whether or not earlier
 * requests were answered. Latency is measured from the DUE time, not the send time, so a
 * generator or server that falls behind shows up in the latency instead of hiding in a slower
 * send rate (no coordinated omission); a send more than `LATE_SEND_MS` after its due time is
 * counted as late.
 *
 * Protocol (IPC, structured clone): the parent sends one `LoadSpec`; the child answers with one
 * `LoadResult` and exits.
 */

/** A send this far behind its due time counts as late, in milliseconds. */
export const LATE_SEND_MS = 10;

export const LoadSpecSchema = z.object({
  url: z.string().url(),
  runId: z.string().min(1),
  ratePerSecond: z.number().positive(),
  /** Requests are due over warmupSeconds + durationSeconds. */
  warmupSeconds: z.number().nonnegative(),
  durationSeconds: z.number().positive(),
  seed: z.number().int(),
  users: z.array(z.object({ userId: z.string(), pools: z.array(z.string()) })).min(1),
  /** Bearer token per userId. */
  tokens: z.record(z.string(), z.string()),
  /** Most connections kept open to the server. */
  maxSockets: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
});
export type LoadSpec = z.infer<typeof LoadSpecSchema>;

/** Per request i (all arrays have one slot per request). */
export interface LoadResult {
  readonly total: number;
  /** HTTP status; 0 when no response came (connection error or timeout). */
  readonly status: Int16Array;
  /** From the due time to the end of the response, milliseconds. */
  readonly latencyMs: Float64Array;
  /** Send time minus due time, milliseconds. */
  readonly lateMs: Float64Array;
  /** Index into OUTCOMES of the answered decision's outcome; -1 when none. */
  readonly outcome: Int8Array;
  /** performance.timeOrigin-relative times of the first due time and the last response. */
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly cpuSeconds: number;
  readonly firstErrors: string[];
}

export const OUTCOMES = ["grant", "delay", "offer", "reject"] as const;

/**
 * Idle keep-alive sockets are closed by the generator after this long, in milliseconds: before
 * the server's keep-alive timeout (Node's default, 5 s) closes them. Node 20's agent otherwise
 * keeps an idle socket until the server closes it, and a request sent on it at that moment fails
 * with ECONNRESET (nodejs/node#47130, #52649) — an error of the benchmark, not of the API. A
 * server fast enough to need few connections leaves many idle after a burst, so it happened.
 * (A request's own socket timeout is `timeoutMs`; this applies to free sockets only.)
 */
const IDLE_SOCKET_MS = 2_000;

/** Index of the i-th request's user: every user is asked for, some far more than others. */
function userIndex(spec: Pick<LoadSpec, "seed" | "users">, i: number): number {
  // A skewed mix (u² puts the mass on the first users): a few heavy tenants, a long tail.
  const u = hashUnit(spec.seed, "user", i);
  return Math.min(spec.users.length - 1, Math.floor(u * u * spec.users.length));
}

/**
 * The i-th request body of a run. The mix:
 * - users: skewed (see userIndex), so heavy tenants hit their caps and fair shares;
 * - pool: gpu for one request in five (when the user may use it), else cpu; 1–8 vcpu with 4 GiB
 *   per vcpu on cpu, 1 gpu + 8 vcpu + 32 GiB on gpu;
 * - criticality: 20 % critical, 60 % normal, 20 % deferrable; maxDelaySeconds 0–10 s and a third
 *   refusing alternatives;
 * - durationSeconds 1–5 s (mean 3 s). Live leases ≈ rate × mean duration (Little's law): about
 *   3,000 at 1,000 requests/s — the book size `npm run bench` measures — and bounded, since
 *   every lease ends within 15 s of its decision (5 s duration + at most 10 s delay). Real jobs
 *   run for minutes at far lower rates per pool; what a decision costs depends on how many
 *   leases are live, not on how long each lasts.
 */
export function loadRequestBody(
  spec: Pick<LoadSpec, "seed" | "users" | "runId">,
  i: number,
): { userId: string; body: Record<string, unknown> } {
  const user = spec.users[userIndex(spec, i)] ?? spec.users[0];
  if (!user) throw new Error("The load spec has no users.");
  const h = (what: string) => hashUnit(spec.seed, what, i);
  const gpu = user.pools.includes("gpu") && (h("pool") < 0.2 || !user.pools.includes("cpu"));
  const vcpu = 1 + Math.floor(h("size") * 8);
  const c = h("criticality");
  return {
    userId: user.userId,
    body: {
      requestId: `${spec.runId}-${i}`,
      userId: user.userId,
      pool: gpu ? "gpu" : "cpu",
      amounts: gpu ? { gpu: 1, vcpu: 8, memoryGiB: 32 } : { vcpu, memoryGiB: 4 * vcpu },
      durationSeconds: 1 + Math.floor(h("duration") * 5),
      criticality: c < 0.2 ? "critical" : c < 0.8 ? "normal" : "deferrable",
      maxDelaySeconds: Math.floor(h("delay") * 11),
      acceptAlternatives: h("alternatives") >= 1 / 3,
    },
  };
}

/** Runs the schedule against the server and resolves when every request is answered or failed. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const total = Math.round(spec.ratePerSecond * (spec.warmupSeconds + spec.durationSeconds));
  const status = new Int16Array(total);
  const latencyMs = new Float64Array(total);
  const lateMs = new Float64Array(total);
  const outcome = new Int8Array(total).fill(-1);
  const settledFlags = new Uint8Array(total);
  const firstErrors: string[] = [];
  const agent = new Agent({
    keepAlive: true,
    maxSockets: spec.maxSockets,
    timeout: IDLE_SOCKET_MS,
  });
  const target = new URL("/v1/requests", spec.url);
  const intervalMs = 1_000 / spec.ratePerSecond;
  const cpuBefore = process.cpuUsage();
  const startedAtMs = performance.now() + 50;
  let finishedAtMs = startedAtMs;
  let next = 0;
  let settled = 0;

  return new Promise((resolve) => {
    const done = (i: number, code: number, error?: string) => {
      if (settledFlags[i]) return;
      settledFlags[i] = 1;
      status[i] = code;
      latencyMs[i] = performance.now() - (startedAtMs + i * intervalMs);
      finishedAtMs = Math.max(finishedAtMs, performance.now());
      if (error && firstErrors.length < 10) firstErrors.push(error);
      settled++;
      if (settled === total) {
        agent.destroy();
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          total,
          status,
          latencyMs,
          lateMs,
          outcome,
          startedAtMs,
          finishedAtMs,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          firstErrors,
        });
      }
    };

    const send = (i: number) => {
      const { userId, body } = loadRequestBody(spec, i);
      const payload = JSON.stringify(body);
      lateMs[i] = performance.now() - (startedAtMs + i * intervalMs);
      const req = request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
            authorization: `Bearer ${spec.tokens[userId] ?? ""}`,
          },
          timeout: spec.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const code = res.statusCode ?? 0;
            if (code === 200) {
              outcome[i] = OUTCOMES.indexOf(outcomeOf(text) as (typeof OUTCOMES)[number]);
              done(i, code);
            } else {
              done(i, code, `${code} ${text.slice(0, 300)}`);
            }
          });
          res.on("error", (error) => done(i, 0, error.message));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)));
      req.on("error", (error) => done(i, 0, error.message));
      req.end(payload);
    };

    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - startedAtMs) / intervalMs) + 1);
      while (next < due) send(next++);
      if (next < total) {
        setTimeout(tick, Math.max(0, startedAtMs + next * intervalMs - performance.now()));
      }
    };
    setTimeout(tick, Math.max(0, startedAtMs - performance.now()));
  });
}

function outcomeOf(text: string): unknown {
  try {
    return (JSON.parse(text) as { outcome?: unknown }).outcome;
  } catch {
    return undefined;
  }
}

// As a child process: take the spec from the parent, run, send the result back, exit.
if (process.send && process.argv.includes("--load-generator")) {
  process.once("message", (message: unknown) => {
    void runLoad(LoadSpecSchema.parse(message)).then((result) => {
      process.send?.(result, () => process.exit(0));
    });
  });
}
