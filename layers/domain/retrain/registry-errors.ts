import { ConflictError, NotFoundError } from "../errors.js";
import type { ModelRecord } from "../model-registry.js";

/** The model registry's refusals, worded once for every registry adapter. */

/** Promoting (or retiring) a version that was never written. */
export function missingModelVersion(modelName: string, version: string): NotFoundError {
  return new NotFoundError(
    `Model ${modelName} has no version "${version}" in the registry. Expected a version written with putVersion before it is promoted.`,
    { details: { modelName, version } },
  );
}

/** Promoting a version that failed validation. */
export function rejectedModelPromotion(
  record: Pick<ModelRecord, "modelName" | "version" | "statusReason">,
): ConflictError {
  return new ConflictError(
    `Model ${record.modelName} version ${record.version} was rejected (${record.statusReason ?? "no reason recorded"}); a rejected model is never promoted. Train a new candidate instead.`,
    { details: { modelName: record.modelName, version: record.version } },
  );
}

/** Overwriting the record of the promoted version with `putVersion`. */
export function promotedModelOverwrite(
  record: Pick<ModelRecord, "modelName" | "version">,
): ConflictError {
  return new ConflictError(
    `Model ${record.modelName} version ${record.version} is promoted; its record changes only when another version is promoted. Write a new version instead.`,
    { details: { modelName: record.modelName, version: record.version } },
  );
}
