import type { ModelRecord } from "../domain/model-registry.js";

export interface ModelRegistry {
  getCurrent(modelName: string): Promise<ModelRecord | undefined>;
  getVersion(modelName: string, version: string): Promise<ModelRecord | undefined>;
  putVersion(record: ModelRecord): Promise<void>;
  /**
   * Points the model's current version at `version`, only if the current one is still
   * `expectedCurrent` (undefined = none yet).
   */
  promote(
    modelName: string,
    version: string,
    expectedCurrent: string | undefined,
  ): Promise<"promoted" | "conflict">;
}
