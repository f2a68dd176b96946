import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What a fake endpoint answers: status, body and headers. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long before answering, in milliseconds. */
  readonly delayMs?: number;
}

export interface FakeEndpoint {
  readonly url: string;
  /** Paths of the requests received, in order. */
  readonly requests: { path: string; body: string; headers: IncomingMessage["headers"] }[];
  close(): Promise<void>;
}

/**
 * An HTTP server standing in for a SageMaker endpoint that misbehaves on purpose (slow, garbage,
 * wrong shape): the faults moto cannot produce. Answers every request with `answer(body)`.
 */
export async function startFakeEndpoint(
  answer: (body: string, request: IncomingMessage) => FakeAnswer | Promise<FakeAnswer>,
): Promise<FakeEndpoint> {
  const requests: FakeEndpoint["requests"] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ path: request.url ?? "/", body, headers: request.headers });
      void Promise.resolve(answer(body, request)).then((reply) => {
        const send = () => {
          if (response.destroyed) return;
          response.writeHead(reply.status, {
            "content-type": "application/json",
            ...reply.headers,
          });
          response.end(reply.body);
        };
        if (reply.delayMs) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            send();
          }, reply.delayMs);
          timers.add(timer);
        } else send();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A DeepAR response with `count` predictions of `length` steps (deciles 0.1…0.9 and more). */
export function deepArResponse(count: number, length: number, levels: readonly number[]): string {
  const prediction = {
    mean: new Array(length).fill(5),
    quantiles: Object.fromEntries(levels.map((q) => [String(q), new Array(length).fill(10 * q)])),
  };
  return JSON.stringify({ predictions: new Array(count).fill(prediction) });
}
