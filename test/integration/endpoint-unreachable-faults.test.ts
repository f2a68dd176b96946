import { connect, createServer, type Server, type Socket } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { parseConfig } from "../../layers/domain/config.js";
import type { CollectShardResult } from "../../layers/use-cases/collect-usage.js";
import { testConfigInput } from "../fixtures/config.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import { createTables, deleteTables, tableEnv } from "../helpers/tables.js";

/**
 * The AWS endpoint going away mid-run: the handlers reach moto through a TCP proxy this test
 * stops and starts again on the same port. While it is down each stage fails cleanly — a
 * retryable DependencyError for the pipeline's retries, a 503 with retry-after from the API —
 * writing nothing; when it is back the same invocation succeeds, and a fresh process (the
 * handler module loaded anew, as after a restart) finds every decision made before.
 */

const direct = createAwsClients();
const NOW = Math.floor(Date.now() / 1000);
const config = parseConfig({ ...testConfigInput(), shardCount: 1 }, "endpoint faults test");
let tables: TableNames;
const savedEnv = { ...process.env };

/** A TCP proxy to moto that can be taken down and brought back on the same port. */
class SwitchableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Refuses new connections and cuts the open ones (keep-alive sockets included). */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let proxy: SwitchableProxy;

beforeAll(async () => {
  tables = await createTables(direct.dynamodb());
  const documentClient = direct.documentClient();
  await new DynamoDbConfigSource(documentClient, tables.registry, systemClock).save(config, NOW);
  await new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount).putUsers(
    config.users,
  );
  await new DynamoDbAdmissionStore(documentClient, tables.admission, {
    shardCount: config.shardCount,
  }).putLedger(
    {
      pool: "cpu",
      version: 0,
      capacity: [{ start: 0, capacity: { vcpu: 64, memoryGiB: 256 } }],
      leases: [],
      updatedAt: NOW,
    },
    0,
  );
  proxy = new SwitchableProxy(new URL(String(process.env.AWS_ENDPOINT_URL)));
  await proxy.up();
  // Every client the handlers build goes through the proxy (SageMaker Runtime is not used here).
  Object.assign(process.env, tableEnv(tables), { AWS_ENDPOINT_URL: proxy.url });
});

afterAll(async () => {
  await proxy.down();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await deleteTables(direct.dynamodb(), tables);
});

/** The handler module loaded afresh, as a new Lambda container (or a restarted process) would. */
async function freshAdmissionHandler() {
  vi.resetModules();
  return (await import("../../functions/shape/admission.js")).handler;
}

function post(body: unknown): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /v1/requests",
    rawPath: "/v1/requests",
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: `api-${Math.random()}`, http: { method: "POST" } },
  } as unknown as APIGatewayProxyEventV2;
}

function get(id: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "GET /v1/requests/{id}",
    rawPath: `/v1/requests/${id}`,
    rawQueryString: "",
    headers: {},
    pathParameters: { id },
    isBase64Encoded: false,
    requestContext: { requestId: `api-${Math.random()}`, http: { method: "GET" } },
  } as unknown as APIGatewayProxyEventV2;
}

const request = (requestId: string) => ({
  requestId,
  userId: "globex",
  pool: "cpu",
  amounts: { vcpu: 2, memoryGiB: 4 },
  durationSeconds: 600,
});

function parse(result: APIGatewayProxyStructuredResultV2) {
  return { status: result.statusCode, body: JSON.parse(String(result.body)) };
}

describe("the AWS endpoint unreachable mid-run (faults)", () => {
  it("admission answers 503 with retry-after while DynamoDB is unreachable, then decides, and a restart loses no decision", async () => {
    const handler = await freshAdmissionHandler();
    const before = parse(await handler(post(request("before-outage")), lambdaContext()));
    expect(before.status).toBe(200);

    await proxy.down();
    const during = await handler(post(request("during-outage")), lambdaContext());
    expect(during.statusCode).toBe(503);
    expect(during.headers?.["retry-after"]).toBeDefined();
    expect(parse(during).body.error.code).toBe("DEPENDENCY");
    // Nothing was recorded for the request that could not be decided.
    const store = new DynamoDbAdmissionStore(direct.documentClient(), tables.admission, {
      shardCount: 1,
    });
    expect(await store.getDecision("during-outage")).toBeUndefined();

    await proxy.up();
    const retried = parse(await handler(post(request("during-outage")), lambdaContext()));
    expect(retried.status).toBe(200);

    const restarted = await freshAdmissionHandler();
    for (const [id, answer] of [
      ["before-outage", before],
      ["during-outage", retried],
    ] as const) {
      const read = parse(await restarted(get(id), lambdaContext()));
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ requestId: id, outcome: answer.body.outcome });
    }
    const ledger = await store.getLedger("cpu");
    expect(ledger.leases.map((l) => l.requestId).sort()).toEqual([
      "before-outage",
      "during-outage",
    ]);
  });

  it("collect fails retryably while the endpoint is unreachable and resumes with the same records when it returns", async () => {
    vi.resetModules();
    const { handler } = await import("../../functions/collect/shard.js");
    const event = { time: new Date(NOW * 1000).toISOString(), shard: 0 };
    const first = (await handler(event, lambdaContext())) as CollectShardResult;
    expect(first.records).toBeGreaterThan(0);

    await proxy.down();
    const error = await Promise.resolve(handler(event, lambdaContext())).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The handler module was loaded afresh, so its error classes are not this file's: compare
    // what Step Functions sees (the name it retries on) and the flag.
    expect(error).toMatchObject({ name: "DependencyError", code: "DEPENDENCY", retryable: true });
    expect((error as Error).message).toMatch(/ECONNREFUSED|transient/);

    await proxy.up();
    const again = (await handler(event, lambdaContext())) as CollectShardResult;
    expect(again.window).toEqual(first.window);
    expect(again.records).toBe(first.records);
    // No CloudWatch data for these users: every interval is missing, never zero.
    expect(again.missingRecords).toBe(again.records);
  });
});
