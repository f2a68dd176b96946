import { ConflictError } from "../../domain/errors.js";
import { forecastRunId } from "../../domain/forecasting/forecast-error.js";
import type { PolicyChange } from "../../domain/policy.js";
import {
  adaptPolicies as adaptTierPolicies,
  countOutcomesByTier,
  type TierAssessment,
  type TierObservation,
} from "../../domain/retrain/adapt-policies.js";
import { errorMetrics } from "../../domain/retrain/evaluate-error.js";
import type { RequestLogEntry } from "../../domain/usage.js";
import type { Clock } from "../../ports/clock.js";
import type { ConfigSource } from "../../ports/config-source.js";
import type { ForecastStore } from "../../ports/forecast-store.js";
import type { PolicyStore } from "../../ports/policy-store.js";
import type { RequestLog } from "../../ports/request-log.js";
import type { UsageStore } from "../../ports/usage-store.js";
import { type AdaptInput, resolveAsOf } from "./retrain-state.js";

/** Outcomes and pool load of the last day drive the adaptation. */
export const ADAPT_WINDOW_SECONDS = 86_400;

/** Attempts at a conditional policy write before giving up to the flow's retry. */
const WRITE_ATTEMPTS = 3;

/** Shards whose request log is read at once. */
const READ_CONCURRENCY = 8;

export interface AdaptPoliciesDeps {
  readonly configSource: ConfigSource;
  readonly forecastStore: ForecastStore;
  readonly requestLog: RequestLog;
  readonly usageStore: UsageStore;
  readonly policyStore: PolicyStore;
  readonly clock: Clock;
}

/** What Adapt adds. */
export interface AdaptedFields {
  readonly changes: PolicyChange[];
  /** Version of the policy set in force after the step. */
  readonly policyVersion: number;
  readonly assessments: Record<string, TierAssessment>;
  /** Requests of the day read from the log, and those without a tier (not counted). */
  readonly requests: { readonly read: number; readonly withoutTier: number };
  /** Mean pool utilisation of the day (0–1), null when no pool load was collected. */
  readonly utilisation: number | null;
}

/**
 * The retrain flow's Adapt step (it runs on every path): per tier, counts the last day's request
 * outcomes from the request log (and, as the evidence a lowering rests on, those since the tier's
 * last change within `policyBounds.lowerEvidenceDays`), takes the tier's forecast coverage (Evaluate's `byTier`, or the
 * error summaries of the day), the pools' utilisation from the collected pool load, and moves the
 * tier's forecast quantile and headroom by at most one step within `policyBounds`
 * (`adaptPolicies` in the domain says when and why). The new set and a change record per changed
 * tier are written together, conditional on the version read; a concurrent write makes it
 * re-read and decide again.
 *
 * @param deps config, forecast store, request log, usage store (pool load), policy store, clock
 * @param input any flow state; `asOf` (or `time`) fixes the day read, `byTier` the coverage
 * @returns the input plus the `changes` (each with before, after and a readable cause), the
 *   `policyVersion` in force, every tier's `assessments`, request counts and `utilisation`
 * @throws ConflictError when the policies kept changing under it
 * @throws DependencyError when a store fails
 * @example
 * const adapted = await adaptPolicies(deps, state);
 * for (const c of adapted.changes) logger.info(c.cause, { tier: c.tier });
 */
export async function adaptPolicies<I extends AdaptInput>(
  deps: AdaptPoliciesDeps,
  input: I,
): Promise<I & AdaptedFields> {
  const config = await deps.configSource.load();
  const asOf = input.asOf ?? resolveAsOf(input.time, deps.clock, config.intervalSeconds);
  const from = asOf - ADAPT_WINDOW_SECONDS;
  const evidenceFrom = asOf - config.policyBounds.lowerEvidenceDays * ADAPT_WINDOW_SECONDS;

  const logged = await readRequestLog(deps.requestLog, config.shardCount, evidenceFrom, asOf);
  const entries = logged.filter((e) => e.receivedAt >= from);
  const { byTier: outcomes, withoutTier } = countOutcomesByTier(entries);
  const coverage =
    input.byTier ??
    Object.fromEntries(
      Object.entries(
        await deps.forecastStore.getErrorSummaries(forecastRunId(from), forecastRunId(asOf)),
      ).map(([tier, summary]) => [tier, errorMetrics(summary)]),
    );
  const utilisation = await poolUtilisation(deps.usageStore, Object.keys(config.pools), from, asOf);
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const current = await deps.policyStore.getPolicies();
    const lastChanges = latestChangePerTier(await deps.policyStore.listChanges(CHANGES_TO_JUDGE));
    const observations: Record<string, TierObservation> = {};
    for (const tier of Object.keys(config.tiers)) {
      const tierOutcomes = outcomes[tier];
      const tierCoverage = coverage[tier];
      // A lowering rests on the outcomes since the tier's knobs last moved, within the window.
      const since = Math.max(evidenceFrom, lastChanges[tier]?.at ?? evidenceFrom);
      const evidence = countOutcomesByTier(
        logged.filter((e) => e.tier === tier && e.receivedAt >= since),
      ).byTier[tier];
      observations[tier] = {
        ...(tierOutcomes ? { outcomes: tierOutcomes } : {}),
        ...(evidence ? { evidence: { outcomes: evidence, since } } : {}),
        ...(tierCoverage
          ? { coverage80: tierCoverage.coverage80, coveragePoints: tierCoverage.points }
          : {}),
      };
    }
    const now = deps.clock.nowSeconds();
    const result = adaptTierPolicies({
      config,
      current,
      observations,
      utilisation,
      now,
      lastChanges,
    });
    const base = {
      assessments: { ...result.assessments },
      requests: { read: entries.length, withoutTier },
      utilisation,
    };
    if (!result.next) {
      return { ...input, ...base, changes: [], policyVersion: current?.version ?? 0 };
    }
    const outcome = await deps.policyStore.putPolicies(
      result.next,
      result.changes,
      current?.version ?? 0,
    );
    if (outcome === "committed") {
      return {
        ...input,
        ...base,
        changes: [...result.changes],
        policyVersion: result.next.version,
      };
    }
  }
  throw new ConflictError(
    `The policies changed under the Adapt step ${WRITE_ATTEMPTS} times in a row. Another writer is adapting them; the step is retried.`,
  );
}

/** Latest logged changes read to find each tier's last one (a tier changed longer ago is not judged). */
const CHANGES_TO_JUDGE = 100;

/** The newest change of each tier among `changes`. */
function latestChangePerTier(changes: readonly PolicyChange[]): Record<string, PolicyChange> {
  const out: Record<string, PolicyChange> = {};
  for (const change of changes) {
    const seen = out[change.tier];
    if (!seen || change.at > seen.at || (change.at === seen.at && change.version > seen.version))
      out[change.tier] = change;
  }
  return out;
}

async function readRequestLog(
  log: RequestLog,
  shardCount: number,
  from: number,
  to: number,
): Promise<RequestLogEntry[]> {
  const out: RequestLogEntry[] = [];
  for (let shard = 0; shard < shardCount; shard += READ_CONCURRENCY) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(READ_CONCURRENCY, shardCount - shard) }, (_, i) =>
        log.listRequests(shard + i, shardCount, from, to),
      ),
    );
    for (const entries of batch) out.push(...entries);
  }
  return out;
}

/**
 * Mean utilisation of the pools' services over [from, to), 0–1: per interval the higher of CPU
 * and memory utilisation, averaged over every interval and pool with data; null without data.
 */
async function poolUtilisation(
  usageStore: UsageStore,
  pools: readonly string[],
  from: number,
  to: number,
): Promise<number | null> {
  let sum = 0;
  let count = 0;
  for (const pool of pools) {
    for (const record of await usageStore.getPoolLoad(pool, from, to)) {
      const values = [record.cpuUtilizationPercent, record.memoryUtilizationPercent].filter(
        (v): v is number => v !== null && Number.isFinite(v),
      );
      if (values.length === 0) continue;
      sum += Math.max(...values) / 100;
      count++;
    }
  }
  return count > 0 ? sum / count : null;
}
