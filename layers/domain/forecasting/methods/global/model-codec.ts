import { z } from "zod";
import { toFieldIssues } from "../../../config.js";
import { ValidationError } from "../../../errors.js";
import { type GlobalModel, modelMemberSize } from "./global-model.js";

/**
 * The global model as versioned JSON: what the retrain flow writes to S3
 * (`s3://<bucket>/models/global/<version>.json`) and the model server loads. The weights are
 * 32-bit floats, little-endian, base64 — about 5.3 bytes per parameter, so a 60,000-parameter
 * model is ~320 KB — and training rounds them to 32 bits, so a loaded model forecasts exactly
 * as the trained one.
 */

/** Version of the JSON layout; bump on any change a reader must know about. */
export const GLOBAL_MODEL_FORMAT_VERSION = 1;

const StaticFeatureSchema = z.object({ key: z.string(), values: z.array(z.string()) });

const positiveInt = z.int().min(1);

export const GlobalModelJsonSchema = z.object({
  kind: z.literal("global-mlp", { error: 'must be "global-mlp"' }),
  formatVersion: z.literal(GLOBAL_MODEL_FORMAT_VERSION, {
    error: `must be ${GLOBAL_MODEL_FORMAT_VERSION}; this reader knows no other layout`,
  }),
  layout: z.object({
    seasonLength: positiveInt,
    weeklySeasonLength: z.int().min(0),
    horizon: positiveInt,
    recentLags: positiveInt,
    seasonalPre: z.int().min(0),
    seasonalStride: positiveInt,
    outputStride: positiveInt,
    blockCount: positiveInt,
    blockSize: positiveInt,
    scaleWindow: positiveInt,
    longWindow: positiveInt,
    staticFeatures: z.array(StaticFeatureSchema),
  }),
  levels: z.array(z.number().gt(0).lt(1)).min(1),
  hiddenSizes: z.array(positiveInt),
  cohorts: z.object({
    bySignature: z.record(z.string(), z.number().nonnegative()),
    byFeature: z.record(z.string(), z.number().nonnegative()),
    overall: z.number().nonnegative(),
  }),
  nonNegative: z.boolean(),
  flatWhenConstant: z.boolean(),
  snapTolerance: z.number().min(0).max(1),
  ensembleSize: z.int().min(1).max(64),
  /** Float32 little-endian, base64. */
  params: z.string(),
});
export type GlobalModelJson = z.infer<typeof GlobalModelJsonSchema>;

/**
 * The model as JSON.
 *
 * @param model a trained model
 * @returns a JSON-serialisable object (`JSON.stringify` it)
 */
export function serializeGlobalModel(model: GlobalModel): GlobalModelJson {
  return {
    kind: "global-mlp",
    formatVersion: GLOBAL_MODEL_FORMAT_VERSION,
    layout: {
      ...model.layout,
      staticFeatures: model.layout.staticFeatures.map((f) => ({
        key: f.key,
        values: [...f.values],
      })),
    },
    levels: [...model.levels],
    hiddenSizes: [...model.hiddenSizes],
    cohorts: {
      bySignature: { ...model.cohorts.bySignature },
      byFeature: { ...model.cohorts.byFeature },
      overall: model.cohorts.overall,
    },
    nonNegative: model.nonNegative,
    flatWhenConstant: model.flatWhenConstant,
    snapTolerance: model.snapTolerance,
    ensembleSize: model.ensembleSize,
    params: encodeFloat32(model.params),
  };
}

/**
 * Reads a model written by `serializeGlobalModel`.
 *
 * @param value the parsed JSON
 * @param source where it came from (a URI), named in errors
 * @returns the model
 * @throws ValidationError when a field is wrong or the weights do not fit the layout
 */
export function parseGlobalModel(value: unknown, source: string): GlobalModel {
  const parsed = GlobalModelJsonSchema.safeParse(value);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    throw new ValidationError(
      `Global model ${source} is invalid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Expected the JSON serializeGlobalModel writes.`,
      issues,
    );
  }
  const json = parsed.data;
  const params = decodeFloat32(json.params, source);
  const expected = modelMemberSize(json) * json.ensembleSize;
  if (params.length !== expected) {
    throw new ValidationError(
      `Global model ${source} has ${params.length} weights; its layout needs ${expected}. The file is truncated or was written for another layout; retrain or restore it.`,
      [{ field: "params", message: `has ${params.length} weights; expected ${expected}` }],
    );
  }
  return {
    layout: json.layout,
    levels: json.levels,
    hiddenSizes: json.hiddenSizes,
    params,
    cohorts: json.cohorts,
    nonNegative: json.nonNegative,
    flatWhenConstant: json.flatWhenConstant,
    snapTolerance: json.snapTolerance,
    ensembleSize: json.ensembleSize,
  };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Float32 little-endian bytes of `values`, base64 (RFC 4648, padded). */
export function encodeFloat32(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = i + 1 < bytes.length ? (bytes[i + 1] as number) : 0;
    const c = i + 2 < bytes.length ? (bytes[i + 2] as number) : 0;
    const n = (a << 16) | (b << 8) | c;
    out += ALPHABET[(n >> 18) & 63];
    out += ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : "=";
  }
  return out;
}

/**
 * Decodes `encodeFloat32` output.
 *
 * @throws ValidationError when the text is not base64 of a whole number of float32 values
 */
export function decodeFloat32(text: string, source = "weights"): Float64Array {
  const clean = text.replace(/=+$/, "");
  const invalid = () =>
    new ValidationError(
      `Weights in ${source} are not base64 of float32 values (length ${text.length}). Expected the text encodeFloat32 writes.`,
      [{ field: "params", message: "is not base64 of float32 values" }],
    );
  if (/[^A-Za-z0-9+/]/.test(clean) || clean.length % 4 === 1) throw invalid();
  const byteCount = Math.floor((clean.length * 3) / 4);
  if (byteCount % 4 !== 0) throw invalid();
  const bytes = new Uint8Array(byteCount);
  let at = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const ch = clean[i + j];
      n = (n << 6) | (ch === undefined ? 0 : ALPHABET.indexOf(ch));
    }
    if (at < byteCount) bytes[at++] = (n >> 16) & 255;
    if (at < byteCount) bytes[at++] = (n >> 8) & 255;
    if (at < byteCount) bytes[at++] = n & 255;
  }
  const view = new DataView(bytes.buffer);
  const out = new Float64Array(byteCount / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
