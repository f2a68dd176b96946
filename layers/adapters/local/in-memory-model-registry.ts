import type { ModelRecord } from "../../domain/model-registry.js";
import {
  missingModelVersion,
  promotedModelOverwrite,
  rejectedModelPromotion,
} from "../../domain/retrain/registry-errors.js";
import type { ModelRegistry } from "../../ports/model-registry.js";

/**
 * The model registry in memory, with the same rules as the DynamoDB adapter: promotion is
 * conditional on the current pointer, a rejected version is never promoted, the version it
 * replaces is marked retired, and a promoted record is not overwritten by `putVersion`.
 */
export class InMemoryModelRegistry implements ModelRegistry {
  private readonly pointers = new Map<string, string>();
  private readonly versions = new Map<string, ModelRecord>();

  async getCurrent(modelName: string): Promise<ModelRecord | undefined> {
    const version = this.pointers.get(modelName);
    return version === undefined ? undefined : this.getVersion(modelName, version);
  }

  async getVersion(modelName: string, version: string): Promise<ModelRecord | undefined> {
    const record = this.versions.get(key(modelName, version));
    return record ? structuredClone(record) : undefined;
  }

  async putVersion(record: ModelRecord): Promise<void> {
    const existing = this.versions.get(key(record.modelName, record.version));
    if (existing?.status === "promoted") throw promotedModelOverwrite(record);
    this.versions.set(key(record.modelName, record.version), structuredClone(record));
  }

  async promote(
    modelName: string,
    version: string,
    expectedCurrent: string | undefined,
  ): Promise<"promoted" | "conflict"> {
    if (this.pointers.get(modelName) !== expectedCurrent) return "conflict";
    const record = this.versions.get(key(modelName, version));
    if (!record) throw missingModelVersion(modelName, version);
    if (record.status === "rejected") throw rejectedModelPromotion(record);
    if (expectedCurrent !== undefined && expectedCurrent !== version) {
      const previous = this.versions.get(key(modelName, expectedCurrent));
      if (!previous) throw missingModelVersion(modelName, expectedCurrent);
      this.versions.set(key(modelName, expectedCurrent), { ...previous, status: "retired" });
    }
    this.versions.set(key(modelName, version), { ...record, status: "promoted" });
    this.pointers.set(modelName, version);
    return "promoted";
  }
}

function key(modelName: string, version: string): string {
  return `${modelName}#${version}`;
}
