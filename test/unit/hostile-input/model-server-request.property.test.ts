import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { invoke, type ServedModel } from "../../../model-server/invocations.js";

/**
 * Hostile requests to the model server's `/invocations` (`invoke`, the function server.ts calls
 * per request): bodies, content types and accept headers a broken client or an attacker sends.
 * Every answer is a 200 whose every number is finite and non-negative where demand is, or a 4xx
 * whose message names each bad field — `invoke` never throws and never answers 5xx.
 */

const PREDICTION_LENGTH = 4;
const MODELS: readonly ServedModel[] = [
  {
    name: "seasonal-naive",
    version: "t",
    predictionLength: PREDICTION_LENGTH,
    settings: { kind: "seasonal-naive", seasonLength: 6, intervalScale: 1 },
  },
  {
    name: "shaper",
    version: "t",
    predictionLength: PREDICTION_LENGTH,
    settings: { kind: "shaper", seasonLength: 6 },
  },
];

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1e308, -1e308, 1e-320, 2 ** 53 + 1, 0.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const targetValue = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1_000, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom("NaN" as unknown, null) },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom("1", "Infinity", true, [], {}) },
);
const start = fc.oneof(
  fc.constantFrom(
    "2026-11-27 20:00:00",
    "2026-11-27",
    "1970-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "0000-01-01 00:00:00",
    "2026-02-30 25:61:61",
    "",
    "yesterday",
  ),
  fc.string({ maxLength: 20 }),
  fc.integer().map((n) => n as unknown),
);
const quantileKey = fc.oneof(
  fc.constantFrom("0.1", "0.5", "0.9", ".5", "0.95", "0", "1", "1.5", "-0.1", "NaN", "abc", "1e-9"),
  fc.double().map(String),
  fc.double({ min: 0, max: 1 }).map((n) => n as unknown),
);

/** Instances a well-behaved caller sends: any history, gaps, zeros, extremes included. */
const plausibleInstance = fc.record(
  {
    start: fc.constantFrom("2026-11-27 20:00:00", "2026-11-27", "1970-01-01 00:00:00"),
    target: fc.array(
      fc.oneof(
        { weight: 8, arbitrary: fc.double({ min: 0, max: 1_000, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom("NaN" as unknown, null, 0, 1e12, 1e300) },
      ),
      { minLength: 1, maxLength: 40 },
    ),
    cat: fc.array(fc.nat(5), { maxLength: 2 }),
  },
  { requiredKeys: ["start", "target"] },
);
const hostileInstance = fc.record(
  {
    start,
    target: fc.oneof(
      { weight: 8, arbitrary: fc.array(targetValue, { minLength: 0, maxLength: 40 }) },
      { weight: 1, arbitrary: fc.constantFrom("x" as unknown, null, 5, {}) },
    ),
    cat: fc.oneof(fc.array(hostileNumber, { maxLength: 3 }), fc.constant("x" as unknown)),
    dynamic_feat: fc.array(fc.array(hostileNumber, { maxLength: 50 }), { maxLength: 2 }),
    state: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)),
  },
  { requiredKeys: ["start", "target"] },
);
const instance = fc.oneof(
  { weight: 3, arbitrary: plausibleInstance },
  { weight: 1, arbitrary: hostileInstance },
);
const plausibleConfiguration = fc.record(
  {
    num_samples: fc.integer({ min: 1, max: 50 }),
    output_types: fc.subarray(["mean", "quantiles", "samples"], { minLength: 1 }),
    quantiles: fc.subarray(["0.1", "0.5", "0.9", "0.99"], { minLength: 1 }),
  },
  { requiredKeys: [] },
);
const hostileConfiguration = fc.record(
  {
    num_samples: hostileNumber,
    output_types: fc.array(fc.constantFrom("mean", "quantiles", "samples", "median", ""), {
      maxLength: 4,
    }),
    quantiles: fc.array(quantileKey, { maxLength: 5 }),
  },
  { requiredKeys: [] },
);
const request = fc.record(
  {
    instances: fc.oneof(
      { weight: 8, arbitrary: fc.array(instance, { minLength: 1, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    ),
    configuration: fc.oneof(
      { weight: 4, arbitrary: plausibleConfiguration },
      { weight: 2, arbitrary: hostileConfiguration },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
    ),
  },
  { requiredKeys: ["instances"] },
);

const body = fc.oneof(
  { weight: 8, arbitrary: request.map((r) => JSON.stringify(r)) },
  // JSON Lines: one instance per line, some lines broken.
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          instance.map((i) => JSON.stringify(i)),
          fc.string({ maxLength: 10 }),
        ),
        {
          maxLength: 4,
        },
      )
      .map((lines) => lines.join("\n")),
  },
  // Literals JSON.parse turns into Infinity.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"instances":[{"start":"2026-11-27","target":[1e999,2]}]}',
      '{"instances":[{"start":"2026-11-27","target":[1,2]}],"configuration":{"num_samples":1e999}}',
      '{"start":"2026-11-27","target":[-1e999]}',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
);
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/jsonlines",
  "application/x-jsonlines",
  "text/csv",
  "",
  ";;;",
);
const accept = fc.constantFrom(
  undefined,
  "application/json",
  "application/jsonlines",
  "*/*",
  "text/html",
  "",
  ",,,",
  "application/json;q=0",
);

/** Lower-cased with spaces dropped. */
function squash(text: string): string {
  return text.toLowerCase().replace(/\s/g, "");
}

/** Every number in a JSON value. */
function numbers(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) numbers(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (k !== "state") numbers(v, out);
  } else out.push(value);
  return out;
}

describe("model server requests (hostile input)", () => {
  it("answers every request with finite forecasts or a 4xx naming each bad field, never a throw or 5xx", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MODELS),
        body,
        contentType,
        accept,
        async (model, text, type, acceptHeader) => {
          const response = await invoke(model, {
            contentType: type,
            accept: acceptHeader,
            body: text,
          });
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          expect([200, 400, 406, 415]).toContain(response.status);
          if (response.status !== 200) {
            const error = JSON.parse(response.body) as {
              message: string;
              issues: { field: string; message: string }[];
            };
            expect(error.issues.length).toBeGreaterThan(0);
            // The message lists the first ten issues, each by its field.
            for (const issue of error.issues.slice(0, 10)) {
              expect(squash(error.message)).toContain(squash(`${issue.field}:`));
            }
            return;
          }
          const predictions =
            response.contentType === "application/jsonlines"
              ? response.body
                  .split("\n")
                  .filter((l) => l !== "")
                  .map((l) => JSON.parse(l) as Record<string, unknown>)
              : (JSON.parse(response.body) as { predictions: Record<string, unknown>[] })
                  .predictions;
          expect(predictions.length).toBeGreaterThan(0);
          for (const prediction of predictions) {
            // JSON writes NaN and Infinity as null: every value must still be a finite number.
            for (const v of numbers(prediction)) expect(Number.isFinite(v)).toBe(true);
            for (const row of [
              prediction.mean,
              ...Object.values((prediction.quantiles ?? {}) as Record<string, unknown>),
            ]) {
              if (row !== undefined) expect((row as number[]).length).toBe(PREDICTION_LENGTH);
            }
          }
        },
      ),
      { numRuns: 1_000 },
    );
    for (const status of [200, 400, 406, 415]) expect(seen.get(status) ?? 0).toBeGreaterThan(0);
  });
});
