import { type ShaperConfig, userPools } from "../../layers/domain/config.js";
import type { ReplayRequest, ReplayTrace } from "../../layers/domain/replay/replay-trace.js";
import type { SyntheticWorkload } from "../workload.js";

/**
 * The built-in workload of `npm start` as a replay trace, so the local run can compare shaper with
 * the other policies on it: every request the generator sends over the span, with the config's
 * tiers, pools and patience defaults (critical work takes no alternatives).
 *
 * @param workload the seeded generator
 * @param config its config (users, pools, tiers)
 * @param span epoch seconds [start, end), aligned to the config's interval
 */
export function workloadTrace(
  workload: SyntheticWorkload,
  config: ShaperConfig,
  span: { readonly start: number; readonly end: number },
): ReplayTrace {
  const interval = config.intervalSeconds;
  const requests: ReplayRequest[] = [];
  for (let t = span.start; t < span.end; t += interval) {
    for (const user of config.users) {
      for (const pool of userPools(user, config)) {
        for (const { offsetSeconds, body } of workload.requests(user, pool, t, interval)) {
          const criticality = body.criticality ?? "normal";
          const arrival = t + offsetSeconds;
          requests.push({
            requestId: body.requestId,
            userId: user.userId,
            tier: user.tier,
            pool,
            amounts: body.amounts,
            arrival,
            durationSeconds: Math.max(1, Math.min(body.durationSeconds, span.end - arrival)),
            criticality,
            maxDelaySeconds: config.admission.defaultMaxDelaySeconds[criticality],
            acceptAlternatives: criticality !== "critical",
          });
        }
      }
    }
  }
  requests.sort((a, b) => a.arrival - b.arrival || (a.requestId < b.requestId ? -1 : 1));
  return {
    format: "built-in workload",
    start: span.start,
    end: span.end,
    pools: Object.fromEntries(
      Object.entries(config.pools).map(([name, pool]) => [
        name,
        {
          perTask: pool.perTask,
          provisioningLagSeconds: pool.provisioningLagSeconds,
          costPerTaskHour: pool.costPerTaskHour,
          minTasks: pool.minTasks,
          maxTasks: pool.maxTasks,
          alternatives: pool.alternatives,
        },
      ]),
    ),
    users: config.users.map((u) => ({ userId: u.userId, tier: u.tier })),
    requests,
    initialLoad: [],
    mapping: [
      "request     what the seeded generator sends (per-user daily pattern, bursts, tiers), as npm start sends it",
      "tiers       the config's users; premium work is critical, 30 % of the rest deferrable",
      "pools       the config's pools (task size, lag, min/max, cost)",
    ],
  };
}
