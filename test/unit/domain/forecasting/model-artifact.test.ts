import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../layers/domain/errors.js";
import { parseSeasonalNaiveArtifact } from "../../../../layers/domain/forecasting/model-artifact.js";

describe("parseSeasonalNaiveArtifact", () => {
  it("reads the parameters and keeps keys it does not know", () => {
    const artifact = parseSeasonalNaiveArtifact(
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
      parseSeasonalNaiveArtifact({ kind: "deepar", version: "", seasonLength: 0 }, "s3://b/k");
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/s3:\/\/b\/k.*kind.*version.*seasonLength/);
  });
});
