import { type ShaperConfig, seasonIntervals } from "../config.js";
import { parseModelArtifact, settingsOfArtifact } from "../forecasting/model-artifact.js";
import type { ModelSettings } from "../forecasting/series-model.js";

/**
 * What the retrain flow trains, validates and promotes: the forecasting model's kind and settings
 * (series-model.ts), written as the artefact the model server loads (model-artifact.ts). The
 * registry keeps every version under one model name; the artefact's `kind` says which model it is.
 */

/** Registry name of the forecasting model (versions of any kind live under it). */
export const FORECAST_MODEL_NAME = "demand-forecast";

/** The trained settings of a model version. */
export type ModelParameters = ModelSettings;

/**
 * What the endpoint serves with no artefact: the shaper method with a daily season (the stack's
 * SEASON_LENGTH) and weekly candidates where history allows.
 */
export function defaultModelParameters(
  config: Pick<ShaperConfig, "intervalSeconds">,
): ModelParameters {
  const day = seasonIntervals(config);
  return { kind: "shaper", seasonLength: day, weeklySeasonLength: 7 * day };
}

/**
 * Reads the settings from a loaded artefact, filling what it leaves out as the model server does
 * (season = one day of steps).
 *
 * @param value the artefact's JSON
 * @param source its URI, named in errors
 * @param config the interval length, for the default season
 * @throws ValidationError when it is not a model artefact
 */
export function parametersFromArtifact(
  value: unknown,
  source: string,
  config: Pick<ShaperConfig, "intervalSeconds">,
): ModelParameters {
  return settingsOfArtifact(parseModelArtifact(value, source), seasonIntervals(config));
}

/** `v<yyyymmdd>-<hhmmss>` (UTC) of an epoch second: sortable, safe in SageMaker names and keys. */
export function modelVersionAt(epochSeconds: number): string {
  const iso = new Date(Math.floor(epochSeconds) * 1000).toISOString();
  return `v${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}
