import { z } from "zod";
import type { DecisionRecord, PoolLedger } from "../admission.js";
import { CriticalitySchema, IdSchema } from "../config.js";
import { DependencyError } from "../errors.js";
import { AmountsSchema, ResourceSchema } from "../resources.js";

/**
 * Schemas of what the admission stores read back (a ledger item, a decision item), so a
 * malformed or foreign item is caught at the boundary instead of deep inside a decision.
 */

const EpochSecondsSchema = z.number().finite();

const LeaseSchema = z.object({
  leaseId: z.string().min(1),
  userId: IdSchema,
  kind: z.enum(["request", "warm"]),
  amounts: AmountsSchema,
  startAt: EpochSecondsSchema,
  endAt: EpochSecondsSchema,
  requestId: IdSchema.optional(),
});

const CapacityStepSchema = z.object({ start: EpochSecondsSchema, capacity: AmountsSchema });

/** A stored pool ledger (the keys are not part of it). */
export const PoolLedgerSchema = z.object({
  pool: IdSchema,
  version: z.number().int().nonnegative(),
  capacity: z.array(CapacityStepSchema),
  leases: z.array(LeaseSchema),
  planIssuedAt: EpochSecondsSchema.optional(),
  fairShareLevel: AmountsSchema.optional(),
  criticalReserve: AmountsSchema.optional(),
  dominantFairShare: z
    .object({
      rounds: z.array(
        z.object({ level: z.number().finite().nonnegative(), saturated: z.array(ResourceSchema) }),
      ),
      capacity: AmountsSchema,
    })
    .optional(),
  updatedAt: EpochSecondsSchema,
});

/** A request with its defaults resolved, as stored with its decision. */
export const StoredRequestSchema = z.object({
  requestId: IdSchema,
  userId: IdSchema,
  pool: IdSchema,
  amounts: AmountsSchema,
  durationSeconds: z.number().int().positive(),
  criticality: CriticalitySchema,
  maxDelaySeconds: z.number().int().nonnegative(),
  acceptAlternatives: z.boolean(),
});

const AlternativeSchema = z.object({
  kind: z.enum(["smaller", "other-pool", "later"]),
  pool: IdSchema,
  amounts: AmountsSchema,
  startAt: EpochSecondsSchema,
  durationSeconds: z.number().int().positive(),
});

/** One decision, by outcome. */
export const DecisionSchema = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("grant"),
    startAt: EpochSecondsSchema,
    endAt: EpochSecondsSchema,
    reason: z.string(),
  }),
  z.object({
    outcome: z.literal("delay"),
    startAt: EpochSecondsSchema,
    endAt: EpochSecondsSchema,
    reason: z.string(),
  }),
  z.object({
    outcome: z.literal("offer"),
    alternative: AlternativeSchema,
    etaSeconds: z.number().nonnegative(),
    reason: z.string(),
  }),
  z.object({
    outcome: z.literal("reject"),
    reason: z.string(),
    retryAfterSeconds: z.number().nonnegative(),
  }),
]);

/** A stored decision record (the keys, log keys and TTL are not part of it). */
export const DecisionRecordSchema = z.object({
  requestId: IdSchema,
  request: StoredRequestSchema,
  decision: DecisionSchema,
  decidedAt: EpochSecondsSchema,
  tier: IdSchema,
  explanation: z.array(z.string()),
  planIssuedAt: EpochSecondsSchema.optional(),
});

/**
 * Reads a stored ledger. Optional fields absent from the item are absent from the result (zod
 * adds no undefined keys), so the result is a `PoolLedger`.
 *
 * @throws DependencyError (not retryable) naming the item when it does not match the schema
 */
export function parseStoredLedger(value: unknown, where: string): PoolLedger {
  const parsed = PoolLedgerSchema.safeParse(value);
  if (!parsed.success) throw malformed(where, parsed.error);
  return parsed.data as PoolLedger;
}

/**
 * Reads a stored decision record.
 *
 * @throws DependencyError (not retryable) naming the item when it does not match the schema
 */
export function parseStoredDecision(value: unknown, where: string): DecisionRecord {
  const parsed = DecisionRecordSchema.safeParse(value);
  if (!parsed.success) throw malformed(where, parsed.error);
  return parsed.data as DecisionRecord;
}

function malformed(where: string, error: z.ZodError): DependencyError {
  const issues = error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return new DependencyError(
    "admission store",
    `Stored item ${where} is malformed (${issues.join("; ")}). Expected an item written by shaper's admission store; repair or delete it.`,
    { retryable: false, details: { where, issues } },
  );
}
