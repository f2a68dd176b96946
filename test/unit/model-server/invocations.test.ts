import { describe, expect, it } from "vitest";
import { invoke, type ServedModel } from "../../../model-server/invocations.js";

const model: ServedModel = {
  name: "seasonal-naive",
  version: "t",
  predictionLength: 4,
  seasonLength: 288,
  intervalScale: 1,
  inferenceConfig: { output_types: ["quantiles"], quantiles: ["0.5"] },
};

describe("model server invocations", () => {
  it("reads JSON Lines requests, one instance per line, configured by the inference config", () => {
    const body = [
      '{"start":"2026-11-27","target":[2,2]}',
      "",
      '{"start":"2026-11-27","target":[5]}',
    ].join("\n");
    const response = invoke(model, {
      contentType: "application/jsonlines",
      accept: "application/json",
      body,
    });
    expect(response.status).toBe(200);
    const { predictions } = JSON.parse(response.body) as { predictions: Record<string, unknown>[] };
    expect(predictions).toHaveLength(2);
    expect(predictions[0]).toEqual({ quantiles: { "0.5": [2, 2, 2, 2] } });
  });

  it("names the line of a bad JSON Lines instance", () => {
    const body = '{"start":"2026-11-27","target":[2]}\n{"start":"2026-11-27","target":"x"}';
    const response = invoke(model, {
      contentType: "application/jsonlines",
      accept: undefined,
      body,
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).issues[0].field).toBe("(line 2).target");
  });

  it("answers quantiles under the keys the request used, ordered by level", () => {
    const body = JSON.stringify({
      instances: [{ start: "2026-11-27", target: [1, 3, 2, 4] }],
      configuration: { output_types: ["quantiles"], quantiles: ["0.90", ".1", "0.5"] },
    });
    const response = invoke(model, {
      contentType: "application/json; charset=utf-8",
      accept: "*/*",
      body,
    });
    const [prediction] = (
      JSON.parse(response.body) as { predictions: { quantiles: Record<string, number[]> }[] }
    ).predictions;
    expect(Object.keys(prediction?.quantiles ?? {})).toEqual([".1", "0.5", "0.90"]);
    const low = prediction?.quantiles[".1"] ?? [];
    prediction?.quantiles["0.90"]?.forEach((v, h) => {
      expect(v).toBeGreaterThanOrEqual(low[h] ?? 0);
    });
  });

  it("prefers the first acceptable type in the Accept header", () => {
    const body = JSON.stringify({ instances: [{ start: "2026-11-27", target: [1] }] });
    const lines = invoke(model, {
      contentType: undefined,
      accept: "text/csv, application/jsonlines;q=0.9",
      body,
    });
    expect(lines.contentType).toBe("application/jsonlines");
    expect(invoke(model, { contentType: undefined, accept: "text/csv", body }).status).toBe(406);
  });
});
