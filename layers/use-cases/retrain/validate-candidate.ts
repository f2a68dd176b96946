import type { ShaperConfig } from "../../domain/config.js";
import { NotFoundError } from "../../domain/errors.js";
import {
  defaultModelParameters,
  FORECAST_MODEL_NAME,
  type ModelParameters,
  parametersFromArtifact,
} from "../../domain/retrain/model-parameters.js";
import { decidePromotion, scoreOnHoldout } from "../../domain/retrain/validate-model.js";
import type { ArtifactStore } from "../../ports/artifact-store.js";
import type { ConfigSource } from "../../ports/config-source.js";
import type { ModelRegistry } from "../../ports/model-registry.js";
import type { UsageStore } from "../../ports/usage-store.js";
import type { UserRegistry } from "../../ports/user-registry.js";
import { readSeries, sampleSeries } from "./read-series.js";
import { sampleSeedOf, type ValidatedState, type ValidateInput } from "./retrain-state.js";

export interface ValidateCandidateDeps {
  readonly configSource: ConfigSource;
  readonly userRegistry: UserRegistry;
  readonly usageStore: UsageStore;
  readonly artifactStore: ArtifactStore;
  readonly modelRegistry: ModelRegistry;
}

/**
 * The retrain flow's Validate step: the candidate and the current model (the registry's current
 * version, or the endpoint's built-in defaults when none was promoted yet) forecast the same
 * held-out intervals — the last `retrain.holdoutIntervals` before `asOf`, which training never
 * saw — of the same sampled series, scored by the same code. The candidate is promoted only if
 * its wQL ≤ current × (1 − `retrain.minRelativeImprovement`). Either way its metrics and the
 * reason are written to the registry; a rejected candidate is marked "rejected" there, so it can
 * never be promoted.
 *
 * @param deps config, users, usage, artefacts and registry
 * @param input the trained state (`asOf`, `candidateVersion`, `artifactUri`, `sampleSeed`)
 * @returns the input plus `promote`, `reason`, `candidateMetrics`, `currentMetrics` and
 *   `currentVersion` (the version compared against; null for the defaults)
 * @throws NotFoundError when the candidate is not in the registry
 * @throws ValidationError when an artefact is not a seasonal-naive artefact
 * @example
 * const validated = await validateCandidate(deps, trained);
 * if (validated.promote) await promoteModel(deps, validated);
 */
export async function validateCandidate(
  deps: ValidateCandidateDeps,
  input: ValidateInput,
): Promise<ValidatedState> {
  const config = await deps.configSource.load();
  const candidate = await deps.modelRegistry.getVersion(
    FORECAST_MODEL_NAME,
    input.candidateVersion,
  );
  if (!candidate) {
    throw new NotFoundError(
      `Candidate ${FORECAST_MODEL_NAME} version ${input.candidateVersion} is not in the model registry. Expected the Train step to have registered it; re-run the flow from Train.`,
      { details: { version: input.candidateVersion } },
    );
  }
  const candidateParameters = parametersFromArtifact(
    await deps.artifactStore.getJson(candidate.artifactUri),
    candidate.artifactUri,
    config,
  );
  const current = await deps.modelRegistry.getCurrent(FORECAST_MODEL_NAME);
  const currentParameters = current
    ? await loadParameters(deps.artifactStore, current.artifactUri, config)
    : defaultModelParameters(config);

  const step = config.intervalSeconds;
  const keys = await sampleSeries(
    deps.userRegistry,
    config,
    input.sampleSeed ?? sampleSeedOf(input.asOf),
    config.retrain.sampleSeries,
  );
  const from = input.asOf - (config.historyIntervals + config.retrain.holdoutIntervals) * step;
  const series = await readSeries(deps.usageStore, keys, from, input.asOf, step);
  const holdout = {
    horizon: config.horizonIntervals,
    historyLength: config.historyIntervals,
    holdout: config.retrain.holdoutIntervals,
  };
  const candidateMetrics = await scoreOnHoldout(series, candidateParameters, holdout);
  const currentMetrics = await scoreOnHoldout(series, currentParameters, holdout);
  const decision = decidePromotion(
    candidateMetrics,
    currentMetrics,
    config.retrain.minRelativeImprovement,
  );
  const against = current ? `version ${current.version}` : "the built-in defaults";
  const reason = `${decision.reason} (current: ${against})`;

  if (candidate.status === "candidate") {
    await deps.modelRegistry.putVersion({
      ...candidate,
      metrics: candidateMetrics,
      status: decision.promote ? "candidate" : "rejected",
      statusReason: reason,
    });
  }
  return {
    ...input,
    promote: decision.promote && candidate.status === "candidate",
    reason:
      candidate.status === "candidate"
        ? reason
        : `${reason}; not promoted: the registry already marks it ${candidate.status}`,
    candidateMetrics,
    currentMetrics,
    currentVersion: current?.version ?? null,
  };
}

async function loadParameters(
  store: ArtifactStore,
  uri: string,
  config: ShaperConfig,
): Promise<ModelParameters> {
  return parametersFromArtifact(await store.getJson(uri), uri, config);
}
