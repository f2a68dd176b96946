import { z } from "zod";
import {
  ModelMetricsSchema,
  ModelVersionSchema,
} from "../../domain/retrain/model-record-schema.js";
import { intervalStartOf } from "../../domain/time.js";
import type { Clock } from "../../ports/clock.js";

/**
 * The state the retrain flow passes from step to step. Each step's result replaces the state
 * (Step Functions `payloadResponseOnly`), so each step returns its input with its own fields
 * added. Input schemas are loose: they check the fields a step needs and keep the rest.
 */

/** How the flow was started: `{ time, trigger }` from the EventBridge rules, or by hand. */
export const RetrainStartSchema = z.looseObject({
  /** Event time (ISO 8601); the run's `asOf` is the start of the interval containing it. */
  time: z.iso.datetime({ offset: true }).optional(),
  /** "forecast-error", "schedule" or anything a person starting it by hand writes. */
  trigger: z.string().max(200).optional(),
  /** Retrain whatever the error says. */
  force: z.boolean().optional(),
  /** Error accumulated over this many seconds before `asOf` is evaluated. @default 86400 */
  windowSeconds: z
    .int()
    .min(300)
    .max(35 * 86_400)
    .optional(),
});
export type RetrainStart = z.infer<typeof RetrainStartSchema>;

const ErrorMetricsSchema = z.object({
  wql: z.number().nullable(),
  coverage80: z.number().nullable(),
  points: z.number().int().nonnegative(),
});

/** What Evaluate adds. */
export const EvaluatedSchema = RetrainStartSchema.extend({
  /** End of the evaluated window and of the series the later steps read, epoch seconds (interval-aligned). */
  asOf: z.int().nonnegative(),
  needsRetrain: z.boolean(),
  wql: z.number().nullable(),
  coverage80: z.number().nullable(),
  points: z.int().nonnegative(),
  byTier: z.record(z.string(), ErrorMetricsSchema),
  window: z.object({
    from: z.number(),
    to: z.number(),
    fromRunId: z.string(),
    toRunId: z.string(),
  }),
  reasons: z.array(z.string()),
});
export type EvaluatedState = z.infer<typeof EvaluatedSchema>;

/** Train's input: the evaluated state (only `asOf` is required). */
export const TrainInputSchema = z.looseObject({ asOf: z.int().nonnegative() });
export type TrainInput = z.infer<typeof TrainInputSchema>;

/** What Train adds. */
export const TrainedSchema = TrainInputSchema.extend({
  candidateVersion: ModelVersionSchema,
  artifactUri: z.string().min(1),
  trainedAt: z.number(),
  /** Seed of the series sample, so Validate picks the same series. */
  sampleSeed: z.string().min(1),
  /** The trained model's settings (its kind and fields) and what the training rested on. */
  training: z.looseObject({
    kind: z.enum(["shaper", "seasonal-naive"]),
    seasonLength: z.int().positive(),
    series: z.int().nonnegative(),
    points: z.int().nonnegative(),
  }),
});
export type TrainedState = z.infer<typeof TrainedSchema>;

/** Validate's input. */
export const ValidateInputSchema = z.looseObject({
  asOf: z.int().nonnegative(),
  candidateVersion: ModelVersionSchema,
  artifactUri: z.string().min(1),
  sampleSeed: z.string().min(1).optional(),
});
export type ValidateInput = z.infer<typeof ValidateInputSchema>;

/** What Validate adds. */
export const ValidatedSchema = ValidateInputSchema.extend({
  promote: z.boolean(),
  reason: z.string(),
  candidateMetrics: ModelMetricsSchema,
  currentMetrics: ModelMetricsSchema,
  /** The version validated against; Promote moves the pointer only if it still names it. */
  currentVersion: z.string().nullable(),
});
export type ValidatedState = z.infer<typeof ValidatedSchema>;

/** Promote's input. */
export const PromoteInputSchema = z.looseObject({
  candidateVersion: ModelVersionSchema,
  currentVersion: z.string().nullable(),
  /** Set by an earlier Promote of this run that started the endpoint update. */
  deployStarted: z.boolean().optional(),
  /** How many times Promote found the update still in progress. */
  deployChecks: z.int().nonnegative().optional(),
});
export type PromoteInput = z.infer<typeof PromoteInputSchema>;

/** Adapt's input: any state; Evaluate's `byTier` coverage is used when present. */
export const AdaptInputSchema = z.looseObject({
  time: z.iso.datetime({ offset: true }).optional(),
  asOf: z.int().nonnegative().optional(),
  byTier: z.record(z.string(), ErrorMetricsSchema).optional(),
});
export type AdaptInput = z.infer<typeof AdaptInputSchema>;

/**
 * The run's reference time: the start of the interval containing the event time (or now), so
 * a retried step reads exactly the same data.
 *
 * @param time ISO 8601 event time, if any
 * @param clock used when there is none
 * @param intervalSeconds the config's interval
 * @returns epoch seconds, aligned to the interval
 */
export function resolveAsOf(
  time: string | undefined,
  clock: Clock,
  intervalSeconds: number,
): number {
  const seconds = time === undefined ? clock.nowSeconds() : Date.parse(time) / 1000;
  return intervalStartOf(seconds, intervalSeconds);
}

/** Seed of the run's series sample: one per UTC day, so a day's runs compare the same series. */
export function sampleSeedOf(asOf: number): string {
  return `retrain-${new Date(Math.floor(asOf / 86_400) * 86_400_000).toISOString().slice(0, 10)}`;
}
