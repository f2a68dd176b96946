import type { ModelRecord } from "../../domain/model-registry.js";
import type { DeploymentStatus, ModelDeployer } from "../../ports/model-deployer.js";

/**
 * The local runtime's deployer: remembers which version serves and hands the record to a
 * callback (e.g. one that restarts the local model server with MODEL_ARTIFACT_URI set to the
 * record's artefact). A failing callback fails the deploy, so the registry pointer stays put.
 * A deploy takes effect at once, so `status` says "serving" right after it.
 */
export class LocalModelDeployer implements ModelDeployer {
  private serving: ModelRecord | undefined;
  private readonly history: ModelRecord[] = [];

  constructor(private readonly onDeploy?: (record: ModelRecord) => Promise<void>) {}

  async deploy(record: ModelRecord): Promise<void> {
    if (this.serving?.version === record.version) return;
    await this.onDeploy?.(record);
    this.serving = structuredClone(record);
    this.history.push(this.serving);
  }

  async status(record: ModelRecord): Promise<DeploymentStatus> {
    return this.serving?.version === record.version
      ? { state: "serving" }
      : {
          state: "not-serving",
          detail: `serving ${this.serving?.version ?? "no deployed version"}`,
        };
  }

  /** The version the local model server serves, if any was deployed. */
  current(): ModelRecord | undefined {
    return this.serving;
  }

  /** Every deployment, oldest first. */
  deployments(): readonly ModelRecord[] {
    return this.history;
  }
}
