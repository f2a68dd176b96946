import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbModelRegistry } from "../../layers/adapters/dynamodb/dynamodb-model-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { InMemoryModelRegistry } from "../../layers/adapters/local/in-memory-model-registry.js";
import { ConflictError, NotFoundError } from "../../layers/domain/errors.js";
import type { ModelRecord } from "../../layers/domain/model-registry.js";
import type { ModelRegistry } from "../../layers/ports/model-registry.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const aws = createAwsClients();
let tables: TableNames;
beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
});
afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

function record(modelName: string, version: string, extra: Partial<ModelRecord> = {}): ModelRecord {
  return {
    modelName,
    version,
    artifactUri: `s3://artefacts/models/${modelName}/${version}.json`,
    trainedAt: 1_795_000_000,
    status: "candidate",
    ...extra,
  };
}

const uniqueModel = () => `m-${Math.random().toString(36).slice(2, 8)}`;

describe.each<[string, () => ModelRegistry]>([
  ["InMemoryModelRegistry", () => new InMemoryModelRegistry()],
  ["DynamoDbModelRegistry", () => new DynamoDbModelRegistry(aws.documentClient(), tables.registry)],
])("ModelRegistry contract: %s", (_name, make) => {
  it("stores versions with their metrics and has no current version before a promotion", async () => {
    const registry = make();
    const model = uniqueModel();
    const v1 = record(model, "v1", {
      metrics: { wql: 0.21, coverage80: 0.79, series: 40, points: 11_520 },
      statusReason: "trained on 40 series",
    });
    await registry.putVersion(v1);
    expect(await registry.getVersion(model, "v1")).toEqual(v1);
    expect(await registry.getVersion(model, "v2")).toBeUndefined();
    expect(await registry.getCurrent(model)).toBeUndefined();
  });

  it("promotes the first version only when no version is current", async () => {
    const registry = make();
    const model = uniqueModel();
    await registry.putVersion(record(model, "v1"));
    expect(await registry.promote(model, "v1", "v0")).toBe("conflict");
    expect(await registry.promote(model, "v1", undefined)).toBe("promoted");
    const current = await registry.getCurrent(model);
    expect(current?.version).toBe("v1");
    expect(current?.status).toBe("promoted");
  });

  it("moves the pointer only from the expected version, retiring the version it replaces", async () => {
    const registry = make();
    const model = uniqueModel();
    for (const v of ["v1", "v2", "v3"]) await registry.putVersion(record(model, v));
    expect(await registry.promote(model, "v1", undefined)).toBe("promoted");
    expect(await registry.promote(model, "v2", "v1")).toBe("promoted");
    // A second promoter that read v1 as current loses: the pointer stays on v2.
    expect(await registry.promote(model, "v3", "v1")).toBe("conflict");
    expect(await registry.promote(model, "v3", undefined)).toBe("conflict");
    expect((await registry.getCurrent(model))?.version).toBe("v2");
    expect((await registry.getVersion(model, "v1"))?.status).toBe("retired");
    expect((await registry.getVersion(model, "v3"))?.status).toBe("candidate");
  });

  it("is idempotent: promoting the current version again from itself succeeds and changes nothing", async () => {
    const registry = make();
    const model = uniqueModel();
    await registry.putVersion(record(model, "v1"));
    await registry.promote(model, "v1", undefined);
    expect(await registry.promote(model, "v1", "v1")).toBe("promoted");
    expect(await registry.getCurrent(model)).toMatchObject({ version: "v1", status: "promoted" });
  });

  it("never promotes a rejected version, whose reason stays recorded", async () => {
    const registry = make();
    const model = uniqueModel();
    await registry.putVersion(
      record(model, "v1", { status: "rejected", statusReason: "wQL 0.4 not below 0.29" }),
    );
    await expect(registry.promote(model, "v1", undefined)).rejects.toBeInstanceOf(ConflictError);
    expect(await registry.getCurrent(model)).toBeUndefined();
    expect((await registry.getVersion(model, "v1"))?.statusReason).toBe("wQL 0.4 not below 0.29");
  });

  it("refuses to promote a version that was never written", async () => {
    const registry = make();
    const model = uniqueModel();
    await expect(registry.promote(model, "v9", undefined)).rejects.toBeInstanceOf(NotFoundError);
    expect(await registry.getCurrent(model)).toBeUndefined();
  });

  it("does not let putVersion overwrite the promoted version's record", async () => {
    const registry = make();
    const model = uniqueModel();
    await registry.putVersion(record(model, "v1"));
    await registry.promote(model, "v1", undefined);
    await expect(
      registry.putVersion(record(model, "v1", { status: "rejected" })),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((await registry.getCurrent(model))?.status).toBe("promoted");
  });
});
