import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { InMemoryForecastStateStore } from "../../layers/adapters/local/in-memory-forecast-state-store.js";
import { S3ForecastStateStore } from "../../layers/adapters/s3/s3-forecast-state-store.js";
import { ValidationError } from "../../layers/domain/errors.js";
import type { ForecastStateStore } from "../../layers/ports/forecast-state-store.js";
import { poolSubject } from "../../layers/use-cases/forecast-pools.js";
import { uniquePrefix } from "../helpers/tables.js";

const aws = createAwsClients();
const bucket = `${uniquePrefix()}-states`;
beforeAll(async () => {
  await aws.s3().send(new CreateBucketCommand({ Bucket: bucket }));
});

const state = (origin: number) => ({
  model: "shaper@v1",
  forecaster: { stateVersion: 1, originSeconds: origin, values: "AAAAAAAA8D8=" },
});

describe.each<[string, () => ForecastStateStore]>([
  ["InMemoryForecastStateStore", () => new InMemoryForecastStateStore()],
  ["S3ForecastStateStore", () => new S3ForecastStateStore(aws.s3(), bucket)],
])("ForecastStateStore contract: %s", (_name, make) => {
  it("has no states for a subject never stored", async () => {
    expect(await make().getStates("nobody", "cpu")).toBeUndefined();
  });

  it("reads back what was stored, per subject and pool, as a copy", async () => {
    const store = make();
    const states = { vcpu: state(100), memoryGiB: state(100) };
    await store.putStates("acme/eu", "cpu", states);
    await store.putStates("acme/eu", "gpu", { gpu: state(7) });
    expect(await store.getStates("acme/eu", "cpu")).toEqual(states);
    expect(await store.getStates("acme/eu", "gpu")).toEqual({ gpu: state(7) });
    expect(await store.getStates("acme", "cpu")).toBeUndefined();
    const read = await store.getStates("acme/eu", "cpu");
    expect(read).not.toBe(states);
  });

  it("keeps a pool's own states (subject #pool:<name>) apart from a user's", async () => {
    const store = make();
    await store.putStates(poolSubject("cpu"), "cpu", { vcpu: state(5) });
    await store.putStates("pool:cpu", "cpu", { vcpu: state(6) });
    expect(await store.getStates(poolSubject("cpu"), "cpu")).toEqual({ vcpu: state(5) });
    expect(await store.getStates("pool:cpu", "cpu")).toEqual({ vcpu: state(6) });
  });

  it("replaces a subject's states whole on the next put", async () => {
    const store = make();
    await store.putStates("globex", "cpu", { vcpu: state(1), memoryGiB: state(1) });
    await store.putStates("globex", "cpu", { vcpu: state(2) });
    expect(await store.getStates("globex", "cpu")).toEqual({ vcpu: state(2) });
  });
});

describe("S3ForecastStateStore", () => {
  it("writes one encrypted JSON object per subject and pool under forecast-state/", async () => {
    await new S3ForecastStateStore(aws.s3(), bucket).putStates("a b", "cpu", { vcpu: state(3) });
    const object = await aws
      .s3()
      .send(new GetObjectCommand({ Bucket: bucket, Key: "forecast-state/a%20b/cpu.json" }));
    expect(object.ServerSideEncryption).toBe("AES256");
    expect(JSON.parse((await object.Body?.transformToString()) ?? "")).toEqual({ vcpu: state(3) });
  });

  it("says which object is unreadable rather than returning garbage", async () => {
    await aws
      .s3()
      .send(
        new PutObjectCommand({ Bucket: bucket, Key: "forecast-state/bad/cpu.json", Body: "{oops" }),
      );
    const read = new S3ForecastStateStore(aws.s3(), bucket).getStates("bad", "cpu");
    await expect(read).rejects.toBeInstanceOf(ValidationError);
    await expect(read).rejects.toThrow(/forecast-state\/bad\/cpu\.json.*refits/);
  });
});
