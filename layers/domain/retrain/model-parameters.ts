import { type ShaperConfig, seasonIntervals } from "../config.js";
import {
  parseSeasonalNaiveArtifact,
  type SeasonalNaiveArtifact,
} from "../forecasting/model-artifact.js";

/**
 * What the retrain flow fits for the seasonal-naive model: its season length and the factor its
 * empirical intervals are scaled by. These are the fields of the artefact the model server loads
 * (`SeasonalNaiveArtifact`); the registry names the model by the artefact's `kind`.
 */

/** Registry name of the forecasting model (the artefact's `kind`). */
export const FORECAST_MODEL_NAME = "seasonal-naive";

export interface ModelParameters {
  /** Steps per season. */
  readonly seasonLength: number;
  /** Multiplies every interval offset (1 = intervals as estimated in sample). */
  readonly intervalScale: number;
  /** Seasonal differences needed before their distribution is used; absent = the model's default. */
  readonly minSeasonalErrors?: number;
}

/**
 * The parameters the endpoint serves with no artefact: one day of steps (the stack's
 * SEASON_LENGTH) and unscaled intervals.
 */
export function defaultModelParameters(
  config: Pick<ShaperConfig, "intervalSeconds">,
): ModelParameters {
  return { seasonLength: seasonIntervals(config), intervalScale: 1 };
}

/**
 * Reads the parameters from a loaded artefact, filling what it leaves out as the model server
 * does (season from SEASON_LENGTH = one day, scale 1).
 *
 * @param value the artefact's JSON
 * @param source its URI, named in errors
 * @param config the interval length, for the default season (one day of steps)
 * @returns season length (steps), interval scale and, when set, minSeasonalErrors
 * @throws ValidationError when it is not a seasonal-naive artefact
 */
export function parametersFromArtifact(
  value: unknown,
  source: string,
  config: Pick<ShaperConfig, "intervalSeconds">,
): ModelParameters {
  const artifact = parseSeasonalNaiveArtifact(value, source);
  const defaults = defaultModelParameters(config);
  return {
    seasonLength: artifact.seasonLength ?? defaults.seasonLength,
    intervalScale: artifact.intervalScale ?? defaults.intervalScale,
    ...(artifact.minSeasonalErrors !== undefined
      ? { minSeasonalErrors: artifact.minSeasonalErrors }
      : {}),
  };
}

/**
 * The artefact the model server loads for these parameters.
 *
 * @param parameters fitted parameters
 * @param version the registry version
 * @param trainedAt epoch seconds
 * @param training diagnostics kept with the artefact (the schema keeps unknown keys)
 * @returns the artefact JSON
 */
export function artifactOf(
  parameters: ModelParameters,
  version: string,
  trainedAt: number,
  training: Readonly<Record<string, unknown>>,
): SeasonalNaiveArtifact {
  return {
    kind: "seasonal-naive",
    version,
    seasonLength: parameters.seasonLength,
    intervalScale: parameters.intervalScale,
    ...(parameters.minSeasonalErrors !== undefined
      ? { minSeasonalErrors: parameters.minSeasonalErrors }
      : {}),
    trainedAt,
    training,
  };
}

/** `v<yyyymmdd>-<hhmmss>` (UTC) of an epoch second: sortable, safe in SageMaker names and keys. */
export function modelVersionAt(epochSeconds: number): string {
  const iso = new Date(Math.floor(epochSeconds) * 1000).toISOString();
  return `v${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}
