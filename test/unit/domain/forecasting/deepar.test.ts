import { describe, expect, it } from "vitest";
import { toFieldIssues } from "../../../../layers/domain/config.js";
import {
  DeepArResponseSchema,
  deepArRequestSchema,
  fromDeepArTarget,
  toDeepArInstance,
} from "../../../../layers/domain/forecasting/deepar.js";

function issues(input: unknown, predictionLength?: number): string[] {
  const result = deepArRequestSchema(predictionLength).safeParse(input);
  return result.success ? [] : toFieldIssues(result.error).map((i) => `${i.field}: ${i.message}`);
}

describe("DeepAR request schema", () => {
  it("accepts the documented example", () => {
    const request = {
      instances: [
        { start: "2009-11-01 00:00:00", target: [4.0, 10.0, "NaN", 100.0, 113.0], cat: [0, 1] },
        { start: "2012-01-30", target: [1.0], cat: [2, 1] },
      ],
      configuration: {
        num_samples: 50,
        output_types: ["mean", "quantiles", "samples"],
        quantiles: ["0.5", "0.9"],
      },
    };
    expect(issues(request)).toEqual([]);
  });

  it("names the field of a bad target value", () => {
    const instances = Array.from({ length: 4 }, () => ({
      start: "2026-01-01 00:00:00",
      target: [1, 2],
    }));
    instances[3] = {
      start: "2026-01-01 00:00:00",
      target: [1, 2, 3, 4, 5, 6, 7, "x" as unknown as number],
    };
    expect(issues({ instances })).toEqual([
      `instances.3.target.7: must be a finite number, "NaN" or null (missing)`,
    ]);
  });

  it("rejects bad starts, empty targets, bad categories, output types and quantiles", () => {
    const found = issues({
      instances: [
        { start: "yesterday", target: [1] },
        { start: "2026-01-01", target: [] },
        { start: "2026-01-01", target: [1], cat: [-1] },
      ],
      configuration: { output_types: ["median"], quantiles: ["1.5"], num_samples: 0 },
    });
    expect(found.some((i) => i.startsWith("instances.0.start"))).toBe(true);
    expect(found.some((i) => i.startsWith("instances.1.target"))).toBe(true);
    expect(found.some((i) => i.startsWith("instances.2.cat.0"))).toBe(true);
    expect(found.some((i) => i.startsWith("configuration.output_types.0"))).toBe(true);
    expect(found.some((i) => i.startsWith("configuration.quantiles.0"))).toBe(true);
    expect(found.some((i) => i.startsWith("configuration.num_samples"))).toBe(true);
  });

  it("requires dynamic_feat to cover the history and the prediction length", () => {
    const instance = { start: "2026-01-01", target: [1, 2], dynamic_feat: [[1, 2, 3]] };
    expect(issues({ instances: [instance] }, 3)).toEqual([
      "instances.0.dynamic_feat.0: has 3 values; expected len(target) + prediction_length = 5",
    ]);
    expect(issues({ instances: [{ ...instance, dynamic_feat: [[1, 2, 3, 4, 5]] }] }, 3)).toEqual(
      [],
    );
  });

  it("rejects a body without instances", () => {
    expect(issues({})[0]).toMatch(/^instances/);
    expect(issues({ instances: [] })[0]).toMatch(/^instances: must hold at least one instance/);
  });
});

describe("DeepAR response schema", () => {
  it("accepts predictions with any subset of outputs and rejects non-numbers", () => {
    expect(
      DeepArResponseSchema.safeParse({ predictions: [{ mean: [1], quantiles: { "0.5": [1] } }] })
        .success,
    ).toBe(true);
    expect(DeepArResponseSchema.safeParse({ predictions: [{ mean: ["1"] }] }).success).toBe(false);
    expect(DeepArResponseSchema.safeParse({ result: [] }).success).toBe(false);
  });
});

describe("DeepAR conversions", () => {
  it("writes NaN as the string NaN and the start as a DeepAR timestamp", () => {
    expect(toDeepArInstance({ start: 1_795_809_600, target: [1, Number.NaN], cat: [2] })).toEqual({
      start: "2026-11-27 20:00:00",
      target: [1, "NaN"],
      cat: [2],
    });
  });

  it("reads NaN strings and nulls as NaN", () => {
    expect(fromDeepArTarget([1, "NaN", null])).toEqual([1, Number.NaN, Number.NaN]);
  });
});
