import { z } from "zod";
import type { ModelRecord } from "../model-registry.js";

/**
 * Schemas of the model registry's records, for adapters reading stored items and for the retrain
 * steps' state (a Step Functions payload is untrusted input like any other).
 */

export const ModelMetricsSchema = z.object({
  wql: z.number().nonnegative(),
  coverage80: z.number().min(0).max(1),
  series: z.number().int().nonnegative(),
  points: z.number().int().nonnegative(),
});

/**
 * Version ids are safe in SageMaker resource names (`<endpoint>-<version>`: letters, digits and
 * hyphens) and in DynamoDB keys. Retrain makes them as `v<yyyymmdd>-<hhmmss>`.
 */
export const ModelVersionSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9](-?[A-Za-z0-9])*$/,
    "must be letters and digits, optionally separated by single hyphens (e.g. v20261127-205500)",
  )
  .max(40, "must be at most 40 characters so `<endpoint>-<version>` fits SageMaker's 63");

export const ModelRecordSchema = z.object({
  modelName: z.string().min(1),
  version: ModelVersionSchema,
  artifactUri: z.string().min(1),
  trainedAt: z.number().nonnegative(),
  metrics: ModelMetricsSchema.optional(),
  status: z.enum(["candidate", "promoted", "rejected", "retired"]),
  statusReason: z.string().optional(),
});

/**
 * Reads a stored or passed-along record, dropping undefined optional fields so the result fits
 * `ModelRecord` under `exactOptionalPropertyTypes`.
 *
 * @param value an unknown value (a DynamoDB item without its keys, a JSON state field)
 * @returns the record
 * @throws ZodError when the value is not a model record (callers wrap it with what they read)
 */
export function parseModelRecord(value: unknown): ModelRecord {
  const parsed = ModelRecordSchema.parse(value);
  const { metrics, statusReason, ...rest } = parsed;
  return {
    ...rest,
    ...(metrics ? { metrics } : {}),
    ...(statusReason !== undefined ? { statusReason } : {}),
  };
}
