import { describe, expect, it } from "vitest";
import { InMemoryModelRegistry } from "../../../../layers/adapters/local/in-memory-model-registry.js";
import { LocalModelDeployer } from "../../../../layers/adapters/local/local-model-deployer.js";
import { ConflictError, DependencyError } from "../../../../layers/domain/errors.js";
import type { ModelRecord } from "../../../../layers/domain/model-registry.js";
import { FORECAST_MODEL_NAME } from "../../../../layers/domain/retrain/model-parameters.js";
import type { DeploymentStatus, ModelDeployer } from "../../../../layers/ports/model-deployer.js";
import type { ModelRegistry } from "../../../../layers/ports/model-registry.js";
import {
  MAX_DEPLOY_CHECKS,
  promoteModel,
} from "../../../../layers/use-cases/retrain/promote-model.js";
import type { PromoteInput } from "../../../../layers/use-cases/retrain/retrain-state.js";

/**
 * A deployer like SageMaker's: an update is accepted at once and serves only after `updatingFor`
 * status checks — or, with `rollsBack`, ends on the old config.
 */
class SlowDeployer implements ModelDeployer {
  deploys: string[] = [];
  private checksLeft = 0;
  private target: string | undefined;
  private serving: string | undefined;

  constructor(
    private readonly updatingFor: number,
    private readonly rollsBack = false,
  ) {}

  async deploy(record: ModelRecord): Promise<void> {
    this.deploys.push(record.version);
    this.target = record.version;
    this.checksLeft = this.updatingFor;
  }

  async status(record: ModelRecord): Promise<DeploymentStatus> {
    if (this.target !== undefined && this.checksLeft > 0) {
      this.checksLeft--;
      return { state: "updating", detail: "endpoint is Updating" };
    }
    if (this.target !== undefined) {
      if (!this.rollsBack) this.serving = this.target;
      this.target = undefined;
    }
    return this.serving === record.version
      ? { state: "serving" }
      : {
          state: "not-serving",
          detail: `InService on ${this.serving ?? "the initial model"}; reason: container failed its ping`,
        };
  }
}

function record(version: string, status: ModelRecord["status"] = "candidate"): ModelRecord {
  return {
    modelName: FORECAST_MODEL_NAME,
    version,
    artifactUri: `/tmp/models/${version}.json`,
    trainedAt: 1_795_000_000,
    status,
  };
}

async function registryWithCurrent(version: string): Promise<InMemoryModelRegistry> {
  const registry = new InMemoryModelRegistry();
  await registry.putVersion(record(version));
  await registry.promote(FORECAST_MODEL_NAME, version, undefined);
  return registry;
}

describe("promoteModel", () => {
  it("deploys the candidate, then moves the pointer and retires the previous version", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    const deployer = new LocalModelDeployer();
    const out = await promoteModel(
      { modelRegistry: registry, deployer },
      { candidateVersion: "v2", currentVersion: "v1", trigger: "schedule" },
    );
    expect(out).toMatchObject({
      promotedVersion: "v2",
      previousVersion: "v1",
      trigger: "schedule",
    });
    expect(deployer.current()?.version).toBe("v2");
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v2");
    expect((await registry.getVersion(FORECAST_MODEL_NAME, "v1"))?.status).toBe("retired");
  });

  it("leaves the pointer where it was when the deploy fails", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    const deployer = new LocalModelDeployer(async () => {
      throw new DependencyError("SageMaker", "UpdateEndpoint refused", { retryable: true });
    });
    await expect(
      promoteModel(
        { modelRegistry: registry, deployer },
        { candidateVersion: "v2", currentVersion: "v1" },
      ),
    ).rejects.toThrow(DependencyError);
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v1");
    expect((await registry.getVersion(FORECAST_MODEL_NAME, "v2"))?.status).toBe("candidate");
  });

  it("refuses a rejected candidate without deploying it", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion({ ...record("v2", "rejected"), statusReason: "worse" });
    const deployer = new LocalModelDeployer();
    await expect(
      promoteModel(
        { modelRegistry: registry, deployer },
        { candidateVersion: "v2", currentVersion: "v1" },
      ),
    ).rejects.toThrow(ConflictError);
    expect(deployer.deployments()).toEqual([]);
  });

  it("does not promote a candidate validated against a model that is no longer current", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    await registry.putVersion(record("v3"));
    const deployer = new LocalModelDeployer();
    const out = await promoteModel(
      { modelRegistry: registry, deployer },
      { candidateVersion: "v3", currentVersion: null },
    );
    expect(out.promotedVersion).toBeNull();
    expect(out.promotionNote).toContain("changed from none to v1");
    expect((await registry.getVersion(FORECAST_MODEL_NAME, "v3"))?.status).toBe("rejected");
    expect(deployer.deployments()).toEqual([]);
  });

  it("puts the endpoint back on the winner when another promotion moved the pointer during the deploy", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    await registry.putVersion(record("v3"));
    // A registry whose pointer moves to v3 (another run) while v2 is being deployed.
    const racing: ModelRegistry = {
      getCurrent: (m) => registry.getCurrent(m),
      getVersion: (m, v) => registry.getVersion(m, v),
      putVersion: (r) => registry.putVersion(r),
      promote: async (m, v, expected) => {
        await registry.promote(m, "v3", expected);
        return registry.promote(m, v, expected);
      },
    };
    const deployer = new LocalModelDeployer();
    await expect(
      promoteModel(
        { modelRegistry: racing, deployer },
        { candidateVersion: "v2", currentVersion: "v1" },
      ),
    ).rejects.toThrow(ConflictError);
    expect(deployer.deployments().map((d) => d.version)).toEqual(["v2", "v3"]);
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v3");
  });

  it("moves the pointer only once the endpoint serves the candidate, waiting while it updates", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    const deployer = new SlowDeployer(2);
    const deps = { modelRegistry: registry, deployer };
    const start: PromoteInput = { candidateVersion: "v2", currentVersion: "v1" };
    let state = await promoteModel(deps, start);
    expect(state).toMatchObject({
      deployment: "pending",
      deployStarted: true,
      deployChecks: 1,
      promotedVersion: null,
    });
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v1");
    state = await promoteModel(deps, state);
    expect(state.deployment).toBe("pending");
    state = await promoteModel(deps, state);
    expect(state).toMatchObject({ deployment: "promoted", promotedVersion: "v2" });
    expect(deployer.deploys).toEqual(["v2"]);
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v2");
  });

  it("rejects the candidate when the endpoint rolled back, keeping the pointer", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    const deps = { modelRegistry: registry, deployer: new SlowDeployer(1, true) };
    const start: PromoteInput = { candidateVersion: "v2", currentVersion: "v1" };
    let state = await promoteModel(deps, start);
    expect(state.deployment).toBe("pending");
    state = await promoteModel(deps, state);
    expect(state.deployment).toBe("rejected");
    expect(state.promotionNote).toContain("container failed its ping");
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v1");
    expect((await registry.getVersion(FORECAST_MODEL_NAME, "v2"))?.status).toBe("rejected");
  });

  it("gives up after the last check while the endpoint is still updating", async () => {
    const registry = await registryWithCurrent("v1");
    await registry.putVersion(record("v2"));
    const deps = { modelRegistry: registry, deployer: new SlowDeployer(MAX_DEPLOY_CHECKS + 5) };
    const start: PromoteInput = { candidateVersion: "v2", currentVersion: "v1" };
    let state = await promoteModel(deps, start);
    while (state.deployment === "pending") state = await promoteModel(deps, state);
    expect(state.deployment).toBe("rejected");
    expect(state.deployChecks).toBe(MAX_DEPLOY_CHECKS);
    expect((await registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe("v1");
  });
});
