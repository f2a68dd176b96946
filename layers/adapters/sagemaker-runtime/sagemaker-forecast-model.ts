import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  type SageMakerRuntimeClient,
} from "@aws-sdk/client-sagemaker-runtime";
import { quantileKey, toFieldIssues } from "../../domain/config.js";
import { DependencyError } from "../../domain/errors.js";
import {
  type DeepArInstance,
  type DeepArPrediction,
  DeepArResponseSchema,
  toDeepArInstance,
} from "../../domain/forecasting/deepar.js";
import { rearrangeQuantiles } from "../../domain/forecasting/quantiles.js";
import type {
  ForecastInstance,
  ForecastModel,
  ForecastOptions,
  ForecastOutput,
  ModelIdentity,
} from "../../ports/forecast-model.js";

export interface SageMakerForecastModelOptions {
  /** The SageMaker endpoint (config `forecast.endpointName`). */
  readonly endpointName: string;
  /** Per InvokeEndpoint call, in milliseconds (config `forecast.timeoutMs`). */
  readonly timeoutMs: number;
  /** How forecasts record the model. @default { model: endpointName, modelVersion: "current" } */
  readonly identity?: Partial<ModelIdentity>;
  /**
   * Largest request body per call, in bytes; more instances are split over several calls.
   * @default 5 MiB (SageMaker refuses bodies over 6 MB)
   */
  readonly maxPayloadBytes?: number;
}

const DEFAULT_MAX_PAYLOAD_BYTES = 5 * 1024 * 1024;

/** SageMaker Runtime errors after which a later call may succeed. */
const RETRYABLE_ERRORS = new Set([
  "ServiceUnavailable",
  "InternalFailure",
  "InternalDependencyException",
  "ModelNotReadyException",
  "ThrottlingException",
  "TimeoutError",
]);

/**
 * A forecasting model behind a SageMaker endpoint that speaks DeepAR's JSON (a real DeepAR
 * endpoint, or shaper's model server deployed or run locally). Each call has its own timeout;
 * the response is validated before any number of it is used.
 *
 * @example
 * const model = new SageMakerForecastModel(aws.sagemakerRuntime(), { endpointName: "shaper-forecaster", timeoutMs: 5000 });
 * const [out] = await model.forecast([{ start, target }], { quantiles: [0.1, 0.9], numSamples: 100, intervalSeconds: 300, predictionLength: 12 });
 */
export class SageMakerForecastModel implements ForecastModel {
  readonly identity: ModelIdentity;
  private readonly maxPayloadBytes: number;

  constructor(
    private readonly client: SageMakerRuntimeClient,
    private readonly options: SageMakerForecastModelOptions,
  ) {
    this.identity = {
      model: options.identity?.model ?? options.endpointName,
      modelVersion: options.identity?.modelVersion ?? "current",
    };
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /**
   * @throws DependencyError when the endpoint fails, times out (retryable), or answers something
   *   that is not a complete DeepAR response for these instances (not retryable)
   */
  async forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ForecastOutput[]> {
    const keys = options.quantiles.map(quantileKey);
    const configuration = {
      num_samples: options.numSamples,
      output_types: ["mean", "quantiles"],
      quantiles: keys,
    };
    const outputs: ForecastOutput[] = [];
    for (const chunk of this.chunks(instances.map(toDeepArInstance), configuration)) {
      const body = await this.invoke(chunk.body);
      outputs.push(...this.read(body, chunk.count, keys, options.predictionLength));
    }
    return outputs;
  }

  /** Splits the instances into request bodies under the payload limit. */
  private *chunks(
    instances: readonly DeepArInstance[],
    configuration: Readonly<Record<string, unknown>>,
  ): Generator<{ body: string; count: number }> {
    const head = `{"configuration":${JSON.stringify(configuration)},"instances":[`;
    let parts: string[] = [];
    let bytes = head.length + 2;
    for (const instance of instances) {
      const part = JSON.stringify(instance);
      const size = Buffer.byteLength(part) + 1;
      if (parts.length > 0 && bytes + size > this.maxPayloadBytes) {
        yield { body: `${head}${parts.join(",")}]}`, count: parts.length };
        parts = [];
        bytes = head.length + 2;
      }
      parts.push(part);
      bytes += size;
    }
    if (parts.length > 0) yield { body: `${head}${parts.join(",")}]}`, count: parts.length };
  }

  private async invoke(body: string): Promise<string> {
    const { endpointName, timeoutMs } = this.options;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let output: InvokeEndpointCommandOutput;
    try {
      output = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: endpointName,
          ContentType: "application/json",
          Accept: "application/json",
          Body: new TextEncoder().encode(body),
        }),
        { abortSignal: controller.signal },
      );
    } catch (error) {
      throw controller.signal.aborted
        ? new DependencyError(
            "SageMaker",
            `Endpoint ${endpointName} did not answer within ${timeoutMs} ms (forecast.timeoutMs). The fallback model answers; raise the timeout if the endpoint is just slow.`,
            { retryable: true, cause: error, details: { endpointName, timeoutMs } },
          )
        : endpointError(endpointName, error);
    } finally {
      clearTimeout(timer);
    }
    return new TextDecoder().decode(output.Body);
  }

  /** Validates a response and turns it into outputs, `predictionLength` steps each. */
  private read(
    body: string,
    expected: number,
    keys: readonly string[],
    predictionLength: number | undefined,
  ): ForecastOutput[] {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      throw this.malformed(`is not JSON (${(error as Error).message})`, body);
    }
    const parsed = DeepArResponseSchema.safeParse(json);
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error).slice(0, 5);
      throw this.malformed(issues.map((i) => `${i.field}: ${i.message}`).join("; "), body);
    }
    const { predictions } = parsed.data;
    if (predictions.length !== expected) {
      throw this.malformed(`has ${predictions.length} predictions for ${expected} instances`, body);
    }
    const length = predictionLength ?? predictions[0]?.mean?.length ?? 0;
    return predictions.map((p, i) => this.toOutput(p, i, keys, length, body));
  }

  private toOutput(
    prediction: DeepArPrediction,
    index: number,
    keys: readonly string[],
    length: number,
    body: string,
  ): ForecastOutput {
    const rows: [string, number[] | undefined][] = [
      ["mean", prediction.mean],
      ...keys.map((k): [string, number[] | undefined] => [
        `quantiles.${k}`,
        prediction.quantiles?.[k],
      ]),
    ];
    for (const [name, row] of rows) {
      if (!row) throw this.malformed(`predictions.${index}.${name} is missing`, body);
      if (row.length < length || row.length === 0) {
        throw this.malformed(
          `predictions.${index}.${name} has ${row.length} values; expected at least ${Math.max(length, 1)} (the forecast horizon). Set the endpoint's prediction length to cover horizonIntervals.`,
          body,
        );
      }
    }
    // Demand is non-negative, and quantiles must be ordered: DeepAR's sampled quantiles may dip
    // below zero (Student-t likelihood) or cross by sampling noise.
    const cut = (row: readonly number[] | undefined) =>
      (row ?? []).slice(0, length).map((v) => Math.max(0, v));
    const quantiles = rearrangeQuantiles(
      Object.fromEntries(keys.map((k) => [k, cut(prediction.quantiles?.[k])])),
    );
    return {
      mean: cut(prediction.mean),
      quantiles,
      ...(prediction.state === undefined ? {} : { state: prediction.state }),
      ...(prediction.resumed ? { resumed: true } : {}),
    };
  }

  private malformed(problem: string, body: string): DependencyError {
    const { endpointName } = this.options;
    return new DependencyError(
      "SageMaker",
      `Endpoint ${endpointName} answered a malformed DeepAR response: ${problem}. Expected { "predictions": [{ "mean": [...], "quantiles": { "0.1": [...] } }] } with one prediction per instance.`,
      { retryable: false, details: { endpointName, bodyStart: body.slice(0, 200) } },
    );
  }
}

function endpointError(endpointName: string, error: unknown): DependencyError {
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    OriginalStatusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  const retryable =
    RETRYABLE_ERRORS.has(name) ||
    (status !== undefined && status >= 500) ||
    (name === "ModelError" && (e.OriginalStatusCode ?? 0) >= 500) ||
    isNetworkError(error);
  return new DependencyError(
    "SageMaker",
    `InvokeEndpoint on ${endpointName} failed: ${name}: ${e?.message ?? String(error)}${retryable ? " (transient; retrying may help)" : ""}`,
    { retryable, cause: error, details: { endpointName, errorName: name, httpStatusCode: status } },
  );
}

function isNetworkError(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  return (
    code !== undefined &&
    /^(E(CONN|TIMEDOUT|PIPE|AI_AGAIN|HOSTUNREACH|NETUNREACH|NOTFOUND))/.test(code)
  );
}
