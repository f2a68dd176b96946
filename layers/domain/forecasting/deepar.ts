import { z } from "zod";
import { formatDeepArTimestamp, parseDeepArTimestamp } from "../time.js";
import { parseQuantileLevel } from "./quantiles.js";

/**
 * The request and response JSON of SageMaker's DeepAR algorithm
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/deepar-in-formats.html), spoken by the
 * forecast function's endpoint adapter and by the project's own model server, so either side
 * can be swapped for a real DeepAR endpoint.
 *
 * Request: `{ instances: [{ start, target, cat?, dynamic_feat? }], configuration? }`, where
 * `start` is "YYYY-MM-DD HH:MM:SS" (or a date), `target` holds numbers with "NaN" for missing
 * values, `cat` the categorical features, `dynamic_feat` feature series of length
 * len(target) + prediction_length. `configuration` is optional: `num_samples`, `output_types`
 * (subset of "mean", "quantiles", "samples"; default mean and quantiles) and `quantiles` as
 * strings (default "0.1"…"0.9").
 *
 * Response: `{ predictions: [{ mean?, quantiles?: { "0.1": [...] }, samples? }] }`, one per
 * instance, in order, each array `prediction_length` long.
 */

export const DEEPAR_OUTPUT_TYPES = ["mean", "quantiles", "samples"] as const;
export type DeepArOutputType = (typeof DEEPAR_OUTPUT_TYPES)[number];

/** What DeepAR answers when the request has no `configuration`. */
export const DEEPAR_DEFAULTS = {
  numSamples: 100,
  outputTypes: ["mean", "quantiles"] as readonly DeepArOutputType[],
  quantiles: ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"] as readonly string[],
} as const;

/** Most sample paths a request may ask for (each is prediction_length numbers per instance). */
export const MAX_NUM_SAMPLES = 1_000;

/** The literal DeepAR uses for a missing value in `target`. */
export const DEEPAR_MISSING = "NaN";

const TargetValueSchema = z.union([z.number(), z.literal(DEEPAR_MISSING), z.null()], {
  error: 'must be a finite number, "NaN" or null (missing)',
});

const StartSchema = z
  .string({ error: 'must be a timestamp string "YYYY-MM-DD HH:MM:SS"' })
  .refine((s) => parseDeepArTimestamp(s) !== undefined, {
    error: 'must be a timestamp "YYYY-MM-DD HH:MM:SS" or a date "YYYY-MM-DD"',
  });

export const DeepArInstanceSchema = z.object({
  start: StartSchema,
  target: z
    .array(TargetValueSchema, { error: "must be an array of values" })
    .min(1, { error: 'must hold at least one value; send ["NaN"] for a series with no history' }),
  cat: z
    .array(z.int({ error: "must be an integer" }).nonnegative({ error: "must be ≥ 0" }))
    .optional(),
  dynamic_feat: z
    .array(z.array(z.number({ error: "must be a finite number (no missing values)" })))
    .optional(),
  /**
   * shaper's extension (not DeepAR's): the state the model returned for this series last time,
   * opaque to the caller; the model resumes from it instead of refitting (series-model.ts).
   */
  state: z.unknown().optional(),
});
export type DeepArInstance = z.infer<typeof DeepArInstanceSchema>;

const QuantileStringSchema = z
  .union([z.string(), z.number()], { error: 'must be a quantile level such as "0.9"' })
  .transform((value, ctx) => {
    const text = String(value);
    if (parseQuantileLevel(text) === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `"${text}" is not a quantile level; expected a decimal strictly between 0 and 1, e.g. "0.9"`,
      });
      return z.NEVER;
    }
    return text;
  });

export const DeepArConfigurationSchema = z.object({
  num_samples: z
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(MAX_NUM_SAMPLES, { error: `must be at most ${MAX_NUM_SAMPLES}` })
    .optional(),
  output_types: z
    .array(z.enum(DEEPAR_OUTPUT_TYPES, { error: 'must be "mean", "quantiles" or "samples"' }))
    .min(1, { error: "must name at least one output type" })
    .optional(),
  quantiles: z.array(QuantileStringSchema).min(1, { error: "must list a level" }).optional(),
});
export type DeepArConfiguration = z.infer<typeof DeepArConfigurationSchema>;

/**
 * The request schema. With `predictionLength`, each `dynamic_feat` series must be
 * len(target) + predictionLength long, as DeepAR requires.
 */
export function deepArRequestSchema(predictionLength?: number) {
  return z
    .object({
      instances: z
        .array(DeepArInstanceSchema, { error: "must be an array of instances" })
        .min(1, { error: "must hold at least one instance" }),
      configuration: DeepArConfigurationSchema.optional(),
    })
    .superRefine((request, ctx) => {
      if (predictionLength === undefined) return;
      request.instances.forEach((instance, i) => {
        const wanted = instance.target.length + predictionLength;
        instance.dynamic_feat?.forEach((feature, f) => {
          if (feature.length !== wanted) {
            ctx.addIssue({
              code: "custom",
              path: ["instances", i, "dynamic_feat", f],
              message: `has ${feature.length} values; expected len(target) + prediction_length = ${wanted}`,
            });
          }
        });
      });
    });
}
export type DeepArRequest = z.infer<ReturnType<typeof deepArRequestSchema>>;

const FiniteArraySchema = z.array(z.number());

export const DeepArPredictionSchema = z.object({
  mean: FiniteArraySchema.optional(),
  quantiles: z.record(z.string(), FiniteArraySchema).optional(),
  samples: z.array(FiniteArraySchema).optional(),
  /** shaper's extension: the series' state to send back next time (opaque). */
  state: z.unknown().optional(),
  /**
   * shaper's extension: true when the model continued the state it was given over the new
   * values instead of refitting, so the values before the state's origin were not needed.
   */
  resumed: z.boolean().optional(),
});
export type DeepArPrediction = z.infer<typeof DeepArPredictionSchema>;

export const DeepArResponseSchema = z.object({
  predictions: z.array(DeepArPredictionSchema),
});
export type DeepArResponse = z.infer<typeof DeepArResponseSchema>;

/** One series as shaper holds it: epoch seconds and NaN for missing values. */
export interface SeriesInstance {
  /** Epoch seconds of target[0]. */
  readonly start: number;
  readonly target: readonly number[];
  readonly cat?: readonly number[];
  readonly dynamicFeat?: readonly (readonly number[])[];
  /** The model's state for the series from its last forecast (opaque). */
  readonly state?: unknown;
}

/** Writes a series as a DeepAR instance (NaN and other non-finite values become "NaN"). */
export function toDeepArInstance(series: SeriesInstance): DeepArInstance {
  return {
    start: formatDeepArTimestamp(series.start),
    target: series.target.map((v) => (Number.isFinite(v) ? v : DEEPAR_MISSING)),
    ...(series.cat ? { cat: [...series.cat] } : {}),
    ...(series.dynamicFeat ? { dynamic_feat: series.dynamicFeat.map((f) => [...f]) } : {}),
    ...(series.state === undefined ? {} : { state: series.state }),
  };
}

/** Reads a DeepAR target: "NaN" and null become NaN. */
export function fromDeepArTarget(target: readonly (number | string | null)[]): number[] {
  return target.map((v) => (typeof v === "number" ? v : Number.NaN));
}
