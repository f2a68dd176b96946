import { describe, expect, it } from "vitest";
import { invoke, type ServedModel } from "../../../model-server/invocations.js";

const model: ServedModel = {
  name: "seasonal-naive",
  version: "t",
  predictionLength: 4,
  settings: { kind: "seasonal-naive", seasonLength: 288, intervalScale: 1 },
  inferenceConfig: { output_types: ["quantiles"], quantiles: ["0.5"] },
};

describe("model server invocations", async () => {
  it("reads JSON Lines requests, one instance per line, configured by the inference config", async () => {
    const body = [
      '{"start":"2026-11-27","target":[2,2]}',
      "",
      '{"start":"2026-11-27","target":[5]}',
    ].join("\n");
    const response = await invoke(model, {
      contentType: "application/jsonlines",
      accept: "application/json",
      body,
    });
    expect(response.status).toBe(200);
    const { predictions } = JSON.parse(response.body) as { predictions: Record<string, unknown>[] };
    expect(predictions).toHaveLength(2);
    expect(predictions[0]).toEqual({ quantiles: { "0.5": [2, 2, 2, 2] } });
  });

  it("names the line of a bad JSON Lines instance", async () => {
    const body = '{"start":"2026-11-27","target":[2]}\n{"start":"2026-11-27","target":"x"}';
    const response = await invoke(model, {
      contentType: "application/jsonlines",
      accept: undefined,
      body,
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).issues[0].field).toBe("(line 2).target");
  });

  it("answers quantiles under the keys the request used, ordered by level", async () => {
    const body = JSON.stringify({
      instances: [{ start: "2026-11-27", target: [1, 3, 2, 4] }],
      configuration: { output_types: ["quantiles"], quantiles: ["0.90", ".1", "0.5"] },
    });
    const response = await invoke(model, {
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

  it("prefers the first acceptable type in the Accept header", async () => {
    const body = JSON.stringify({ instances: [{ start: "2026-11-27", target: [1] }] });
    const lines = await invoke(model, {
      contentType: undefined,
      accept: "text/csv, application/jsonlines;q=0.9",
      body,
    });
    expect(lines.contentType).toBe("application/jsonlines");
    expect((await invoke(model, { contentType: undefined, accept: "text/csv", body })).status).toBe(
      406,
    );
  });
});

describe("model server invocations with the shaper model", () => {
  const shaper: ServedModel = {
    name: "shaper",
    version: "t",
    predictionLength: 6,
    settings: { kind: "shaper", seasonLength: 24 },
  };

  it("forecasts a batch together with monotone quantiles and stratified samples", async () => {
    const daily = (t: number) => 10 + 4 * Math.sin((2 * Math.PI * t) / 24);
    const body = JSON.stringify({
      instances: [
        { start: "2026-11-27", target: Array.from({ length: 24 * 8 }, (_, t) => daily(t)) },
        { start: "2026-11-27", target: Array.from({ length: 24 * 8 }, (_, t) => 3 * daily(t)) },
        { start: "2026-11-27", target: ["NaN"] },
      ],
      configuration: {
        output_types: ["mean", "quantiles", "samples"],
        quantiles: ["0.1", "0.5", "0.9"],
        num_samples: 4,
      },
    });
    const response = await invoke(shaper, { contentType: undefined, accept: undefined, body });
    expect(response.status).toBe(200);
    const { predictions } = JSON.parse(response.body) as {
      predictions: { mean: number[]; quantiles: Record<string, number[]>; samples: number[][] }[];
    };
    expect(predictions).toHaveLength(3);
    for (const p of predictions) {
      expect(p.mean).toHaveLength(6);
      expect(p.samples).toHaveLength(4);
      for (let h = 0; h < 6; h++) {
        const [low, mid, high] = ["0.1", "0.5", "0.9"].map((k) => p.quantiles[k]?.[h] as number);
        expect(low).toBeLessThanOrEqual(mid as number);
        expect(mid).toBeLessThanOrEqual(high as number);
        expect(Number.isFinite(p.mean[h])).toBe(true);
      }
    }
    // The next step of a daily sine (t = 192 ≡ 0): about 10, not the series mean drifted away.
    expect(predictions[0]?.quantiles["0.5"]?.[0]).toBeCloseTo(10, 0);
    expect(predictions[1]?.quantiles["0.5"]?.[0]).toBeCloseTo(30, -1);
  });

  it("returns each series' state and resumes from it when it comes back with the next request", async () => {
    const target = Array.from(
      { length: 24 * 8 },
      (_, t) => 10 + 4 * Math.sin((2 * Math.PI * t) / 24),
    );
    const ask = async (instance: Record<string, unknown>) => {
      const response = await invoke(shaper, {
        contentType: undefined,
        accept: undefined,
        body: JSON.stringify({ instances: [instance] }),
      });
      expect(response.status).toBe(200);
      return (
        JSON.parse(response.body) as {
          predictions: {
            state?: { model: string; forecaster: { originSeconds: number } };
            resumed?: boolean;
          }[];
        }
      ).predictions[0];
    };
    const first = await ask({ start: "2026-11-20 00:00:00", target });
    expect(first?.state?.model).toBe("shaper@t");
    expect(first?.resumed).toBeUndefined();
    const start = Date.UTC(2026, 10, 20) / 1000;
    expect(first?.state?.forecaster.originSeconds).toBe(start + target.length * 3_600);
    const second = await ask({
      start: "2026-11-20 00:00:00",
      target: [...target, 10],
      state: first?.state,
    });
    expect(second?.state?.forecaster.originSeconds).toBe(start + (target.length + 1) * 3_600);
    // It says it resumed, so a caller may send only the values from the state's origin on.
    expect(second?.resumed).toBe(true);
    const fromOrigin = await ask({
      start: "2026-11-28 00:00:00",
      target: [10],
      state: first?.state,
    });
    expect(fromOrigin?.resumed).toBe(true);
    expect(fromOrigin?.state).toEqual(second?.state);
    // A state of another model is set aside and the series refitted: not resumed.
    const foreign = await ask({
      start: "2026-11-20 00:00:00",
      target,
      state: { ...first?.state, model: "shaper@old" },
    });
    expect(foreign?.resumed).toBeUndefined();
  });
});
