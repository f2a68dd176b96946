import { z } from "zod";
import { toFieldIssues } from "../config.js";
import { ValidationError } from "../errors.js";

/**
 * The fitted parameters of the seasonal-naive model, as the retrain flow writes them (JSON in S3,
 * `s3://<bucket>/models/<name>/<version>.json`) and the model server loads them at start.
 * Unknown keys are kept, so a newer trainer can add parameters an older server ignores.
 */
export const SeasonalNaiveArtifactSchema = z.looseObject({
  /** Which model the parameters are for. */
  kind: z.literal("seasonal-naive", { error: 'must be "seasonal-naive"' }),
  /** The version the registry knows the artefact by. */
  version: z.string().min(1, { error: "must not be empty" }),
  /** Steps per season; overrides the server's SEASON_LENGTH when present. */
  seasonLength: z.int().min(1).max(100_000).optional(),
  /** Multiplies every interval offset (1 = as estimated in sample). */
  intervalScale: z.number().min(0).max(100).optional(),
  /** Seasonal differences needed before their empirical distribution is used. */
  minSeasonalErrors: z.int().min(1).optional(),
  /** Epoch seconds. */
  trainedAt: z.number().optional(),
});
export type SeasonalNaiveArtifact = z.infer<typeof SeasonalNaiveArtifactSchema>;

/**
 * Checks a loaded artefact.
 *
 * @param value the parsed JSON
 * @param source where it came from (a URI), named in the error
 * @throws ValidationError naming every bad field
 */
export function parseSeasonalNaiveArtifact(value: unknown, source: string): SeasonalNaiveArtifact {
  const parsed = SeasonalNaiveArtifactSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = toFieldIssues(parsed.error);
  throw new ValidationError(
    `Model artefact ${source} is invalid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Expected the JSON the retrain flow writes ({ "kind": "seasonal-naive", "version": ... }).`,
    issues,
  );
}
