import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createAwsClients } from "../../../layers/adapters/aws-clients.js";
import { SageMakerForecastModel } from "../../../layers/adapters/sagemaker-runtime/sagemaker-forecast-model.js";
import { DependencyError } from "../../../layers/domain/errors.js";
import type { ForecastInstance } from "../../../layers/ports/forecast-model.js";

/**
 * Hostile answers of the forecast endpoint, through SageMakerForecastModel's response validation:
 * the real SDK client, with a middleware that answers InvokeEndpoint in-process with a generated
 * body (an endpoint that answers garbage is a fault moto cannot produce). Either every output is
 * usable — one per instance, the horizon long, finite, non-negative, quantiles ordered — or the
 * call fails with a non-retryable "malformed" DependencyError (the fallback model then answers).
 */

const QUANTILES = [0.1, 0.5, 0.9];
const KEYS = QUANTILES.map(String);
const HORIZON = 4;

type AddMiddleware = (
  middleware: (
    next: unknown,
    context: { commandName?: string },
  ) => () => Promise<{ output: unknown; response: unknown }>,
  options: { step: "initialize"; name: string },
) => void;

/** The adapter over a real SDK client whose InvokeEndpoint answers `body`. */
function modelAnswering(body: string): SageMakerForecastModel {
  const client = createAwsClients({
    env: { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
  }).sagemakerRuntime();
  (client.middlewareStack as unknown as { add: AddMiddleware }).add(
    () => async () => ({
      output: { $metadata: {}, ContentType: "application/json", Body: Buffer.from(body, "utf8") },
      response: {},
    }),
    { step: "initialize", name: "answerInProcess" },
  );
  return new SageMakerForecastModel(client, { endpointName: "fuzzed", timeoutMs: 5_000 });
}

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1_000, noNaN: true }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(-1, -0, 0, 1e308, -1e308, 1e-320, null, "5", "NaN", true),
  },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);
const row = fc.oneof(
  { weight: 6, arbitrary: fc.array(value, { minLength: HORIZON, maxLength: HORIZON + 3 }) },
  { weight: 1, arbitrary: fc.array(value, { maxLength: HORIZON - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, "lots", 5, {}) },
);
const prediction = fc.record(
  {
    mean: row,
    quantiles: fc.oneof(
      { weight: 6, arbitrary: fc.record(Object.fromEntries(KEYS.map((k) => [k, row]))) },
      {
        weight: 1,
        arbitrary: fc.dictionary(fc.constantFrom(...KEYS, "0.99", "x", "__proto__"), row),
      },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], "q") },
    ),
    samples: fc.array(row, { maxLength: 2 }),
    state: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const responseBody = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({ predictions: fc.array(prediction, { minLength: 0, maxLength: 4 }) })
      .map((r) => JSON.stringify(r)),
  },
  // Literals JSON.parse turns into ±Infinity, and bodies cut short.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"predictions":[{"mean":[1e999,1,1,1],"quantiles":{"0.1":[1,1,1,1],"0.5":[1,1,1,1],"0.9":[1,1,1,1]}}]}',
      '{"predictions":[{"mean":[1,1,1,1],"quantiles":{"0.1":[-1e999,1,1,1],"0.5":[1,1,1,1],"0.9":[1,1,1,1]}}]}',
      '{"predictions": [{"mean": "lots"}]',
      "",
      "null",
      "[]",
      "<html>502 Bad Gateway</html>",
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const instances = fc.array(
  fc.record({
    start: fc.constant(1_795_000_200),
    target: fc.array(fc.double({ min: 0, max: 100, noNaN: true }), {
      minLength: 1,
      maxLength: 5,
    }),
  }),
  { minLength: 1, maxLength: 3 },
) as fc.Arbitrary<ForecastInstance[]>;

/** A well-formed answer for exactly these instances (so some cases are certain to be usable). */
const validCase = instances.chain((series) =>
  fc
    .array(
      fc.array(fc.double({ min: 0, max: 1_000, noNaN: true }), {
        minLength: HORIZON,
        maxLength: HORIZON,
      }),
      { minLength: series.length, maxLength: series.length },
    )
    .map((bases) => {
      const predictions = bases.map((base) => ({
        mean: base,
        quantiles: Object.fromEntries(KEYS.map((k, i) => [k, base.map((v) => v + i)])),
      }));
      return [series, JSON.stringify({ predictions })] as [ForecastInstance[], string];
    }),
);
const cases = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(instances, responseBody) },
  { weight: 1, arbitrary: validCase },
);

describe("model responses (hostile input)", () => {
  it("uses only complete, finite, non-negative, ordered forecasts and calls anything else malformed", async () => {
    const outcomes = { used: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(cases, async ([series, body]) => {
        const model = modelAnswering(body);
        let outputs: Awaited<ReturnType<SageMakerForecastModel["forecast"]>>;
        try {
          outputs = await model.forecast(series, {
            quantiles: QUANTILES,
            numSamples: 10,
            intervalSeconds: 300,
            predictionLength: HORIZON,
          });
        } catch (error) {
          expect(error).toBeInstanceOf(DependencyError);
          expect((error as DependencyError).retryable).toBe(false);
          expect((error as Error).message).toMatch(/malformed DeepAR response/);
          outcomes.refused++;
          return;
        }
        outcomes.used++;
        expect(outputs).toHaveLength(series.length);
        for (const output of outputs) {
          const rows = [output.mean, ...KEYS.map((k) => output.quantiles[k])];
          for (const r of rows) {
            expect(r).toHaveLength(HORIZON);
            for (const v of r ?? []) {
              expect(Number.isFinite(v)).toBe(true);
              expect(v).toBeGreaterThanOrEqual(0);
            }
          }
          for (let step = 0; step < HORIZON; step++) {
            const levels = KEYS.map((k) => output.quantiles[k]?.[step] as number);
            for (let i = 1; i < levels.length; i++) {
              expect(levels[i]).toBeGreaterThanOrEqual(levels[i - 1] as number);
            }
          }
        }
      }),
      { numRuns: 1_000 },
    );
    expect(outcomes.used).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
