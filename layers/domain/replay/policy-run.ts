import type { Amounts } from "../resources.js";

/**
 * What one policy did over a replay, before scoring: the fate of every request and each pool's
 * provisioned task count over time. Baselines (baselines.ts) and the shaper runner produce it;
 * `scoreRun` (score.ts) turns it into metrics the same way for every policy.
 */

/** How a request ended up, as the simulated user saw it. */
export type RequestFate =
  /** Granted when it arrived. */
  | { readonly kind: "now" }
  /** Started `delaySeconds` after it arrived, within its patience. */
  | { readonly kind: "delayed"; readonly delaySeconds: number }
  /** Served by an alternative the user took (smaller, another pool, later), starting `delaySeconds` after arrival. */
  | {
      readonly kind: "offered";
      readonly delaySeconds: number;
      readonly pool: string;
      readonly amounts: Amounts;
    }
  /** Not served: rejected, delayed beyond patience, or an offer declined or not honoured. */
  | { readonly kind: "denied"; readonly reason: string };

/** A pool's provisioned (ready) tasks: `tasks[i]` from `times[i]` until `times[i + 1]` (or the end). */
export interface TaskCurve {
  readonly times: number[];
  readonly tasks: number[];
}

export interface PolicyRun {
  readonly name: string;
  /** Aligned with the trace's requests. */
  readonly fates: readonly RequestFate[];
  readonly capacity: Readonly<Record<string, TaskCurve>>;
  /** Changes of each pool's desired task count. */
  readonly scalingActions: Readonly<Record<string, number>>;
  readonly wallSeconds: number;
  /** Where the wall time went, by pipeline stage (shaper only: collect, forecast, plan, …). */
  readonly stageSeconds?: Readonly<Record<string, number>>;
}

/** Appends a point to a task curve, merging equal neighbours and same-time updates. */
export function recordTasks(curve: TaskCurve, time: number, tasks: number): void {
  const n = curve.times.length;
  if (n > 0 && curve.tasks[n - 1] === tasks) return;
  if (n > 0 && curve.times[n - 1] === time) {
    curve.tasks[n - 1] = tasks;
    if (n > 1 && curve.tasks[n - 2] === tasks) {
      curve.times.pop();
      curve.tasks.pop();
    }
    return;
  }
  curve.times.push(time);
  curve.tasks.push(tasks);
}
