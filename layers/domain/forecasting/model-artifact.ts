import { z } from "zod";
import { toFieldIssues } from "../config.js";
import { ValidationError } from "../errors.js";
import type { ModelSettings } from "./series-model.js";

/**
 * The model the retrain flow trained, as it writes it (JSON in S3,
 * `s3://<bucket>/models/<name>/<version>.json`) and the model server loads it at start: which
 * kind of model ("shaper", the product's per-series selection, or "seasonal-naive", the floor) and
 * its settings. Unknown keys are kept, so a newer trainer can add fields an older server ignores.
 */
const common = {
  /** The version the registry knows the artefact by. */
  version: z.string().min(1, { error: "must not be empty" }),
  /** Steps per season (one day); overrides the server's SEASON_LENGTH when present. */
  seasonLength: z.int().min(1).max(100_000).optional(),
  /** Epoch seconds. */
  trainedAt: z.number().optional(),
};

export const SeasonalNaiveArtifactSchema = z.looseObject({
  kind: z.literal("seasonal-naive"),
  ...common,
  /** Multiplies every interval offset (1 = as estimated in sample). */
  intervalScale: z.number().min(0).max(100).optional(),
  /** Seasonal differences needed before their empirical distribution is used. */
  minSeasonalErrors: z.int().min(1).optional(),
});

export const ShaperArtifactSchema = z.looseObject({
  kind: z.literal("shaper"),
  ...common,
  /** Steps per week: weekly candidates for series holding two weeks; absent = none. */
  weeklySeasonLength: z.int().min(1).max(700_000).optional(),
  /** How much a series' own best option must beat the batch default (selection.ts). */
  switchMargin: z.number().min(0).optional(),
});

export const ModelArtifactSchema = z.discriminatedUnion(
  "kind",
  [SeasonalNaiveArtifactSchema, ShaperArtifactSchema],
  { error: 'must be "shaper" or "seasonal-naive"' },
);
export type ModelArtifact = z.infer<typeof ModelArtifactSchema>;

/**
 * Checks a loaded artefact.
 *
 * @param value the parsed JSON
 * @param source where it came from (a URI), named in the error
 * @throws ValidationError naming every bad field
 */
export function parseModelArtifact(value: unknown, source: string): ModelArtifact {
  const parsed = ModelArtifactSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = toFieldIssues(parsed.error);
  throw new ValidationError(
    `Model artefact ${source} is invalid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Expected the JSON the retrain flow writes ({ "kind": "shaper" | "seasonal-naive", "version": ... }).`,
    issues,
  );
}

/**
 * The model settings an artefact describes, filling what it leaves out.
 *
 * @param artifact a parsed artefact
 * @param daySteps steps per day, the season when the artefact does not say
 */
export function settingsOfArtifact(artifact: ModelArtifact, daySteps: number): ModelSettings {
  const seasonLength = artifact.seasonLength ?? daySteps;
  if (artifact.kind === "seasonal-naive") {
    return {
      kind: "seasonal-naive",
      seasonLength,
      intervalScale: artifact.intervalScale ?? 1,
      ...(artifact.minSeasonalErrors === undefined
        ? {}
        : { minSeasonalErrors: artifact.minSeasonalErrors }),
    };
  }
  return {
    kind: "shaper",
    seasonLength,
    ...(artifact.weeklySeasonLength === undefined
      ? {}
      : { weeklySeasonLength: artifact.weeklySeasonLength }),
    ...(artifact.switchMargin === undefined ? {} : { switchMargin: artifact.switchMargin }),
  };
}

/**
 * The artefact for a model's settings.
 *
 * @param settings the trained settings
 * @param version the registry version
 * @param trainedAt epoch seconds
 * @param training diagnostics kept with the artefact (the schema keeps unknown keys)
 */
export function artifactOfSettings(
  settings: ModelSettings,
  version: string,
  trainedAt: number,
  training: Readonly<Record<string, unknown>>,
): ModelArtifact {
  return { ...settings, version, trainedAt, training };
}
