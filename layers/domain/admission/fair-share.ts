import { type DominantRound, drfFraction } from "../allocation/fair-share.js";
import { quantileKey } from "../config.js";
import type { Forecast } from "../forecast.js";
import { type Amounts, RESOURCES } from "../resources.js";

/** A user's footprint for the interval containing a given time, read from its forecast. */
export type FootprintReading =
  | {
      readonly status: "ok";
      readonly amounts: Amounts;
      /** The quantile level actually read (the nearest stored level at or above the asked one). */
      readonly level: number | "mean";
      /** Start of the forecast interval read, epoch seconds. */
      readonly intervalStart: number;
    }
  | { readonly status: "unavailable"; readonly why: string };

/**
 * The user's footprint at `nowSeconds`: the forecast's value at the tier's quantile for the
 * interval containing now. When that exact level is not stored, the nearest stored level above
 * it is used (erring towards more capacity), else the highest stored level, else the mean.
 *
 * @param forecast the user's latest forecast for the pool
 * @param level the tier's forecast quantile in force (policy), e.g. 0.9
 * @param nowSeconds epoch seconds
 * @returns the footprint, or why none can be read (a forecast whose horizon has passed)
 */
export function footprintAt(
  forecast: Forecast,
  level: number,
  nowSeconds: number,
): FootprintReading {
  const index = Math.max(
    0,
    Math.floor((nowSeconds - forecast.start) / Math.max(1, forecast.intervalSeconds)),
  );
  if (index >= forecast.horizon) {
    return {
      status: "unavailable",
      why: `the forecast issued at ${forecast.issuedAt} covers ${forecast.horizon} intervals from ${forecast.start}, which ended before now (${nowSeconds})`,
    };
  }
  const amounts: Amounts = {};
  let used: number | "mean" | undefined;
  for (const r of RESOURCES) {
    const series = forecast.byResource[r];
    if (!series) continue;
    const picked = pickQuantile(series.quantiles, level);
    const values = picked ? series.quantiles[picked.key] : series.mean;
    const value = values?.[Math.min(index, values.length - 1)];
    if (value === undefined || !Number.isFinite(value)) continue;
    amounts[r] = Math.max(0, value);
    used ??= picked ? picked.level : "mean";
  }
  if (used === undefined) {
    return { status: "unavailable", why: "the forecast holds no values for this interval" };
  }
  return {
    status: "ok",
    amounts,
    level: used,
    intervalStart: forecast.start + index * forecast.intervalSeconds,
  };
}

function pickQuantile(
  quantiles: Readonly<Record<string, readonly number[]>>,
  level: number,
): { key: string; level: number } | undefined {
  if (quantiles[quantileKey(level)]) return { key: quantileKey(level), level };
  const stored = Object.keys(quantiles)
    .map((key) => ({ key, level: Number(key) }))
    .filter((q) => Number.isFinite(q.level))
    .sort((a, b) => a.level - b.level);
  return stored.find((q) => q.level >= level) ?? stored.at(-1);
}

/** What the fair-share allocation of one user is made from. */
export interface FairShareInputs {
  /** Water level per resource of the current plan interval. */
  readonly level: Amounts;
  /** The tier's priority weight. */
  readonly weight: number;
  readonly guaranteedMinimum: Amounts;
  readonly cap: Amounts | undefined;
  /** Absent when the user has no usable forecast (cold start): the footprint then limits nothing. */
  readonly footprint: Amounts | undefined;
}

/**
 * The user's allocation under scarcity, per resource the level names:
 * min(footprint, cap, max(guarantee, weight × level)) — the plan's weighted max-min fair share —
 * and never below the guarantee, which a user can always get at once.
 */
export function fairShareAllocation(inputs: FairShareInputs): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    const level = inputs.level[r];
    if (level === undefined) continue;
    const guarantee = inputs.guaranteedMinimum[r] ?? 0;
    let allocation = Math.max(guarantee, inputs.weight * level);
    const cap = inputs.cap?.[r];
    if (cap !== undefined) allocation = Math.min(allocation, cap);
    const footprint = inputs.footprint?.[r];
    if (footprint !== undefined) allocation = Math.min(allocation, footprint);
    out[r] = Math.max(guarantee, allocation);
  }
  return out;
}

/** What a user's DRF share is made from (the ledger's `dominantFairShare` and the user). */
export interface DominantShareInputs {
  readonly rounds: readonly DominantRound[];
  /** The capacity the plan's DRF shared. */
  readonly capacity: Amounts;
  readonly weight: number;
  readonly guaranteedMinimum: Amounts;
  readonly cap: Amounts | undefined;
  /** The user's footprint bundle; absent (cold start) → nothing limits the user. */
  readonly footprint: Amounts | undefined;
}

/**
 * The user's allocation under scarcity with `allocation.method` "drf": the fraction of its
 * footprint bundle weighted dominant-resource fairness gives it (`drfFraction`), on every
 * resource of the bundle alike — never below the guarantee, which a user can always get at once.
 * Resources outside the bundle are limited to the guarantee.
 */
export function dominantShareAllocation(inputs: DominantShareInputs): Amounts | undefined {
  if (!inputs.footprint) return undefined;
  const { fraction, bundle } = drfFraction(
    inputs.footprint,
    { weight: inputs.weight, guarantee: inputs.guaranteedMinimum, cap: inputs.cap },
    inputs.rounds,
    inputs.capacity,
  );
  const out: Amounts = {};
  for (const r of RESOURCES) {
    const guarantee = inputs.guaranteedMinimum[r] ?? 0;
    out[r] = Math.max(guarantee, fraction * (bundle[r] ?? 0));
  }
  return out;
}
