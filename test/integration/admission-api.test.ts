import { readFileSync } from "node:fs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import { keys, type TableNames } from "../../layers/adapters/dynamodb/tables.js";
import type { Lease, PoolLedger } from "../../layers/domain/admission.js";
import { parseConfig } from "../../layers/domain/config.js";
import { testConfigInput } from "../fixtures/config.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import { createTables, deleteTables, tableEnv } from "../helpers/tables.js";

// The admission handler in-process, with API Gateway HTTP API (payload v2) events, against moto
// tables; every response is checked against docs/openapi.yaml with ajv.

const aws = createAwsClients();
let tables: TableNames;
let handler: typeof import("../../functions/shape/admission.js")["handler"];
let store: DynamoDbAdmissionStore;
const NOW = Math.floor(Date.now() / 1000);

// One pool per scenario, so scenarios do not share capacity (same ECS shape as the fixture's cpu pool).
const scenarioPool = {
  perTask: { vcpu: 4, memoryGiB: 16 },
  minTasks: 0,
  maxTasks: 8,
  ecs: { cluster: "shaper-test", service: "scenario" },
};
const input = testConfigInput();
const config = parseConfig(
  {
    ...input,
    pools: {
      ...input.pools,
      "p-delay": scenarioPool,
      "p-offer": scenarioPool,
      "p-reject": scenarioPool,
    },
  },
  "admission-api test",
);

function ledger(pool: string, vcpu: number, leases: Lease[] = []): PoolLedger {
  return {
    pool,
    version: 1,
    capacity: [{ start: 0, capacity: { vcpu, memoryGiB: vcpu * 4, gpu: pool === "gpu" ? 2 : 0 } }],
    leases,
    updatedAt: NOW,
  };
}

function running(userId: string, vcpu: number, endAt: number): Lease {
  return {
    leaseId: `request:seed-${userId}-${endAt}`,
    userId,
    kind: "request",
    amounts: { vcpu },
    startAt: NOW - 60,
    endAt,
    requestId: `seed-${userId}-${endAt}`,
  };
}

beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
  Object.assign(process.env, tableEnv(tables));
  const documentClient = aws.documentClient();
  await new DynamoDbConfigSource(documentClient, tables.registry, systemClock).save(config, NOW);
  await new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount).putUsers(
    config.users,
  );
  store = new DynamoDbAdmissionStore(documentClient, tables.admission, {
    shardCount: config.shardCount,
  });
  await store.putLedger(ledger("cpu", 64), 0);
  await store.putLedger(ledger("p-delay", 8, [running("hooli", 8, NOW + 120)]), 0);
  await store.putLedger(ledger("p-offer", 8, [running("hooli", 6, NOW + 3_600)]), 0);
  await store.putLedger(ledger("p-reject", 8, [running("hooli", 8, NOW + 900)]), 0);
  ({ handler } = await import("../../functions/shape/admission.js"));
});

afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

// --- the OpenAPI document, compiled once -------------------------------------------------

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        responses: Record<
          string,
          { $ref?: string; content?: Record<string, { schema: { $ref: string } }> }
        >;
      }
    >
  >;
  components: {
    responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }>;
  };
}

const doc = parse(
  readFileSync(new URL("../../docs/openapi.yaml", import.meta.url), "utf8"),
) as OpenApiDoc;
// strict: false because the schemas sit inside an OpenAPI document (its `components` key is not
// a JSON Schema keyword); discriminator: true checks the OpenAPI discriminator as well.
const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
addFormats.default(ajv);
ajv.addSchema({ ...doc, $id: "openapi.json" });

function schemaRef(path: string, method: string, status: number): string {
  const operation = doc.paths[path]?.[method];
  const response = operation?.responses[String(status)];
  if (!response)
    throw new Error(`openapi.yaml documents no ${status} for ${method.toUpperCase()} ${path}`);
  const resolved = response.$ref
    ? doc.components.responses[response.$ref.split("/").at(-1) ?? ""]
    : response;
  const ref = resolved?.content?.["application/json"]?.schema.$ref;
  if (!ref) throw new Error(`no JSON schema for ${status} of ${method} ${path}`);
  return ref;
}

function expectConforms(path: string, method: string, response: APIGatewayProxyStructuredResultV2) {
  const ref = schemaRef(path, method, response.statusCode ?? 0);
  const validate = ajv.getSchema(`openapi.json${ref}`);
  if (!validate) throw new Error(`schema ${ref} not found`);
  const body = JSON.parse(String(response.body));
  const ok = validate(body);
  expect(
    ok ? [] : validate.errors,
    `${method.toUpperCase()} ${path} ${response.statusCode} body ${response.body}`,
  ).toEqual([]);
  return body;
}

function expectValidRequestBody(body: unknown): void {
  const validate = ajv.getSchema("openapi.json#/components/schemas/AdmissionRequest");
  expect(validate?.(body), JSON.stringify(validate?.errors)).toBe(true);
}

// --- events -----------------------------------------------------------------------------

let eventCount = 0;

function event(
  routeKey: string,
  rawPath: string,
  options: {
    body?: string;
    pathParameters?: Record<string, string>;
    claims?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  eventCount++;
  const [method] = routeKey.split(" ");
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    isBase64Encoded: false,
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.com",
      domainPrefix: "api",
      http: {
        method: method ?? "GET",
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "vitest",
      },
      requestId: `apigw-${eventCount}`,
      routeKey,
      stage: "$default",
      time: "27/Nov/2026:12:00:00 +0000",
      timeEpoch: NOW * 1000,
      ...(options.claims ? { authorizer: { jwt: { claims: options.claims, scopes: [] } } } : {}),
    },
  } as APIGatewayProxyEventV2;
}

async function post(body: unknown, claims?: Record<string, string>) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const response = (await handler(
    event("POST /v1/requests", "/v1/requests", { body: raw, ...(claims ? { claims } : {}) }),
    lambdaContext("shaper-admission"),
  )) as APIGatewayProxyStructuredResultV2;
  return { response, body: expectConforms("/v1/requests", "post", response) };
}

async function get(id: string) {
  const response = (await handler(
    event("GET /v1/requests/{id}", `/v1/requests/${id}`, { pathParameters: { id } }),
    lambdaContext("shaper-admission"),
  )) as APIGatewayProxyStructuredResultV2;
  return { response, body: expectConforms("/v1/requests/{id}", "get", response) };
}

async function decisionItemExists(requestId: string): Promise<boolean> {
  const item = await aws
    .documentClient()
    .send(new GetCommand({ TableName: tables.admission, Key: keys.decision(requestId) }));
  return item.Item !== undefined;
}

function request(partial: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    requestId: `api-${Math.random().toString(36).slice(2, 10)}`,
    userId: "globex",
    pool: "cpu",
    amounts: { vcpu: 4, memoryGiB: 16 },
    durationSeconds: 600,
    ...partial,
  };
}

// --- tests ------------------------------------------------------------------------------

describe("POST /v1/requests", () => {
  it("grants what fits, answers the same body on a retry, and records the decision once", async () => {
    const body = request();
    expectValidRequestBody(body);
    const first = await post(body);
    expect(first.response.statusCode).toBe(200);
    expect(first.body).toMatchObject({
      requestId: body.requestId,
      userId: "globex",
      pool: "cpu",
      outcome: "grant",
    });
    expect(first.body.endAt - first.body.startAt).toBe(600);
    const again = await post(body);
    expect(again.response.statusCode).toBe(200);
    expect(again.body).toEqual(first.body);
    const leases = (await store.getLedger("cpu")).leases.filter(
      (l) => l.requestId === body.requestId,
    );
    expect(leases).toHaveLength(1);
  });

  it("delays when the pool frees up within maxDelaySeconds, and GET shows the queue position", async () => {
    const body = request({ pool: "p-delay", maxDelaySeconds: 600 });
    expectValidRequestBody(body);
    const { response, body: decision } = await post(body);
    expect(response.statusCode).toBe(200);
    expect(decision).toMatchObject({ outcome: "delay", startAt: NOW + 120 });
    const status = await get(String(body.requestId));
    expect(status.response.statusCode).toBe(200);
    expect(status.body).toMatchObject({
      outcome: "delay",
      queuePosition: 1,
      estimatedStartAt: NOW + 120,
    });
  });

  it("offers a smaller amount now when the user accepts alternatives", async () => {
    const body = request({ pool: "p-offer", maxDelaySeconds: 0, acceptAlternatives: true });
    const { body: decision } = await post(body);
    expect(decision).toMatchObject({
      outcome: "offer",
      etaSeconds: 0,
      alternative: { kind: "smaller", pool: "p-offer", amounts: { vcpu: 2, memoryGiB: 8 } },
    });
    expect((await store.getLedger("p-offer")).leases).toHaveLength(1);
  });

  it("rejects with a reason and retryAfterSeconds from the ledger", async () => {
    const body = request({ pool: "p-reject", userId: "acme", criticality: "critical" });
    const { body: decision } = await post(body);
    expect(decision.outcome).toBe("reject");
    expect(decision.reason).toMatch(/p-reject lacks room/);
    expect(decision.retryAfterSeconds).toBeGreaterThan(800);
    expect(decision.retryAfterSeconds).toBeLessThanOrEqual(900);
  });

  it("answers 400 naming the field, and writes nothing", async () => {
    const body = request({ amounts: { vcpu: -2 }, durationSeconds: 0 });
    const { response, body: error } = await post(body);
    expect(response.statusCode).toBe(400);
    expect(error.error.code).toBe("VALIDATION");
    expect(error.error.issues.map((i: { field: string }) => i.field)).toEqual(
      expect.arrayContaining(["amounts.vcpu", "durationSeconds"]),
    );
    expect(await decisionItemExists(String(body.requestId))).toBe(false);
    const notJson = await post("{not json");
    expect(notJson.response.statusCode).toBe(400);
    expect(notJson.body.error.issues[0].field).toBe("(body)");
  });

  it("answers 400 for a resource the pool does not offer", async () => {
    const body = request({ amounts: { vcpu: 1, gpu: 1 } });
    const { response, body: error } = await post(body);
    expect(response.statusCode).toBe(400);
    expect(error.error.issues).toEqual([
      { field: "amounts.gpu", message: expect.stringMatching(/does not offer gpu/) },
    ]);
    expect(await decisionItemExists(String(body.requestId))).toBe(false);
  });

  it("answers 404 for an unknown user or pool, and writes nothing", async () => {
    const unknownUser = request({ userId: "nobody" });
    const user = await post(unknownUser);
    expect(user.response.statusCode).toBe(404);
    expect(user.body.error.message).toMatch(/User "nobody" is not registered/);
    const unknownPool = request({ pool: "tpu" });
    const pool = await post(unknownPool);
    expect(pool.response.statusCode).toBe(404);
    expect(pool.body.error.message).toMatch(/Pool "tpu"/);
    expect(await decisionItemExists(String(unknownUser.requestId))).toBe(false);
    expect(await decisionItemExists(String(unknownPool.requestId))).toBe(false);
  });

  it("answers 409 when a requestId is reused with a different body", async () => {
    const body = request();
    await post(body);
    const { response, body: error } = await post({ ...body, durationSeconds: 1_200 });
    expect(response.statusCode).toBe(409);
    expect(error.error).toMatchObject({ code: "CONFLICT" });
    expect(error.error.message).toMatch(/already used for a different request/);
  });

  it("answers 413 for a body over the limit before reading it", async () => {
    const body = request({ padding: "x".repeat(70_000) });
    const { response, body: error } = await post(body);
    expect(response.statusCode).toBe(413);
    expect(error.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await decisionItemExists(String(body.requestId))).toBe(false);
  });

  it("answers 403 when the caller's token names another tenant", async () => {
    const body = request();
    const { response, body: error } = await post(body, { sub: "acme" });
    expect(response.statusCode).toBe(403);
    expect(error.error.code).toBe("FORBIDDEN");
    expect(await decisionItemExists(String(body.requestId))).toBe(false);
    const own = await post(body, { sub: "someone", tenant: "globex" });
    expect(own.response.statusCode).toBe(200);
  });
});

describe("metrics", () => {
  it("emits Decisions by outcome and tier, and ConflictRetries, as CloudWatch EMF", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await post(request({ userId: "acme" }));
    } finally {
      spy.mockRestore();
    }
    const emf = lines
      .flatMap((l) => l.split("\n"))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    const decisions = emf.find((m) => m.Decisions !== undefined);
    expect(decisions).toMatchObject({ Decisions: 1, outcome: "grant", tier: "premium" });
    expect(decisions._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(
      expect.arrayContaining(["outcome", "tier"]),
    );
    expect(emf.find((m) => m.ConflictRetries !== undefined)?.ConflictRetries).toBe(0);
  });
});

describe("GET /v1/requests/{id}", () => {
  it("returns a recorded grant without queue fields", async () => {
    const body = request();
    const posted = await post(body);
    const { response, body: status } = await get(String(body.requestId));
    expect(response.statusCode).toBe(200);
    expect(status).toEqual(posted.body);
  });

  it("answers 404 for an unknown id and 400 for an id that cannot exist", async () => {
    const unknown = await get("never-sent");
    expect(unknown.response.statusCode).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
    const bad = await get("has space");
    expect(bad.response.statusCode).toBe(400);
    expect(bad.body.error.issues[0].field).toBe("id");
  });
});
