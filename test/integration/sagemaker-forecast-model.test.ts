import { afterEach, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { SageMakerForecastModel } from "../../layers/adapters/sagemaker-runtime/sagemaker-forecast-model.js";
import { REQUIRED_QUANTILES } from "../../layers/domain/config.js";
import { DependencyError } from "../../layers/domain/errors.js";
import type { ForecastOptions } from "../../layers/ports/forecast-model.js";
import { invoke } from "../../model-server/invocations.js";
import { deepArResponse, type FakeEndpoint, startFakeEndpoint } from "../helpers/fake-endpoint.js";

/**
 * The SageMaker Runtime adapter with the real SDK client: against the local model server (the
 * global setup's, through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), and against fake endpoints for the
 * faults an emulator cannot make (slow, down, garbage, wrong shape).
 */

const options: ForecastOptions = {
  quantiles: [...REQUIRED_QUANTILES],
  numSamples: 50,
  intervalSeconds: 300,
  predictionLength: 12,
};
const T = 1_795_809_600;
const instances = [
  { start: T, target: [1, 2, Number.NaN, 4], cat: [0] },
  { start: T, target: [Number.NaN] },
];

function modelAt(url: string | undefined, timeoutMs = 2_000, maxPayloadBytes?: number) {
  const env = { ...process.env, ...(url ? { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url } : {}) };
  const client = createAwsClients({ env, maxAttempts: 1 }).sagemakerRuntime();
  return new SageMakerForecastModel(client, {
    endpointName: "shaper-forecaster",
    timeoutMs,
    ...(maxPayloadBytes ? { maxPayloadBytes } : {}),
  });
}

async function failure(promise: Promise<unknown>): Promise<DependencyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyError);
  return error as DependencyError;
}

let fake: FakeEndpoint | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("SageMakerForecastModel against the model server", () => {
  it("forecasts every instance with every configured quantile over the horizon", async () => {
    const outputs = await modelAt(undefined).forecast(instances, options);
    expect(outputs).toHaveLength(2);
    for (const output of outputs) {
      expect(output.mean).toHaveLength(12);
      expect(Object.keys(output.quantiles).sort()).toEqual(REQUIRED_QUANTILES.map(String).sort());
    }
    expect(outputs[0]?.mean[0]).toBe(4);
    expect(outputs[1]?.mean).toEqual(new Array(12).fill(0));
  });

  it("passes each series' state through and says when the model resumed from one", async () => {
    const model = modelAt(undefined);
    const history = Array.from({ length: 600 }, (_, t) => 10 + Math.sin((2 * Math.PI * t) / 288));
    const [first] = await model.forecast([{ start: T, target: history }], options);
    expect(first?.state).toBeDefined();
    expect(first?.resumed).toBeUndefined();
    // Only the value after the state's origin, with the state: resumed.
    const [next] = await model.forecast(
      [{ start: T + 600 * 300, target: [10], state: first?.state }],
      options,
    );
    expect(next?.resumed).toBe(true);
    expect(next?.mean).toHaveLength(12);
  });

  it("cuts answers longer than the horizon and refuses shorter ones", async () => {
    const model = modelAt(undefined);
    const [short] = await model.forecast(instances, { ...options, predictionLength: 3 });
    expect(short?.mean).toHaveLength(3);
    const error = await failure(model.forecast(instances, { ...options, predictionLength: 24 }));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/12 values; expected at least 24/);
  });

  it("splits instances over several calls to stay under the payload limit, keeping their order", async () => {
    fake = await startFakeEndpoint(async (body, request) => {
      const answer = await invoke(
        {
          name: "t",
          version: "t",
          predictionLength: 12,
          settings: { kind: "seasonal-naive", seasonLength: 288, intervalScale: 1 },
        },
        { contentType: request.headers["content-type"], accept: request.headers.accept, body },
      );
      return { status: answer.status, body: answer.body };
    });
    const many = Array.from({ length: 30 }, (_, i) => ({
      start: T,
      target: new Array(40).fill(i),
    }));
    const outputs = await modelAt(fake.url, 2_000, 2_000).forecast(many, options);
    expect(fake.requests.length).toBeGreaterThan(1);
    expect(fake.requests.every((r) => Buffer.byteLength(r.body) <= 2_000)).toBe(true);
    expect(outputs.map((o) => o.mean[0])).toEqual(many.map((_, i) => i));
    expect(fake.requests[0]?.path).toBe("/endpoints/shaper-forecaster/invocations");
    expect(fake.requests[0]?.headers["content-type"]).toBe("application/json");
  });
});

describe("SageMakerForecastModel faults", () => {
  it("reports an endpoint that does not answer in time as a retryable timeout", async () => {
    fake = await startFakeEndpoint(() => ({
      status: 200,
      body: deepArResponse(2, 12, REQUIRED_QUANTILES),
      delayMs: 5_000,
    }));
    const error = await failure(modelAt(fake.url, 150).forecast(instances, options));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/did not answer within 150 ms/);
  });

  it("reports an endpoint that is down as retryable", async () => {
    const down = await startFakeEndpoint(() => ({ status: 200, body: "" }));
    const url = down.url;
    await down.close();
    const error = await failure(modelAt(url).forecast(instances, options));
    expect(error.retryable).toBe(true);
  });

  it("treats garbage and wrongly shaped answers as malformed, never as forecasts", async () => {
    const answers = [
      ["not json {", /is not JSON/],
      [JSON.stringify({ result: [] }), /predictions/],
      [deepArResponse(1, 12, REQUIRED_QUANTILES), /1 predictions for 2 instances/],
      [deepArResponse(2, 12, [0.1, 0.5]), /quantiles\.0\.2 is missing/],
      [
        JSON.stringify({ predictions: [{ mean: ["x"] }, { mean: [1] }] }),
        /predictions\.0\.mean\.0/,
      ],
    ] as const;
    for (const [body, problem] of answers) {
      fake = await startFakeEndpoint(() => ({ status: 200, body }));
      const error = await failure(modelAt(fake.url).forecast(instances, options));
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/malformed/);
      expect(error.message).toMatch(problem);
      await fake.close();
      fake = undefined;
    }
  });

  it("calls server errors retryable and model client errors not", async () => {
    fake = await startFakeEndpoint(() => ({
      status: 500,
      body: JSON.stringify({ message: "boom" }),
      headers: { "x-amzn-ErrorType": "InternalFailure" },
    }));
    expect((await failure(modelAt(fake.url).forecast(instances, options))).retryable).toBe(true);
    await fake.close();
    fake = await startFakeEndpoint(() => ({
      status: 424,
      body: JSON.stringify({ Message: "bad", OriginalStatusCode: 400, OriginalMessage: "bad" }),
      headers: { "x-amzn-ErrorType": "ModelError" },
    }));
    const error = await failure(modelAt(fake.url).forecast(instances, options));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/ModelError/);
  });

  it("clamps negative values to zero and reorders crossing quantiles", async () => {
    const crossing = {
      mean: new Array(12).fill(-1),
      quantiles: Object.fromEntries(
        REQUIRED_QUANTILES.map((q) => [String(q), new Array(12).fill(10 - 10 * q)]),
      ),
    };
    fake = await startFakeEndpoint(() => ({
      status: 200,
      body: JSON.stringify({ predictions: [crossing, crossing] }),
    }));
    const [output] = await modelAt(fake.url).forecast(instances, options);
    expect(output?.mean[0]).toBe(0);
    expect(output?.quantiles["0.1"]?.[0]).toBeLessThanOrEqual(output?.quantiles["0.9"]?.[0] ?? 0);
    expect(output?.quantiles["0.99"]?.[0]).toBeCloseTo(9, 9);
  });
});
