import { z } from "zod";
import { DependencyError } from "./errors.js";
import type { PolicyChange, PolicySet } from "./policy.js";

/**
 * Schemas of what the policy store reads back (the set in force, a logged change), so a malformed
 * or foreign item is caught at the boundary instead of steering a plan or a revert.
 */

const TierPolicySchema = z.object({
  forecastQuantile: z.number().gt(0).lt(1),
  headroomFraction: z.number().min(0).finite(),
});

const PolicySetSchema = z.object({
  version: z.number().int().nonnegative(),
  tiers: z.record(z.string().min(1), TierPolicySchema),
  updatedAt: z.number().finite(),
});

const PolicyChangeSchema = z.object({
  changeId: z.string().min(1),
  tier: z.string().min(1),
  before: TierPolicySchema,
  after: TierPolicySchema,
  cause: z.string(),
  at: z.number().finite(),
  version: z.number().int().nonnegative(),
  slo: z
    .object({ kind: z.enum(["raise", "futile"]), grantNowRate: z.number().min(0).max(1) })
    .optional(),
});

/**
 * Reads a stored policy set.
 *
 * @throws DependencyError (not retryable) naming the item when it does not match the schema
 */
export function parseStoredPolicySet(value: unknown, where: string): PolicySet {
  const parsed = PolicySetSchema.safeParse(value);
  if (!parsed.success) throw malformed(where, parsed.error);
  return parsed.data;
}

/**
 * Reads a stored policy change.
 *
 * @throws DependencyError (not retryable) naming the item when it does not match the schema
 */
export function parseStoredPolicyChange(value: unknown, where: string): PolicyChange {
  const parsed = PolicyChangeSchema.safeParse(value);
  if (!parsed.success) throw malformed(where, parsed.error);
  const { slo, ...rest } = parsed.data;
  return slo ? { ...rest, slo } : rest;
}

function malformed(where: string, error: z.ZodError): DependencyError {
  const issues = error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return new DependencyError(
    "policy store",
    `Stored item ${where} is malformed (${issues.join("; ")}). Expected an item written by shaper's policy store; repair it, or revert to a known set with \`shaper policies revert\`.`,
    { retryable: false, details: { where, issues } },
  );
}
