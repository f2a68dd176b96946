import { toFieldIssues } from "../layers/domain/config.js";
import type { FieldIssue } from "../layers/domain/errors.js";
import {
  DEEPAR_DEFAULTS,
  type DeepArConfiguration,
  type DeepArInstance,
  type DeepArOutputType,
  type DeepArPrediction,
  deepArRequestSchema,
  fromDeepArTarget,
} from "../layers/domain/forecasting/deepar.js";
import { parseQuantileLevel, rearrangeQuantiles } from "../layers/domain/forecasting/quantiles.js";
import {
  forecastWithModel,
  type ModelSettings,
} from "../layers/domain/forecasting/series-model.js";
import { parseDeepArTimestamp } from "../layers/domain/time.js";

/**
 * The model server's `/invocations`: DeepAR's request and response formats in front of the
 * product's model (series-model.ts: "shaper", or "seasonal-naive" when the artefact says so).
 * Pure apart from the model it is given; the HTTP plumbing is in server.ts.
 */

/** The loaded model: what the container was configured and trained with. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  /** Steps forecast per instance (DeepAR's prediction_length hyperparameter; requests cannot change it). */
  readonly predictionLength: number;
  /** The model's kind and settings (from the artefact, else the server's defaults). */
  readonly settings: ModelSettings;
  /** Configuration for JSON Lines requests, which carry none (DeepAR's DEEPAR_INFERENCE_CONFIG). */
  readonly inferenceConfig?: DeepArConfiguration;
}

export interface InvocationRequest {
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly body: string;
}

export interface InvocationResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = "application/json";
const JSON_LINES_TYPE = "application/jsonlines";
const JSON_LINES_ALIASES = new Set([
  JSON_LINES_TYPE,
  "application/x-jsonlines",
  "application/jsonl",
]);

/**
 * Answers one invocation: negotiates the formats, validates the request (400 naming the field),
 * forecasts every instance and writes the predictions.
 */
export async function invoke(
  model: ServedModel,
  request: InvocationRequest,
): Promise<InvocationResponse> {
  const accept = negotiateAccept(request.accept);
  if (!accept) {
    return errorResponse(406, "NotAcceptable", [
      {
        field: "(Accept header)",
        message: `"${request.accept}" is not offered; accepted: ${JSON_TYPE}, ${JSON_LINES_TYPE}`,
      },
    ]);
  }
  const format = requestFormat(request.contentType);
  if (!format) {
    return errorResponse(415, "UnsupportedMediaType", [
      {
        field: "(Content-Type header)",
        message: `"${request.contentType}" is not supported; send ${JSON_TYPE} (or ${JSON_LINES_TYPE}, one instance per line)`,
      },
    ]);
  }
  const parsed =
    format === "json" ? parseJsonRequest(model, request.body) : parseJsonLines(model, request.body);
  if ("issues" in parsed) return errorResponse(400, "ValidationError", parsed.issues);
  const predictions = await predict(model, parsed.instances, parsed.configuration);
  return accept === "jsonlines"
    ? {
        status: 200,
        contentType: JSON_LINES_TYPE,
        body: `${predictions.map((p) => JSON.stringify(p)).join("\n")}\n`,
      }
    : { status: 200, contentType: JSON_TYPE, body: JSON.stringify({ predictions }) };
}

/** A 4xx/5xx body: `{ error, message, issues }`, the message naming each field. */
export function errorResponse(
  status: number,
  error: string,
  issues: readonly FieldIssue[],
): InvocationResponse {
  const shown = issues.slice(0, 10).map((i) => `${i.field}: ${i.message}`);
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : "";
  return {
    status,
    contentType: JSON_TYPE,
    body: JSON.stringify({
      error,
      message: `Invalid request: ${shown.join("; ")}${more}.`,
      issues: issues.slice(0, 100),
    }),
  };
}

function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type === "" ? undefined : type;
}

function negotiateAccept(header: string | undefined): "json" | "jsonlines" | undefined {
  if (header === undefined || header.trim() === "") return "json";
  for (const part of header.split(",")) {
    const type = mediaType(part);
    if (type === JSON_TYPE || type === "*/*" || type === "application/*") return "json";
    if (type && JSON_LINES_ALIASES.has(type)) return "jsonlines";
  }
  return undefined;
}

function requestFormat(header: string | undefined): "json" | "jsonlines" | undefined {
  const type = mediaType(header);
  if (type === undefined || type === JSON_TYPE) return "json";
  return JSON_LINES_ALIASES.has(type) ? "jsonlines" : undefined;
}

type Parsed =
  | { readonly instances: DeepArInstance[]; readonly configuration: DeepArConfiguration }
  | { readonly issues: FieldIssue[] };

function parseJsonRequest(model: ServedModel, body: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return {
      issues: [{ field: "(body)", message: `is not valid JSON (${(error as Error).message})` }],
    };
  }
  const result = deepArRequestSchema(model.predictionLength).safeParse(json);
  if (!result.success) return { issues: toFieldIssues(result.error) };
  return {
    instances: result.data.instances,
    configuration: result.data.configuration ?? model.inferenceConfig ?? {},
  };
}

/** JSON Lines: one instance per line, as DeepAR's batch transform reads them. */
function parseJsonLines(model: ServedModel, body: string): Parsed {
  const issues: FieldIssue[] = [];
  const instances: DeepArInstance[] = [];
  body.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      issues.push({
        field: `(line ${i + 1})`,
        message: `is not valid JSON (${(error as Error).message})`,
      });
      return;
    }
    const result = deepArRequestSchema(model.predictionLength).safeParse({ instances: [json] });
    if (result.success) instances.push(...result.data.instances);
    else {
      for (const issue of toFieldIssues(result.error)) {
        issues.push({
          field: issue.field.replace(/^instances\.0/, `(line ${i + 1})`),
          message: issue.message,
        });
      }
    }
  });
  if (instances.length === 0 && issues.length === 0) {
    issues.push({ field: "(body)", message: "holds no instance; send one JSON instance per line" });
  }
  return issues.length > 0 ? { issues } : { instances, configuration: model.inferenceConfig ?? {} };
}

/**
 * Forecasts the instances together (the shaper method chooses its default option on the whole
 * batch) and writes each prediction in the output types asked for. Samples are the predictive
 * quantiles at (i + ½)/n, a stratified sample of the forecast distribution.
 */
async function predict(
  model: ServedModel,
  instances: readonly DeepArInstance[],
  configuration: DeepArConfiguration,
): Promise<DeepArPrediction[]> {
  const outputTypes = new Set<DeepArOutputType>(
    configuration.output_types ?? DEEPAR_DEFAULTS.outputTypes,
  );
  const keys = outputTypes.has("quantiles")
    ? (configuration.quantiles ?? DEEPAR_DEFAULTS.quantiles)
    : [];
  const sampleCount = outputTypes.has("samples")
    ? (configuration.num_samples ?? DEEPAR_DEFAULTS.numSamples)
    : 0;
  const sampleLevels = Array.from({ length: sampleCount }, (_, i) => (i + 0.5) / sampleCount);
  const levels = [...keys.map(levelOf), ...sampleLevels];
  // The season is one day of steps, so the step is a day over the season length.
  const stepSeconds = 86_400 / model.settings.seasonLength;
  const forecasts = await forecastWithModel(
    instances.map((instance) => ({
      values: fromDeepArTarget(instance.target),
      time: { startSeconds: parseDeepArTimestamp(instance.start) ?? 0, stepSeconds },
      ...(instance.state === undefined ? {} : { state: instance.state }),
    })),
    model.settings,
    {
      predictionLength: model.predictionLength,
      quantiles: levels.length > 0 ? levels : [0.5],
      stateTag: `${model.name}@${model.version}`,
    },
  );
  return forecasts.map((forecast) => {
    const prediction: { -readonly [K in keyof DeepArPrediction]: DeepArPrediction[K] } = {};
    if (outputTypes.has("mean")) prediction.mean = forecast.mean;
    if (outputTypes.has("quantiles")) {
      const raw = Object.fromEntries(keys.map((key, i) => [key, forecast.quantiles[i] ?? []]));
      prediction.quantiles = rearrangeQuantiles(raw, levelOf);
    }
    if (sampleCount > 0) prediction.samples = forecast.quantiles.slice(keys.length);
    if (forecast.state !== undefined) prediction.state = forecast.state;
    if (forecast.origin?.how === "resumed") prediction.resumed = true;
    return prediction;
  });
}

/** The level of a validated quantile key (the schema admits only parseable levels). */
function levelOf(key: string): number {
  return parseQuantileLevel(key) ?? Number.NaN;
}
