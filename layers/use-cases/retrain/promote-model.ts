import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type { ModelRecord } from "../../domain/model-registry.js";
import { FORECAST_MODEL_NAME } from "../../domain/retrain/model-parameters.js";
import type { ModelDeployer } from "../../ports/model-deployer.js";
import type { ModelRegistry } from "../../ports/model-registry.js";
import type { PromoteInput } from "./retrain-state.js";

/**
 * Promote checks left while the endpoint updates before the candidate is given up (with the
 * state machine's 60 s wait between checks: about an hour, inside the flow's 2 h timeout).
 */
export const MAX_DEPLOY_CHECKS = 60;

export interface PromoteModelDeps {
  readonly modelRegistry: ModelRegistry;
  readonly deployer: ModelDeployer;
}

/** What Promote adds. */
export interface PromotedFields {
  /** The version now current, or null when the candidate was not (yet) promoted. */
  readonly promotedVersion: string | null;
  /** The version it replaced (null when none was current). */
  readonly previousVersion: string | null;
  /**
   * `promoted`: the endpoint serves the candidate and the pointer names it; `pending`: the endpoint
   * is still updating — the state machine waits and runs Promote again; `rejected`: not promoted
   * (see `promotionNote`).
   */
  readonly deployment: "promoted" | "pending" | "rejected";
  readonly deployStarted: boolean;
  readonly deployChecks: number;
  readonly promotionNote: string;
}

/**
 * The retrain flow's Promote step. It moves the registry pointer only once the endpoint SERVES the
 * candidate, so the pointer never names a version the endpoint does not run:
 * 1. The pointer must still name the version the candidate was validated against; otherwise the
 *    candidate is rejected (it was never compared with the new current model).
 * 2. Not deployed yet → start the endpoint update (SageMaker: CreateModel, CreateEndpointConfig,
 *    UpdateEndpoint). Updating → `pending`: the state machine waits and calls Promote again.
 * 3. Serving → move the pointer (conditional on the validated version; if another promotion won
 *    meanwhile, the endpoint is put back on the winner and the step fails with a conflict).
 * 4. The update was started but the endpoint serves another config (SageMaker rolled back: the new
 *    model failed to start) or failed → the candidate is rejected with that reason; the pointer and
 *    the endpoint's old config stay.
 * Re-running after success changes nothing.
 *
 * @param deps registry and deployer
 * @param input the validated state (`candidateVersion`, `currentVersion`, and this step's own
 *   `deployStarted` / `deployChecks` on later passes)
 * @returns the input plus `promotedVersion`, `previousVersion`, `deployment` and a `promotionNote`
 * @throws NotFoundError when the candidate is not in the registry
 * @throws ConflictError when the candidate was rejected, or a promotion raced this one
 * @throws DependencyError when the deploy is refused (the pointer is unchanged; the step is retried)
 * @example
 * let state = await promoteModel({ modelRegistry, deployer }, validated);
 * while (state.deployment === "pending") state = await promoteModel(deps, state); // after a wait
 */
export async function promoteModel<I extends PromoteInput>(
  deps: PromoteModelDeps,
  input: I,
): Promise<I & PromotedFields> {
  const { modelRegistry, deployer } = deps;
  const version = input.candidateVersion;
  const expected = input.currentVersion ?? undefined;
  const started = input.deployStarted ?? false;
  const checks = input.deployChecks ?? 0;
  const done = (
    fields: Omit<PromotedFields, "deployStarted" | "deployChecks"> & {
      readonly deployStarted?: boolean;
      readonly deployChecks?: number;
    },
  ): I & PromotedFields => ({
    ...input,
    ...fields,
    deployStarted: fields.deployStarted ?? started,
    deployChecks: fields.deployChecks ?? checks,
  });

  const candidate = await modelRegistry.getVersion(FORECAST_MODEL_NAME, version);
  if (!candidate) {
    throw new NotFoundError(
      `Candidate ${FORECAST_MODEL_NAME} version ${version} is not in the model registry. Expected Train and Validate to have registered it.`,
      { details: { version } },
    );
  }
  const current = await modelRegistry.getCurrent(FORECAST_MODEL_NAME);
  if (current?.version === version) {
    return done({
      promotedVersion: version,
      previousVersion: expected ?? null,
      deployment: "promoted",
      promotionNote: `version ${version} is already current`,
    });
  }
  if (current?.version !== expected) {
    return done(
      await reject(
        modelRegistry,
        candidate,
        `the current model changed from ${expected ?? "none"} to ${current?.version ?? "none"} after validation; the candidate was not compared with it`,
        current?.version ?? null,
      ),
    );
  }
  if (candidate.status !== "candidate") {
    throw new ConflictError(
      `${FORECAST_MODEL_NAME} version ${version} is ${candidate.status} (${candidate.statusReason ?? "no reason recorded"}); only a validated candidate is promoted.`,
      { details: { version, status: candidate.status } },
    );
  }

  let status = await deployer.status(candidate);
  let deployStarted = started;
  if (status.state === "not-serving" && !started) {
    await deployer.deploy(candidate);
    deployStarted = true;
    status = await deployer.status(candidate);
  }
  if (status.state === "updating") {
    if (checks + 1 > MAX_DEPLOY_CHECKS) {
      return done({
        ...(await reject(
          modelRegistry,
          candidate,
          `the endpoint was still updating after ${MAX_DEPLOY_CHECKS} checks (${status.detail}); the pointer was not moved`,
          expected ?? null,
        )),
        deployStarted,
      });
    }
    return done({
      promotedVersion: null,
      previousVersion: expected ?? null,
      deployment: "pending",
      deployStarted,
      deployChecks: checks + 1,
      promotionNote: `waiting for the endpoint to serve ${version}: ${status.detail}`,
    });
  }
  if (status.state === "not-serving") {
    return done({
      ...(await reject(
        modelRegistry,
        candidate,
        `the endpoint did not take ${version} (${status.detail}); SageMaker keeps serving the previous model and the pointer was not moved`,
        expected ?? null,
      )),
      deployStarted,
    });
  }

  const outcome = await modelRegistry.promote(FORECAST_MODEL_NAME, version, expected);
  if (outcome === "conflict") {
    const winner = await modelRegistry.getCurrent(FORECAST_MODEL_NAME);
    if (winner) await deployer.deploy(winner);
    throw new ConflictError(
      `Another promotion (${winner?.version ?? "none"}) moved the ${FORECAST_MODEL_NAME} pointer while ${version} was being deployed; the endpoint was put back on ${winner?.version ?? "its previous config"}. Re-run the flow to validate against the new current model.`,
      { details: { version, current: winner?.version } },
    );
  }
  return done({
    promotedVersion: version,
    previousVersion: expected ?? null,
    deployment: "promoted",
    deployStarted,
    promotionNote: `the endpoint serves ${version}; moved the pointer from ${expected ?? "none"}`,
  });
}

async function reject(
  registry: ModelRegistry,
  candidate: ModelRecord,
  reason: string,
  currentVersion: string | null,
): Promise<
  Pick<PromotedFields, "promotedVersion" | "previousVersion" | "deployment" | "promotionNote">
> {
  await registry.putVersion({ ...candidate, status: "rejected", statusReason: reason });
  return {
    promotedVersion: null,
    previousVersion: currentVersion,
    deployment: "rejected",
    promotionNote: reason,
  };
}
