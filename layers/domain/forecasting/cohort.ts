import type { Forecast, ResourceForecast } from "../forecast.js";
import type { Resource } from "../resources.js";

/**
 * Cold start from the cohort: a user with no observed history is forecast as the typical member
 * of its cohort — the users of the same tier in the same pool (else of the pool, any tier) whose
 * forecasts rest on history — rather than as zero. Per resource, step and quantile level the
 * cohort forecast is the median of the members' values: medians keep the quantiles monotone (if
 * every member has q_a ≤ q_b, the median of the q_a is ≤ the median of the q_b), and one unusual
 * member cannot drag the newcomer's forecast.
 */

/**
 * The cohort forecast of one resource.
 *
 * @param members the members' forecasts of that resource (same horizon and levels)
 * @returns the per-step, per-level median; undefined when there are no members
 */
export function cohortForecast(members: readonly ResourceForecast[]): ResourceForecast | undefined {
  const first = members[0];
  if (!first) return undefined;
  const median = (rows: readonly (readonly number[])[]): number[] =>
    (rows[0] ?? []).map((_, h) => {
      const values = rows.map((r) => r[h] ?? 0).sort((a, b) => a - b);
      const mid = values.length >> 1;
      return values.length % 2 === 1
        ? (values[mid] as number)
        : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
    });
  return {
    mean: median(members.map((m) => m.mean)),
    quantiles: Object.fromEntries(
      Object.keys(first.quantiles).map((key) => [
        key,
        median(members.map((m) => m.quantiles[key] ?? [])),
      ]),
    ),
  };
}

/**
 * Replaces the model's answer for every cold-start user forecast with its cohort's forecast.
 *
 * @param forecasts user forecasts of one run (any pools and tiers)
 * @returns the same forecasts, cold starts answered by their cohort where it has members, each
 *   saying which cohort (`coldStartCohort`); a cold start with no cohort keeps the model's answer
 */
export function applyCohortColdStarts(forecasts: readonly Forecast[]): Forecast[] {
  const warm = forecasts.filter((f) => !f.coldStart);
  if (warm.length === forecasts.length || warm.length === 0) return [...forecasts];
  return forecasts.map((forecast) => {
    if (!forecast.coldStart) return forecast;
    const samePool = warm.filter((f) => f.pool === forecast.pool);
    const sameTier = samePool.filter((f) => f.tier === forecast.tier);
    const [basis, members] =
      sameTier.length > 0 ? (["tier", sameTier] as const) : (["pool", samePool] as const);
    if (members.length === 0) return forecast;
    const byResource: Partial<Record<Resource, ResourceForecast>> = { ...forecast.byResource };
    for (const resource of Object.keys(forecast.byResource) as Resource[]) {
      const cohort = cohortForecast(
        members.flatMap((m) => (m.byResource[resource] ? [m.byResource[resource]] : [])),
      );
      if (cohort) byResource[resource] = cohort;
    }
    return { ...forecast, byResource, coldStartCohort: { basis, members: members.length } };
  });
}
