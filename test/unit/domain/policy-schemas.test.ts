import { describe, expect, it } from "vitest";
import { DependencyError } from "../../../layers/domain/errors.js";
import {
  parseStoredPolicyChange,
  parseStoredPolicySet,
} from "../../../layers/domain/policy-schemas.js";

const change = {
  changeId: "3-standard",
  tier: "standard",
  before: { forecastQuantile: 0.9, headroomFraction: 0.1 },
  after: { forecastQuantile: 0.95, headroomFraction: 0.15 },
  cause: "below target",
  at: 1_795_000_000,
  version: 3,
};

describe("stored policy items", () => {
  it("reads back a set and a change as written, with or without the SLO reaction", () => {
    const set = { version: 3, tiers: { standard: change.after }, updatedAt: 1_795_000_000 };
    expect(parseStoredPolicySet(set, "t POLICY/CURRENT")).toEqual(set);
    expect(parseStoredPolicyChange(change, "t POLICY/CHANGE#1")).toEqual(change);
    const judged = { ...change, slo: { kind: "raise", grantNowRate: 0.94 } };
    expect(parseStoredPolicyChange(judged, "t POLICY/CHANGE#1")).toEqual(judged);
  });

  it("rejects a malformed item with a non-retryable error naming the item and the field", () => {
    const bad = { ...change, after: { forecastQuantile: 1.5, headroomFraction: 0.1 } };
    let error: unknown;
    try {
      parseStoredPolicyChange(bad, "registry POLICY/CHANGE#9");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retryable).toBe(false);
    expect((error as Error).message).toContain("registry POLICY/CHANGE#9");
    expect((error as Error).message).toContain("after.forecastQuantile");
    expect(() =>
      parseStoredPolicySet({ version: "3", tiers: {}, updatedAt: 1 }, "registry POLICY/CURRENT"),
    ).toThrow(/version/);
  });
});
