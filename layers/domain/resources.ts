import { z } from "zod";

/**
 * The kinds of capacity a pool can offer. Amounts are in these units:
 * `vcpu` in vCPUs, `memoryGiB` in GiB, `gpu` in whole GPUs (fractions allowed for shared GPUs).
 */
export const RESOURCES = ["vcpu", "memoryGiB", "gpu"] as const;
export type Resource = (typeof RESOURCES)[number];

export const ResourceSchema = z.enum(RESOURCES);

/** An amount per resource; a missing resource means zero. */
export type Amounts = Partial<Record<Resource, number>>;

/** Non-negative finite amounts per resource; unknown resource names are rejected. */
export const AmountsSchema = z.partialRecord(
  ResourceSchema,
  z.number().finite().nonnegative().max(1e12, "must be at most 1e12"),
);

/** The resources that carry a non-zero amount, in canonical order. */
export function resourcesOf(amounts: Amounts): Resource[] {
  return RESOURCES.filter((r) => (amounts[r] ?? 0) !== 0);
}

export function amountOf(amounts: Amounts, resource: Resource): number {
  return amounts[resource] ?? 0;
}

/** Element-wise a + b over the union of resources. */
export function addAmounts(a: Amounts, b: Amounts): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    if (a[r] !== undefined || b[r] !== undefined) out[r] = (a[r] ?? 0) + (b[r] ?? 0);
  }
  return out;
}

/** Element-wise a − b (may go negative; callers clamp where that matters). */
export function subtractAmounts(a: Amounts, b: Amounts): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    if (a[r] !== undefined || b[r] !== undefined) out[r] = (a[r] ?? 0) - (b[r] ?? 0);
  }
  return out;
}

export function scaleAmounts(a: Amounts, factor: number): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    const v = a[r];
    if (v !== undefined) out[r] = v * factor;
  }
  return out;
}

/** Element-wise minimum over the resources present in either side (missing counts as 0). */
export function minAmounts(a: Amounts, b: Amounts): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    if (a[r] !== undefined || b[r] !== undefined) out[r] = Math.min(a[r] ?? 0, b[r] ?? 0);
  }
  return out;
}

/** Element-wise maximum over the resources present in either side (missing counts as 0). */
export function maxAmounts(a: Amounts, b: Amounts): Amounts {
  const out: Amounts = {};
  for (const r of RESOURCES) {
    if (a[r] !== undefined || b[r] !== undefined) out[r] = Math.max(a[r] ?? 0, b[r] ?? 0);
  }
  return out;
}

/**
 * True when every resource of `need` fits in `available` (within a tolerance of 1e-9 so that
 * float sums of fractions do not refuse an exact fit).
 */
export function fitsWithin(need: Amounts, available: Amounts): boolean {
  for (const r of RESOURCES) {
    const n = need[r] ?? 0;
    if (n > 0 && n > (available[r] ?? 0) + 1e-9) return false;
  }
  return true;
}

/** True when no resource carries a positive amount. */
export function isZeroAmounts(a: Amounts): boolean {
  return RESOURCES.every((r) => (a[r] ?? 0) <= 0);
}

/**
 * Dominant share of `a` relative to `capacity` (dominant-resource fairness): the largest
 * a[r]/capacity[r] over resources with capacity. 0 when nothing is asked.
 */
export function dominantShare(a: Amounts, capacity: Amounts): number {
  let share = 0;
  for (const r of RESOURCES) {
    const need = a[r] ?? 0;
    if (need <= 0) continue;
    const cap = capacity[r] ?? 0;
    if (cap <= 0) return Number.POSITIVE_INFINITY;
    share = Math.max(share, need / cap);
  }
  return share;
}

/** `12 vcpu, 48 memoryGiB` — for reasons and messages people read. */
export function formatAmounts(a: Amounts): string {
  const parts = RESOURCES.filter((r) => a[r] !== undefined).map(
    (r) => `${Number((a[r] ?? 0).toFixed(3))} ${r}`,
  );
  return parts.length === 0 ? "nothing" : parts.join(", ");
}
