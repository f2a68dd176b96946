import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import { admissionRoutes } from "../../../functions/shape/admission.js";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../../layers/adapters/local/static-config-source.js";
import { capacityAt } from "../../../layers/domain/admission/ledger.js";
import type { PoolLedger } from "../../../layers/domain/admission.js";
import { httpHandler } from "../../../layers/lambda/http-handler.js";
import type { AdmitRequestDeps } from "../../../layers/use-cases/admit-request.js";
import { testConfig } from "../../fixtures/config.js";
import { lambdaContext } from "../../helpers/lambda-context.js";

/**
 * Hostile bodies through the admission API's real HTTP handler (the kit's body limit, JSON
 * parsing and error mapping, the routes, the use case, in-memory stores): whatever arrives, the
 * answer is a 200 with a well-formed decision or a 4xx whose message names the field — never a
 * 5xx, never a throw, never a decision recorded for a refused body.
 */

const config = testConfig();
const MAX_BODY_BYTES = 4_096;
const NOW = 1_795_000_200;

/** Handler, stores and clock over one pool layout; a fresh world per generated case. */
function world(options: {
  readonly cpuVcpu: number;
  readonly capacityStartOffsetSeconds: number;
  readonly clockSkewSeconds: number;
}) {
  const admissions = new InMemoryAdmissionStore();
  const ledger: PoolLedger = {
    pool: "cpu",
    version: 0,
    capacity: [
      {
        start: NOW + options.capacityStartOffsetSeconds,
        capacity: { vcpu: options.cpuVcpu, memoryGiB: options.cpuVcpu * 4 },
      },
    ],
    leases: [],
    updatedAt: NOW,
  };
  // The gpu pool's ledger is never written: an empty pool (no planned capacity at all).
  void admissions.putLedger(ledger, 0);
  const clock = new ManualClock(NOW + options.clockSkewSeconds);
  const deps: AdmitRequestDeps = {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(config.users),
    admissions,
    // No forecasts: every user is a user without history.
    forecasts: new InMemoryForecastStore(),
    policies: new InMemoryPolicyStore(),
    clock,
    sleep: async () => undefined,
    random: () => 0.5,
  };
  const handler = httpHandler({
    maxBodyBytes: MAX_BODY_BYTES,
    routes: admissionRoutes(async () => deps),
  });
  return { handler, admissions };
}

function event(
  rawBody: string | undefined,
  options: { base64?: boolean; claims?: Record<string, unknown> } = {},
): APIGatewayProxyEventV2 {
  const body =
    rawBody === undefined || !options.base64
      ? rawBody
      : Buffer.from(rawBody, "utf8").toString("base64");
  return {
    version: "2.0",
    routeKey: "POST /v1/requests",
    rawPath: "/v1/requests",
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      accountId: "123456789012",
      apiId: "test",
      domainName: "test",
      domainPrefix: "test",
      http: {
        method: "POST",
        path: "/v1/requests",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "fast-check",
      },
      requestId: "api-request",
      routeKey: "POST /v1/requests",
      stage: "$default",
      time: "27/Nov/2026:20:00:00 +0000",
      timeEpoch: NOW * 1000,
      ...(options.claims ? { authorizer: { jwt: { claims: options.claims, scopes: null } } } : {}),
    },
  } as APIGatewayProxyEventV2;
}

/** Lower-cased with spaces, quotes and dots dropped, so "Request id" names `requestId`. */
function squash(text: string): string {
  return text.toLowerCase().replace(/[\s"'.]/g, "");
}

const FIELD_OF_CODE: Readonly<Record<string, readonly string[]>> = {
  NOT_FOUND: ["pool", "userId"],
  FORBIDDEN: ["userId", "pool"],
  CONFLICT: ["requestId"],
  PAYLOAD_TOO_LARGE: ["body"],
};

interface Answer {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
}

/** Checks the answer's shape; returns it parsed for the caller's own checks. */
function checkAnswer(result: APIGatewayProxyStructuredResultV2): Answer {
  const statusCode = result.statusCode ?? 0;
  expect([200, 400, 403, 404, 409, 413]).toContain(statusCode);
  const body = JSON.parse(String(result.body)) as Record<string, unknown>;
  if (statusCode === 200) {
    const decision = body as {
      outcome: string;
      startAt?: unknown;
      endAt?: unknown;
      retryAfterSeconds?: unknown;
      etaSeconds?: unknown;
      decidedAt: unknown;
    };
    expect(["grant", "delay", "offer", "reject"]).toContain(decision.outcome);
    expect(Number.isFinite(decision.decidedAt)).toBe(true);
    if (decision.outcome === "grant" || decision.outcome === "delay") {
      expect(Number.isFinite(decision.startAt)).toBe(true);
      expect(Number.isFinite(decision.endAt)).toBe(true);
      expect(decision.endAt as number).toBeGreaterThan(decision.startAt as number);
    }
    if (decision.outcome === "reject") {
      expect(decision.retryAfterSeconds as number).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(decision.retryAfterSeconds)).toBe(true);
    }
    if (decision.outcome === "offer") expect(Number.isFinite(decision.etaSeconds)).toBe(true);
    return { statusCode, body };
  }
  const error = body.error as {
    code: string;
    message: string;
    issues?: { field: string; message: string }[];
  };
  expect(error.message.length).toBeGreaterThan(0);
  if (statusCode === 400) {
    expect(error.code).toBe("VALIDATION");
    expect(error.issues?.length ?? 0).toBeGreaterThan(0);
    for (const issue of error.issues ?? []) {
      expect(issue.field.length).toBeGreaterThan(0);
      // The message names every field (the body itself for JSON that does not parse).
      const name = issue.field === "(body)" ? "body" : issue.field;
      expect(squash(error.message)).toContain(squash(name));
    }
  } else {
    const names = FIELD_OF_CODE[error.code] ?? [];
    expect(names.some((name) => squash(error.message).includes(squash(name)))).toBe(true);
  }
  return { statusCode, body };
}

// Values a hostile client puts where a number, id or object belongs. JSON cannot carry NaN or
// Infinity, but a literal like 1e999 parses to Infinity, and -0 parses to -0: both come as raw text.
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1e308, -1e308, 2 ** 53 + 1, 1e12, 1e12 + 1, 0.5, 1e-320),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.constantFrom("", " ", "x".repeat(200), "a#b", "../../etc", "NaN", "Infinity", "🚀", "\u0000"),
  fc.constantFrom(null, true, false, [], {}),
  fc.string(),
  fc.jsonValue({ maxDepth: 2 }),
);
const RAW_NUMBERS = ["1e999", "-1e999", "NaN", "Infinity", "-0", "0x10", "1e-999", "01"];

const ids = fc.constantFrom("acme", "globex", "initech", "hooli", "nobody", "");
const pools = fc.constantFrom("cpu", "gpu", "tpu");
const resources = fc.constantFrom("vcpu", "memoryGiB", "gpu", "disk", "__proto__", "constructor");

/** A plausible body: every field present and well typed, values anywhere in their range and beyond. */
const plausibleBody = fc.record(
  {
    requestId: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
    userId: ids,
    pool: pools,
    amounts: fc.oneof(
      fc.record(
        { vcpu: fc.integer({ min: 0, max: 64 }), memoryGiB: fc.integer({ min: 0, max: 256 }) },
        { requiredKeys: ["vcpu"] },
      ),
      fc.dictionary(resources, hostileNumber, { maxKeys: 4 }),
    ),
    durationSeconds: fc.oneof(fc.integer({ min: 1, max: 31 * 86_400 }), hostileNumber),
    criticality: fc.constantFrom("critical", "normal", "deferrable", "urgent"),
    maxDelaySeconds: fc.oneof(fc.integer({ min: 0, max: 7 * 86_400 }), hostileNumber),
    acceptAlternatives: fc.oneof(fc.boolean(), hostileValue),
  },
  { requiredKeys: ["requestId", "userId", "pool", "amounts", "durationSeconds"] },
);

/** A plausible body with one field replaced by a hostile value, or an unknown field added. */
const mutatedBody = fc
  .tuple(
    plausibleBody,
    fc.constantFrom(
      "requestId",
      "userId",
      "pool",
      "amounts",
      "durationSeconds",
      "criticality",
      "maxDelaySeconds",
      "acceptAlternatives",
      "extra",
    ),
    hostileValue,
  )
  .map(([body, field, value]) => ({ ...body, [field]: value }));

/** A body every check accepts: a registered user, its pool, positive amounts. */
const validBody = fc.record({
  requestId: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  userId: fc.constantFrom("acme", "globex", "hooli"),
  pool: fc.constant("cpu"),
  amounts: fc.record({ vcpu: fc.integer({ min: 1, max: 64 }) }),
  durationSeconds: fc.integer({ min: 1, max: 86_400 }),
});

/**
 * A first body, and what a client sends next under the same requestId: the same body again, the
 * same request changed (another duration or amount), another plausible body, or garbage.
 */
const reusedRequestId = fc
  .oneof({ weight: 3, arbitrary: validBody }, { weight: 1, arbitrary: plausibleBody })
  .chain((first) =>
    fc.tuple(
      fc.constant(first),
      fc.oneof(
        fc.constant(first as Record<string, unknown>),
        fc.constant({ ...first, durationSeconds: 86_401 }),
        fc.constant({ ...first, amounts: { vcpu: 65 } }),
        plausibleBody,
        mutatedBody,
      ),
    ),
  );

const bodyText = fc.oneof(
  { weight: 4, arbitrary: plausibleBody.map((b) => JSON.stringify(b)) },
  { weight: 4, arbitrary: mutatedBody.map((b) => JSON.stringify(b)) },
  // A plausible body whose number is written as a literal JSON.parse turns into ±Infinity, -0…
  {
    weight: 2,
    arbitrary: fc
      .tuple(plausibleBody, fc.constantFrom(...RAW_NUMBERS), fc.boolean())
      .map(([b, raw, inAmounts]) =>
        JSON.stringify({ ...b, ...(inAmounts ? { amounts: { vcpu: 424242 } } : {}) }).replace(
          inAmounts ? "424242" : `"durationSeconds":${JSON.stringify(b.durationSeconds)}`,
          inAmounts ? raw : `"durationSeconds":${raw}`,
        ),
      ),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ minLength: MAX_BODY_BYTES + 1, maxLength: 5_000 }) },
);

const layout = fc.record({
  // Zero capacity and absurd capacity included.
  cpuVcpu: fc.oneof(fc.constantFrom(0, 1e12), fc.integer({ min: 0, max: 256 })),
  // The plan's capacity may start before or after the admission clock (skew between machines).
  capacityStartOffsetSeconds: fc.integer({ min: -86_400, max: 86_400 }),
  clockSkewSeconds: fc.integer({ min: -3_600, max: 3_600 }),
});

describe("admission API bodies (hostile input, through the HTTP handler)", () => {
  // Thousands of answers each flush EMF metric lines to stdout; keep the test output readable.
  let stdout: MockInstance | undefined;
  beforeAll(() => {
    stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  });
  afterAll(() => stdout?.mockRestore());

  it("answers every body with a decision or a 4xx naming the field, never a 5xx", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        layout,
        bodyText,
        fc.boolean(),
        fc.option(ids),
        async (shape, text, base64, tenant) => {
          const { handler, admissions } = world(shape);
          const claims = tenant === null ? undefined : { sub: tenant };
          const result = await handler(
            event(text, { base64, ...(claims ? { claims } : {}) }),
            lambdaContext(),
          );
          const { statusCode } = checkAnswer(result);
          seen.set(statusCode, (seen.get(statusCode) ?? 0) + 1);
          let requestId: unknown;
          try {
            requestId = (JSON.parse(text) as { requestId?: unknown })?.requestId;
          } catch {
            requestId = undefined;
          }
          if (typeof requestId === "string" && requestId !== "") {
            const stored = await admissions.getDecision(requestId);
            // A refused body records nothing; an answered one is recorded exactly as answered.
            if (statusCode === 200) expect(stored?.requestId).toBe(requestId);
            else expect(stored).toBeUndefined();
          }
        },
      ),
      { numRuns: 1_500 },
    );
    // The generators reach every answer: decisions and each kind of refusal.
    for (const status of [200, 400, 403, 404, 413])
      expect(seen.get(status) ?? 0).toBeGreaterThan(0);
  });

  it("answers a reused requestId with the first decision or a 409 naming requestId, never a second record", async () => {
    let conflicts = 0;
    await fc.assert(
      fc.asyncProperty(layout, reusedRequestId, async (shape, [first, second]) => {
        const { handler, admissions } = world(shape);
        const one = checkAnswer(await handler(event(JSON.stringify(first)), lambdaContext()));
        const again = { ...second, requestId: first.requestId };
        const two = checkAnswer(await handler(event(JSON.stringify(again)), lambdaContext()));
        if (one.statusCode === 200) {
          expect([200, 400, 403, 404, 409]).toContain(two.statusCode);
          if (two.statusCode === 200) expect(two.body).toEqual(one.body);
          if (two.statusCode === 409) conflicts++;
          const stored = await admissions.getDecision(first.requestId);
          expect(stored?.decidedAt).toBe(one.body.decidedAt);
          expect(stored?.decision.outcome).toBe(one.body.outcome);
        }
        const ledger = await admissions.getLedger("cpu");
        const leases = ledger.leases.filter((l) => l.requestId === first.requestId);
        expect(leases.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
    expect(conflicts).toBeGreaterThan(0);
  });

  it("never lets granted and delayed leases exceed the planned capacity at any instant", async () => {
    const request = fc.record({
      requestId: fc.stringMatching(/^[a-z0-9]{1,8}$/),
      userId: fc.constantFrom("acme", "globex", "hooli"),
      pool: fc.constant("cpu"),
      amounts: fc.record({ vcpu: fc.oneof(fc.constant(1e12), fc.integer({ min: 0, max: 64 })) }),
      durationSeconds: fc.integer({ min: 1, max: 86_400 }),
      criticality: fc.constantFrom("critical", "normal", "deferrable"),
    });
    await fc.assert(
      fc.asyncProperty(
        layout,
        fc.array(request, { minLength: 1, maxLength: 12 }),
        async (shape, requests) => {
          const { handler, admissions } = world(shape);
          for (const body of requests) {
            checkAnswer(await handler(event(JSON.stringify(body)), lambdaContext()));
          }
          const ledger = await admissions.getLedger("cpu");
          const leases = ledger.leases.filter((l) => l.kind === "request");
          for (const at of leases.map((l) => l.startAt)) {
            const held = leases
              .filter((l) => l.startAt <= at && at < l.endAt)
              .reduce((sum, l) => sum + (l.amounts.vcpu ?? 0), 0);
            expect(held).toBeLessThanOrEqual((capacityAt(ledger, at).vcpu ?? 0) + 1e-9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
