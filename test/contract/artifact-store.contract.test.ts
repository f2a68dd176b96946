import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { FileArtifactStore } from "../../layers/adapters/local/file-artifact-store.js";
import { S3ArtifactStore } from "../../layers/adapters/s3/s3-artifact-store.js";
import { NotFoundError, ValidationError } from "../../layers/domain/errors.js";
import type { ArtifactStore } from "../../layers/ports/artifact-store.js";
import { uniquePrefix } from "../helpers/tables.js";

const aws = createAwsClients();
const bucket = `${uniquePrefix()}-artefacts`;
const folder = mkdtempSync(path.join(tmpdir(), "shaper-artefacts-"));
beforeAll(async () => {
  await aws.s3().send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe.each<[string, () => ArtifactStore, (key: string) => string]>([
  ["FileArtifactStore", () => new FileArtifactStore(folder), (key) => path.join(folder, key)],
  [
    "S3ArtifactStore",
    () => new S3ArtifactStore(aws.s3(), bucket),
    (key) => `s3://${bucket}/${key}`,
  ],
])("ArtifactStore contract: %s", (_name, make, uriOf) => {
  it("stores JSON under a key and reads it back from the returned URI", async () => {
    const store = make();
    const artefact = {
      kind: "seasonal-naive",
      version: "v1",
      seasonLength: 288,
      intervalScale: 1.2,
    };
    const uri = await store.putJson("models/seasonal-naive/v1.json", artefact);
    expect(uri).toBe(uriOf("models/seasonal-naive/v1.json"));
    expect(await store.getJson(uri)).toEqual(artefact);
  });

  it("replaces an artefact written again under the same key", async () => {
    const store = make();
    await store.putJson("models/x/v2.json", { intervalScale: 1 });
    const uri = await store.putJson("models/x/v2.json", { intervalScale: 2 });
    expect(await store.getJson(uri)).toEqual({ intervalScale: 2 });
  });

  it("says NotFound for an artefact that does not exist", async () => {
    await expect(make().getJson(uriOf("models/none/v0.json"))).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("artefact locations", () => {
  it("keeps local artefacts inside their folder", async () => {
    await expect(
      new FileArtifactStore(folder).putJson("../escape.json", {}),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it("refuses a URI that is not s3://bucket/key", async () => {
    await expect(
      new S3ArtifactStore(aws.s3(), bucket).getJson("/tmp/x.json"),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
