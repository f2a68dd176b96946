import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DeepArConfiguration } from "../layers/domain/forecasting/deepar.js";
import {
  type ModelArtifact,
  settingsOfArtifact,
} from "../layers/domain/forecasting/model-artifact.js";
import { errorResponse, type InvocationResponse, invoke, type ServedModel } from "./invocations.js";

/**
 * shaper's model server: the SageMaker inference container contract (`GET /ping`,
 * `POST /invocations` on port 8080) with DeepAR's JSON formats, in front of the product's model
 * (the artefact's kind; "shaper" when there is no artefact). It also answers `POST /endpoints/{name}/invocations`, the path the AWS SDK's
 * `InvokeEndpointCommand` sends to, so pointing `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` at it makes
 * the server stand in for SageMaker Runtime; on that path errors come back as SageMaker Runtime
 * reports a container's errors (HTTP 424 `ModelError` with the container's status and message).
 */

/** SageMaker real-time inference accepts request payloads up to 6 MB. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface ModelServerOptions {
  /** TCP port; 0 picks a free one. @default 8080 (SageMaker's contract) */
  readonly port?: number;
  /** @default "0.0.0.0" (inside a container); tests use "127.0.0.1" */
  readonly host?: string;
  /** Steps forecast per instance (DeepAR's prediction_length); requests cannot change it. */
  readonly predictionLength: number;
  /** Steps per season when the artefact does not say. @default 288 (one day of 5-minute steps) */
  readonly seasonLength?: number;
  /** Version reported by /ping and in logs when the artefact does not name one. @default "unversioned" */
  readonly modelVersion?: string;
  /** Loads the fitted parameters; /ping answers 503 until it resolves. */
  readonly loadArtifact?: () => Promise<ModelArtifact | undefined>;
  /** Configuration of JSON Lines requests (DeepAR's DEEPAR_INFERENCE_CONFIG). */
  readonly inferenceConfig?: DeepArConfiguration;
  /** Largest request body, in bytes. @default 6 MiB */
  readonly maxBodyBytes?: number;
  /** Receives one structured entry per request and per lifecycle event. @default none */
  readonly log?: (entry: Readonly<Record<string, unknown>>) => void;
}

export interface RunningModelServer {
  /** `http://host:port`, with 127.0.0.1 when listening on every interface. */
  readonly url: string;
  readonly port: number;
  /** Resolves when the model is loaded; rejects with the load error. */
  readonly ready: Promise<void>;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

type ModelState =
  | { readonly status: "loading" }
  | { readonly status: "ready"; readonly model: ServedModel }
  | { readonly status: "failed"; readonly reason: string };

const INVOKE_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

/**
 * Starts the model server. It listens at once; the model loads in the background and /ping says
 * when it is ready (SageMaker waits for a 200 before routing traffic).
 *
 * @returns the URL and port it listens on, a `ready` promise and `close()`
 * @example
 * const server = await startModelServer({ port: 0, host: "127.0.0.1", predictionLength: 12 });
 * process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = server.url;
 */
export async function startModelServer(options: ModelServerOptions): Promise<RunningModelServer> {
  const log = options.log ?? (() => undefined);
  let state: ModelState = { status: "loading" };
  const ready = loadModel(options).then(
    (model) => {
      state = { status: "ready", model };
      log({
        event: "model-loaded",
        model: model.name,
        version: model.version,
        predictionLength: model.predictionLength,
        settings: model.settings,
      });
    },
    (error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      state = { status: "failed", reason };
      log({ event: "model-load-failed", reason });
      throw error;
    },
  );
  // Callers that never await `ready` must not see an unhandled rejection; /ping reports it.
  ready.catch(() => undefined);

  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const server = createServer((request, response) => {
    handle(request, response, () => state, maxBodyBytes, log).catch((error: unknown) => {
      log({ event: "internal-error", error: String(error) });
      if (!response.headersSent)
        send(
          response,
          errorResponse(500, "InternalError", [
            { field: "(server)", message: "failed; see the server log" },
          ]),
        );
    });
  });
  const port = await listen(server, options.port ?? 8080, options.host ?? "0.0.0.0");
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  log({ event: "listening", port });
  return {
    url: `http://${host}:${port}`,
    port,
    ready,
    close: () => close(server),
  };
}

async function loadModel(options: ModelServerOptions): Promise<ServedModel> {
  const artifact = options.loadArtifact ? await options.loadArtifact() : undefined;
  const daySteps = options.seasonLength ?? 288;
  const settings = artifact
    ? settingsOfArtifact(artifact, daySteps)
    : ({ kind: "shaper", seasonLength: daySteps } as const);
  return {
    name: settings.kind,
    version: artifact?.version ?? options.modelVersion ?? "unversioned",
    predictionLength: options.predictionLength,
    settings,
    ...(options.inferenceConfig ? { inferenceConfig: options.inferenceConfig } : {}),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  state: () => ModelState,
  maxBodyBytes: number,
  log: (entry: Readonly<Record<string, unknown>>) => void,
): Promise<void> {
  const requestId = randomUUID();
  response.setHeader("x-amzn-RequestId", requestId);
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const method = request.method ?? "GET";
  const endpointMatch = INVOKE_PATH.exec(path);

  if (path === "/ping") {
    if (method !== "GET") return send(response, methodNotAllowed("GET"));
    return send(response, pingResponse(state()));
  }
  if (path === "/execution-parameters" && method === "GET") {
    // Read by SageMaker batch transform to size its requests.
    return send(
      response,
      json(200, { MaxConcurrentTransforms: 1, BatchStrategy: "MULTI_RECORD", MaxPayloadInMB: 6 }),
    );
  }
  if (path !== "/invocations" && !endpointMatch) {
    return send(
      response,
      errorResponse(404, "NotFound", [
        {
          field: "(path)",
          message: `${path} is not served; use GET /ping, POST /invocations or POST /endpoints/{name}/invocations`,
        },
      ]),
    );
  }
  if (method !== "POST") return send(response, methodNotAllowed("POST"));

  const started = performance.now();
  const current = state();
  let result: InvocationResponse;
  if (current.status !== "ready") {
    await drain(request);
    result = errorResponse(503, "ModelNotReady", [
      {
        field: "(model)",
        message:
          current.status === "loading"
            ? "is still loading; retry shortly"
            : `failed to load: ${current.reason}`,
      },
    ]);
  } else {
    const body = await readBody(request, maxBodyBytes);
    result =
      body === undefined
        ? errorResponse(413, "PayloadTooLarge", [
            {
              field: "(body)",
              message: `exceeds ${maxBodyBytes} bytes; send fewer or shorter series per request`,
            },
          ])
        : await invoke(current.model, {
            contentType: request.headers["content-type"],
            accept: request.headers.accept,
            body,
          });
  }
  const endpointName = endpointMatch ? decodeURIComponent(endpointMatch[1] ?? "") : undefined;
  send(response, endpointName === undefined ? result : asSageMakerRuntime(result, current));
  log({
    event: "invocation",
    requestId,
    path,
    endpointName,
    status: result.status,
    ms: Math.round(performance.now() - started),
  });
}

function pingResponse(state: ModelState): InvocationResponse {
  switch (state.status) {
    case "ready":
      return json(200, {
        status: "ok",
        model: state.model.name,
        version: state.model.version,
        predictionLength: state.model.predictionLength,
      });
    case "loading":
      return json(503, { status: "loading" });
    case "failed":
      return json(500, { status: "failed", reason: state.reason });
  }
}

/**
 * What SageMaker Runtime's InvokeEndpoint returns for a container's answer: success passes
 * through (with the variant header); an error status becomes HTTP 424 ModelError carrying the
 * container's status and message, except a body over the payload limit, which the service
 * itself refuses.
 */
function asSageMakerRuntime(
  result: InvocationResponse,
  state: ModelState,
): InvocationResponse & { headers?: Record<string, string> } {
  if (result.status < 400) {
    return { ...result, headers: { "x-Amzn-Invoked-Production-Variant": "AllTraffic" } };
  }
  if (result.status === 413) {
    return { ...result, headers: { "x-amzn-ErrorType": "ValidationError" } };
  }
  const original = messageOf(result.body);
  const kind = result.status < 500 ? "client" : "server";
  const version = state.status === "ready" ? state.model.version : "unloaded";
  return {
    status: 424,
    contentType: "application/json",
    headers: { "x-amzn-ErrorType": "ModelError" },
    body: JSON.stringify({
      Message: `Received ${kind} error (${result.status}) from primary (model version ${version}) with message "${original}".`,
      OriginalStatusCode: result.status,
      OriginalMessage: original,
    }),
  };
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : body;
  } catch {
    return body;
  }
}

function json(status: number, value: unknown): InvocationResponse {
  return { status, contentType: "application/json", body: JSON.stringify(value) };
}

function methodNotAllowed(allowed: string): InvocationResponse {
  return errorResponse(405, "MethodNotAllowed", [
    { field: "(method)", message: `must be ${allowed}` },
  ]);
}

function send(
  response: ServerResponse,
  result: InvocationResponse & { headers?: Record<string, string> },
): void {
  response.writeHead(result.status, {
    "content-type": result.contentType,
    "content-length": Buffer.byteLength(result.body),
    ...result.headers,
  });
  response.end(result.body);
}

/**
 * Reads the body as UTF-8; undefined when it exceeds the limit (the rest is read and discarded so
 * the client receives the 413 instead of a reset connection).
 */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await drain(request);
    return undefined;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes > maxBytes) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString("utf8");
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const _ of request) {
    // discard
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
