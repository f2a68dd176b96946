import { seasonIntervals } from "../../domain/config.js";
import { artifactOfSettings } from "../../domain/forecasting/model-artifact.js";
import type { ModelSettings } from "../../domain/forecasting/series-model.js";
import type { ModelRecord } from "../../domain/model-registry.js";
import { FORECAST_MODEL_NAME, modelVersionAt } from "../../domain/retrain/model-parameters.js";
import { trainForecastModel } from "../../domain/retrain/train-model.js";
import type { ArtifactStore } from "../../ports/artifact-store.js";
import type { Clock } from "../../ports/clock.js";
import type { ConfigSource } from "../../ports/config-source.js";
import type { ModelRegistry } from "../../ports/model-registry.js";
import type { UsageStore } from "../../ports/usage-store.js";
import type { UserRegistry } from "../../ports/user-registry.js";
import { readSeries, sampleSeries } from "./read-series.js";
import { sampleSeedOf, type TrainedState, type TrainInput } from "./retrain-state.js";

/** Rolling origins per series the training backtest uses (the most recent before the hold-out). */
export const TRAINING_ORIGINS_PER_SERIES = 12;

export interface TrainCandidateDeps {
  readonly configSource: ConfigSource;
  readonly userRegistry: UserRegistry;
  readonly usageStore: UsageStore;
  readonly artifactStore: ArtifactStore;
  readonly modelRegistry: ModelRegistry;
  readonly clock: Clock;
}

/**
 * The retrain flow's Train step: samples up to `retrain.sampleSeries` series, reads their history
 * up to the start of the hold-out (the last `retrain.holdoutIntervals` intervals before `asOf`
 * stay unseen for Validate), trains the forecasting model (`trainForecastModel`: the seasonal-naive
 * model's season and calibrated interval scale, and the shaper method's variants, all scored by
 * the same rolling backtest; the lowest wQL wins), writes the artefact and registers the
 * candidate version.
 *
 * Re-running with the same state trains the same candidate under the same version (the version
 * comes from the start event's `time`, else `asOf`; the sample from the day), so a retried step
 * overwrites its own artefact.
 *
 * @param deps config, users, usage, artefact store, registry and clock
 * @param input the evaluated state (`asOf` is required)
 * @returns the input plus `candidateVersion`, `artifactUri`, `trainedAt`, `sampleSeed` and the
 *   `training` summary (chosen parameters, every season tried, series and points used)
 * @throws DependencyError when a store fails
 * @example
 * const trained = await trainCandidate(deps, evaluated);
 * const validated = await validateCandidate(deps, trained);
 */
export async function trainCandidate(
  deps: TrainCandidateDeps,
  input: TrainInput,
): Promise<TrainedState> {
  const config = await deps.configSource.load();
  const step = config.intervalSeconds;
  const horizon = config.horizonIntervals;
  const sampleSeed = sampleSeedOf(input.asOf);
  const keys = await sampleSeries(
    deps.userRegistry,
    config,
    sampleSeed,
    config.retrain.sampleSeries,
  );
  const trainEnd = input.asOf - config.retrain.holdoutIntervals * step;
  const trainStart =
    trainEnd - (config.historyIntervals + TRAINING_ORIGINS_PER_SERIES * horizon) * step;
  const series = await readSeries(deps.usageStore, keys, trainStart, trainEnd, step);

  const result = await trainForecastModel(series, {
    horizon,
    historyLength: config.historyIntervals,
    daySteps: seasonIntervals(config),
    originsPerSeries: TRAINING_ORIGINS_PER_SERIES,
  });
  // Named by the start event's time (to the second), so two runs in one interval differ.
  const time = typeof input.time === "string" ? Date.parse(input.time) / 1000 : Number.NaN;
  const version = modelVersionAt(Number.isFinite(time) ? time : input.asOf);
  const trainedAt = deps.clock.nowSeconds();
  const chosen = result.candidates.find((c) => c.parameters === result.parameters);
  const training = {
    ...result.parameters,
    series: chosen?.metrics.series ?? 0,
    points: chosen?.metrics.points ?? 0,
    wql: chosen?.metrics.wql ?? null,
    coverage80: chosen?.metrics.coverage80 ?? null,
    sampled: keys.length,
    range: { from: trainStart, to: trainEnd },
    candidates: result.candidates.map((c) => ({ ...c.parameters, ...c.metrics })),
    seasons: result.seasonalNaive.candidates.map((c) => ({ ...c })),
  };
  const artifactUri = await deps.artifactStore.putJson(
    `models/${FORECAST_MODEL_NAME}/${version}.json`,
    artifactOfSettings(result.parameters, version, trainedAt, training),
  );
  const record: ModelRecord = {
    modelName: FORECAST_MODEL_NAME,
    version,
    artifactUri,
    trainedAt,
    status: "candidate",
    statusReason: `trained on ${training.series} series (${training.points} backtest points): ${describeSettings(result.parameters)}, backtest wQL ${training.wql?.toFixed(4) ?? "n/a"}`,
  };
  await deps.modelRegistry.putVersion(record);
  return {
    ...input,
    candidateVersion: version,
    artifactUri,
    trainedAt,
    sampleSeed,
    training,
  };
}

function describeSettings(settings: ModelSettings): string {
  return settings.kind === "seasonal-naive"
    ? `seasonal-naive, season ${settings.seasonLength} steps, interval scale ${settings.intervalScale}`
    : `shaper, season ${settings.seasonLength} steps${settings.weeklySeasonLength ? `, weekly ${settings.weeklySeasonLength}` : ""}, switch margin ${settings.switchMargin ?? "default"}`;
}
