import { ConflictError, NotFoundError } from "../../domain/errors.js";
import { FORECAST_MODEL_NAME } from "../../domain/retrain/model-parameters.js";
import type { ModelDeployer } from "../../ports/model-deployer.js";
import type { ModelRegistry } from "../../ports/model-registry.js";
import type { PromoteInput } from "./retrain-state.js";

export interface PromoteModelDeps {
  readonly modelRegistry: ModelRegistry;
  readonly deployer: ModelDeployer;
}

/** What Promote adds. */
export interface PromotedFields {
  /** The version now current, or null when the candidate was not promoted. */
  readonly promotedVersion: string | null;
  /** The version it replaced (null when none was current). */
  readonly previousVersion: string | null;
  readonly promotionNote: string;
}

/**
 * The retrain flow's Promote step: deploys the validated candidate to the forecasting endpoint,
 * then moves the registry pointer to it — in that order, so a failed deploy leaves the pointer
 * (and the endpoint, which SageMaker keeps on its old config) where it was. The pointer moves only
 * if it still names the version the candidate was validated against; if another promotion came
 * first the candidate is not promoted and is marked rejected with that reason (it was never
 * compared with the new current model). Re-running after success changes nothing.
 *
 * @param deps registry and deployer
 * @param input the validated state (`candidateVersion`, `currentVersion`)
 * @returns the input plus `promotedVersion`, `previousVersion` and a `promotionNote`
 * @throws NotFoundError when the candidate is not in the registry
 * @throws ConflictError when the candidate was rejected, or a promotion raced this one after the
 *   deploy (the endpoint is then put back on the registry's current version)
 * @throws DependencyError when the deploy fails (the pointer is unchanged; the step is retried)
 * @example
 * const promoted = await promoteModel({ modelRegistry, deployer }, validated);
 */
export async function promoteModel<I extends PromoteInput>(
  deps: PromoteModelDeps,
  input: I,
): Promise<I & PromotedFields> {
  const { modelRegistry, deployer } = deps;
  const version = input.candidateVersion;
  const expected = input.currentVersion ?? undefined;
  const candidate = await modelRegistry.getVersion(FORECAST_MODEL_NAME, version);
  if (!candidate) {
    throw new NotFoundError(
      `Candidate ${FORECAST_MODEL_NAME} version ${version} is not in the model registry. Expected Train and Validate to have registered it.`,
      { details: { version } },
    );
  }
  const current = await modelRegistry.getCurrent(FORECAST_MODEL_NAME);
  if (current?.version === version) {
    // A retry after the pointer moved: make sure the endpoint serves it, and report success.
    await deployer.deploy(current);
    return {
      ...input,
      promotedVersion: version,
      previousVersion: expected ?? null,
      promotionNote: `version ${version} was already current; endpoint checked`,
    };
  }
  if (current?.version !== expected) {
    const note = `the current model changed from ${expected ?? "none"} to ${current?.version ?? "none"} after validation; the candidate was not compared with it`;
    await modelRegistry.putVersion({ ...candidate, status: "rejected", statusReason: note });
    return {
      ...input,
      promotedVersion: null,
      previousVersion: current?.version ?? null,
      promotionNote: note,
    };
  }
  if (candidate.status !== "candidate") {
    throw new ConflictError(
      `${FORECAST_MODEL_NAME} version ${version} is ${candidate.status} (${candidate.statusReason ?? "no reason recorded"}); only a validated candidate is promoted.`,
      { details: { version, status: candidate.status } },
    );
  }

  await deployer.deploy(candidate);
  const outcome = await modelRegistry.promote(FORECAST_MODEL_NAME, version, expected);
  if (outcome === "conflict") {
    const winner = await modelRegistry.getCurrent(FORECAST_MODEL_NAME);
    if (winner) await deployer.deploy(winner);
    throw new ConflictError(
      `Another promotion (${winner?.version ?? "none"}) moved the ${FORECAST_MODEL_NAME} pointer while ${version} was being deployed; the endpoint was put back on ${winner?.version ?? "its previous config"}. Re-run the flow to validate against the new current model.`,
      { details: { version, current: winner?.version } },
    );
  }
  return {
    ...input,
    promotedVersion: version,
    previousVersion: expected ?? null,
    promotionNote: `deployed ${version} and moved the pointer from ${expected ?? "none"}`,
  };
}
