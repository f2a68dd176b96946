import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";

/**
 * Serves an API Gateway HTTP API (payload v2) handler on localhost, the way API Gateway invokes
 * it: route keys matched against path templates ("GET /v1/requests/{id}"), path parameters
 * filled in, the raw body passed on. The same handler code answers locally and in AWS.
 */

type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface RunningHttpApi {
  readonly url: string;
  close(): Promise<void>;
}

interface CompiledRoute {
  readonly routeKey: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

function compile(routeKey: string): CompiledRoute {
  const [method = "GET", template = "/"] = routeKey.split(" ");
  const params: string[] = [];
  const source = template
    .split("/")
    .map((part) => {
      const m = /^\{([A-Za-z0-9_]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      params.push(m[1] as string);
      return "([^/]+)";
    })
    .join("/");
  return { routeKey, method, pattern: new RegExp(`^${source}$`), params };
}

/** Bodies are read up to this size before the handler sees them (the handler enforces its own limit). */
const READ_LIMIT_BYTES = 10 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > READ_LIMIT_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function localContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "shaper-admission-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:shaper-admission-local",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Starts the server.
 *
 * @param handler the HTTP API handler (e.g. the admission function's)
 * @param routeKeys the routes API Gateway would send to it
 * @param options `port` 0 picks a free one
 */
export async function serveHttpApi(
  handler: HttpApiHandler,
  routeKeys: readonly string[],
  options: {
    readonly port?: number;
    readonly host?: string;
    /**
     * Verifies the Authorization header and returns the token's claims, as API Gateway's JWT
     * authorizer does before the function runs; a rejected token gets 401 without reaching it.
     */
    readonly authorize?: (authorization: string | undefined) => Promise<Record<string, unknown>>;
  } = {},
): Promise<RunningHttpApi> {
  const routes = routeKeys.map(compile);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const method = (req.method ?? "GET").toUpperCase();
      const requestId = randomUUID();
      let route: CompiledRoute | undefined;
      let match: RegExpExecArray | null = null;
      for (const candidate of routes) {
        if (candidate.method !== method) continue;
        match = candidate.pattern.exec(url.pathname);
        if (match) {
          route = candidate;
          break;
        }
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const body = await readBody(req);
      let claims: Record<string, unknown> | undefined;
      if (options.authorize && route) {
        try {
          claims = await options.authorize(headers.authorization);
        } catch (error) {
          res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
          res.end(
            JSON.stringify({
              error: { code: "UNAUTHORIZED", message: (error as Error).message, requestId },
            }),
          );
          return;
        }
      }
      const pathParameters: Record<string, string> = {};
      route?.params.forEach((name, i) => {
        pathParameters[name] = decodeURIComponent(match?.[i + 1] ?? "");
      });
      const event = {
        version: "2.0",
        routeKey: route?.routeKey ?? "$default",
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
        ...(body !== "" ? { body } : {}),
        isBase64Encoded: false,
        requestContext: {
          accountId: "000000000000",
          apiId: "local",
          domainName: url.host,
          domainPrefix: "local",
          http: {
            method,
            path: url.pathname,
            protocol: "HTTP/1.1",
            sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
            userAgent: headers["user-agent"] ?? "",
          },
          requestId,
          ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
          routeKey: route?.routeKey ?? "$default",
          stage: "$default",
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
        },
      } as APIGatewayProxyEventV2;
      const result = await handler(event, localContext(requestId));
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      res.end(result.body ?? "");
    })().catch((error: unknown) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "INTERNAL", message: (error as Error).message } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
