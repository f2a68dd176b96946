import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import {
  DependencyError,
  isShaperError,
  PayloadTooLargeError,
  ValidationError,
} from "../domain/errors.js";
import { logger, metrics } from "./observability.js";

/** A parsed HTTP request as routes see it. */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body, parsed; undefined when there is none. */
  readonly body: unknown;
  readonly requestId: string;
  /** Claims of a verified caller token, when an authorizer ran. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface HttpResult {
  readonly statusCode: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Route = (request: HttpRequest) => Promise<HttpResult>;

export interface HttpHandlerOptions {
  /** Routes by API Gateway route key, e.g. "POST /v1/requests", "GET /v1/requests/{id}". */
  readonly routes: Readonly<Record<string, Route>>;
  /** Largest accepted body, in bytes; larger bodies get 413 before anything runs. @default 65536 */
  readonly maxBodyBytes?: number;
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/**
 * Maps an error to an HTTP response. The only place errors become responses: 4xx bodies name the
 * field and the expectation; 5xx bodies show nothing internal, only the request id to quote.
 */
export function errorResponse(
  error: unknown,
  requestId: string,
): APIGatewayProxyStructuredResultV2 {
  const respond = (
    statusCode: number,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => ({
    statusCode,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ error: { ...body, requestId } }),
  });
  if (isShaperError(error)) {
    switch (error.code) {
      case "VALIDATION":
        return respond(400, {
          code: error.code,
          message: error.message,
          issues: error instanceof ValidationError ? error.issues : [],
        });
      case "NOT_FOUND":
        return respond(404, { code: error.code, message: error.message });
      case "UNAUTHORIZED":
        return respond(
          401,
          { code: error.code, message: error.message },
          { "www-authenticate": "Bearer" },
        );
      case "FORBIDDEN":
        // A caller acting for another tenant: worth a line in the logs (never the token).
        logger.warn("forbidden", { message: error.message, details: error.details });
        return respond(403, { code: error.code, message: error.message });
      case "CONFLICT":
        return respond(409, { code: error.code, message: error.message });
      case "PAYLOAD_TOO_LARGE":
        return respond(413, { code: error.code, message: error.message });
      case "DEPENDENCY": {
        const retryable = error instanceof DependencyError && error.retryable;
        logger.error("dependency failed", { error, details: error.details });
        return respond(
          retryable ? 503 : 502,
          {
            code: error.code,
            message:
              "A service shaper depends on failed. Retry later; quote the requestId if it persists.",
          },
          retryable ? { "retry-after": "1" } : {},
        );
      }
      case "CONFIG":
        logger.error("configuration error", { error, details: error.details });
        break;
    }
  } else {
    logger.error("unexpected error", { error: error as Error });
  }
  return respond(500, {
    code: "INTERNAL",
    message: "Internal error. Quote the requestId when reporting it.",
  });
}

/** Parses the raw event body: size limit first, then JSON. */
export function parseBody(event: APIGatewayProxyEventV2, maxBodyBytes: number): unknown {
  if (event.body === undefined || event.body === null || event.body === "") return undefined;
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body, "base64").toString("utf8")
    : event.body;
  const bytes = Buffer.byteLength(raw, "utf8");
  if (bytes > maxBodyBytes) {
    throw new PayloadTooLargeError(
      `Request body is ${bytes} bytes; the limit is ${maxBodyBytes} bytes. Send a smaller body.`,
    );
  }
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(
      `Request body is not valid JSON: ${(error as Error).message}. Send a JSON object.`,
      [{ field: "(body)", message: "must be valid JSON" }],
    );
  }
}

/**
 * The kit for API Gateway HTTP API (payload v2) handlers: routing by route key, body limit (413),
 * JSON parsing (400), error mapping, logging and metrics.
 */
export function httpHandler(options: HttpHandlerOptions) {
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  const base = async (
    event: APIGatewayProxyEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    try {
      const route = options.routes[event.routeKey];
      if (!route) {
        return {
          statusCode: 404,
          headers: JSON_HEADERS,
          body: JSON.stringify({
            error: {
              code: "NOT_FOUND",
              message: `No route ${event.routeKey}. Routes: ${Object.keys(options.routes).join(", ")}.`,
              requestId,
            },
          }),
        };
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(event.headers ?? {}))
        if (v !== undefined) headers[k.toLowerCase()] = v;
      const jwtClaims = (
        event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }
      )?.authorizer?.jwt?.claims;
      const result = await route({
        method: event.requestContext?.http?.method ?? "GET",
        path: event.rawPath,
        pathParameters: (event.pathParameters ?? {}) as Record<string, string>,
        headers,
        body: parseBody(event, maxBodyBytes),
        requestId,
        ...(jwtClaims ? { claims: jwtClaims } : {}),
      });
      return {
        statusCode: result.statusCode,
        headers: { ...JSON_HEADERS, ...result.headers },
        body: JSON.stringify(result.body),
      };
    } catch (error) {
      return errorResponse(error, requestId);
    }
  };
  return middy(base)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
