import { describe, expect, it } from "vitest";
import { ObjectForecastStateStore } from "../../../../layers/adapters/local/object-forecast-state-store.js";

describe("ObjectForecastStateStore", () => {
  it("gives back the state objects stored, in a record callers cannot change the store through", async () => {
    const store = new ObjectForecastStateStore();
    const vcpu = { model: "shaper@v1", forecaster: { stateVersion: 1 } };
    const states = { vcpu };
    await store.putStates("u1", "cpu", states);
    delete (states as { vcpu?: unknown }).vcpu;
    const read = await store.getStates("u1", "cpu");
    expect(read?.vcpu).toBe(vcpu);
    if (read) read.memoryGiB = { model: "other" };
    expect(await store.getStates("u1", "cpu")).toEqual({ vcpu });
    expect(Object.isFrozen(vcpu)).toBe(true);
    expect(await store.getStates("u1", "gpu")).toBeUndefined();
    expect(store.size).toBe(1);
  });
});
