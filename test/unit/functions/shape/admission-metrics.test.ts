import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { admissionRoutes } from "../../../../functions/shape/admission.js";
import { ManualClock } from "../../../../layers/adapters/clock.js";
import { InMemoryAdmissionStore } from "../../../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../../../layers/adapters/local/static-config-source.js";
import { httpHandler } from "../../../../layers/lambda/http-handler.js";
import { testConfig } from "../../../fixtures/config.js";
import { lambdaContext } from "../../../helpers/lambda-context.js";

/**
 * The admission handler's per-decision metric: one EMF line per decision, `Decisions` with the
 * dimension set (service, outcome, tier) of that decision and no other — also when decisions of
 * different outcomes and tiers follow each other (the emitter is made once and reused).
 */

const NOW = 1_795_000_200;
const config = testConfig();

function post(body: Record<string, unknown>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /v1/requests",
    rawPath: "/v1/requests",
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    isBase64Encoded: false,
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
        userAgent: "test",
      },
      requestId: "api-request",
      routeKey: "POST /v1/requests",
      stage: "$default",
      time: "27/Nov/2026:20:00:00 +0000",
      timeEpoch: NOW * 1000,
    },
  } as APIGatewayProxyEventV2;
}

describe("admission metrics", () => {
  it("emits one Decisions line per decision, each with its own outcome and tier only", async () => {
    const admissions = new InMemoryAdmissionStore();
    await admissions.putLedger(
      {
        pool: "cpu",
        version: 0,
        capacity: [{ start: NOW - 60, capacity: { vcpu: 64, memoryGiB: 256 } }],
        leases: [],
        updatedAt: NOW,
      },
      0,
    );
    const handler = httpHandler({
      maxBodyBytes: 4_096,
      routes: admissionRoutes(async () => ({
        config: new StaticConfigSource(config),
        users: new InMemoryUserRegistry(config.users),
        admissions,
        forecasts: new InMemoryForecastStore(),
        policies: new InMemoryPolicyStore(),
        clock: new ManualClock(NOW),
      })),
    });
    const lines: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const statuses: (number | undefined)[] = [];
    try {
      // A premium user's ask that fits; a free user's ask above its 16 vcpu cap, no alternatives.
      for (const body of [
        {
          requestId: "m-1",
          userId: "acme",
          pool: "cpu",
          amounts: { vcpu: 4 },
          durationSeconds: 60,
        },
        {
          requestId: "m-2",
          userId: "hooli",
          pool: "cpu",
          amounts: { vcpu: 20 },
          durationSeconds: 60,
          acceptAlternatives: false,
        },
        {
          requestId: "m-3",
          userId: "acme",
          pool: "cpu",
          amounts: { vcpu: 2 },
          durationSeconds: 60,
        },
      ]) {
        statuses.push((await handler(post(body), lambdaContext())).statusCode);
      }
    } finally {
      stdout.mockRestore();
    }
    expect(statuses).toEqual([200, 200, 200]);
    const decisions = lines
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"Decisions"'))
      .map((line) => JSON.parse(line));
    expect(decisions.map((m) => [m.outcome, m.tier, m.Decisions])).toEqual([
      ["grant", "premium", 1],
      ["reject", "free", 1],
      ["grant", "premium", 1],
    ]);
    for (const m of decisions) {
      expect(m._aws.CloudWatchMetrics).toEqual([
        {
          Namespace: "Shaper",
          Dimensions: [["service", "outcome", "tier"]],
          Metrics: [{ Name: "Decisions", Unit: "Count" }],
        },
      ]);
    }
  });
});
