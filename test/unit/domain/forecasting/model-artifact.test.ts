import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../layers/domain/errors.js";
import {
  parseModelArtifact,
  settingsOfArtifact,
} from "../../../../layers/domain/forecasting/model-artifact.js";

describe("parseModelArtifact", () => {
  it("reads the parameters and keeps keys it does not know", () => {
    const artifact = parseModelArtifact(
      {
        kind: "seasonal-naive",
        version: "v3",
        seasonLength: 24,
        intervalScale: 1.3,
        extra: { a: 1 },
      },
      "s3://b/k",
    );
    expect(artifact.seasonLength).toBe(24);
    expect(artifact.intervalScale).toBe(1.3);
    expect((artifact as Record<string, unknown>).extra).toEqual({ a: 1 });
  });

  it("names the source and the bad fields", () => {
    const call = () =>
      parseModelArtifact({ kind: "deepar", version: "", seasonLength: 0 }, "s3://b/k");
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/s3:\/\/b\/k.*kind.*must be "shaper" or "seasonal-naive"/);
    const bad = () => parseModelArtifact({ kind: "shaper", version: "", seasonLength: 0 }, "f");
    expect(bad).toThrow(/version.*seasonLength/);
  });

  it("gives a shaper artefact's settings, filling the season from the day length", () => {
    const artifact = parseModelArtifact({ kind: "shaper", version: "v4", switchMargin: 0 }, "f");
    expect(settingsOfArtifact(artifact, 288)).toEqual({
      kind: "shaper",
      seasonLength: 288,
      switchMargin: 0,
    });
  });
});
