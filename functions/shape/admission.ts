import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { DecisionRecord } from "../../layers/domain/admission.js";
import { IdSchema } from "../../layers/domain/config.js";
import { ConfigError, ValidationError } from "../../layers/domain/errors.js";
import { type HttpRequest, httpHandler, type Route } from "../../layers/lambda/http-handler.js";
import { metrics } from "../../layers/lambda/observability.js";
import {
  type AdmitRequestDeps,
  admitRequest,
  type Caller,
  getRequestStatus,
} from "../../layers/use-cases/admit-request.js";
import { admissionDeps, admissionRuntime } from "./admission-deps.js";

/**
 * The admission API (API Gateway HTTP API): `POST /v1/requests` decides a capacity request,
 * `GET /v1/requests/{id}` reads the decision back (with queue position for delays).
 * docs/openapi.yaml describes both; test/integration/admission-api.test.ts checks the two agree.
 */

/** The decision as the API shows it: no explanation (it may name other tenants' reservations). */
export function publicView(record: DecisionRecord): Record<string, unknown> {
  return {
    requestId: record.requestId,
    userId: record.request.userId,
    pool: record.request.pool,
    ...record.decision,
    decidedAt: record.decidedAt,
  };
}

/** The tenant a verified JWT names (`tenant` claim, else `sub`); undefined without a token. */
export function callerOf(request: HttpRequest): Caller | undefined {
  const claims = request.claims;
  if (!claims) return undefined;
  const tenant = claims.tenant ?? claims.sub;
  return typeof tenant === "string" && tenant !== "" ? { userId: tenant } : undefined;
}

/**
 * The single-metric emitter of `Decisions`, made once: `metrics.singleMetric()` builds a new
 * Metrics (environment reads, a Console) on every call, ~3 % of the API's CPU under load. A
 * single-metric instance publishes on `addMetric` and then clears its dimensions, so reusing it
 * emits the same EMF line per decision (dimensions outcome and tier, besides the defaults); the
 * two calls run without an await between them, so concurrent requests cannot mix dimensions.
 */
let decisionsMetric: ReturnType<typeof metrics.singleMetric> | undefined;

function decisions(): ReturnType<typeof metrics.singleMetric> {
  decisionsMetric ??= metrics.singleMetric();
  return decisionsMetric;
}

function maxBodyBytesFromEnv(value: string | undefined): number {
  if (value === undefined || value === "") return 65_536;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new ConfigError(
      `MAX_BODY_BYTES is "${value}". Expected a positive whole number of bytes (default 65536).`,
    );
  }
  return parsed;
}

/**
 * The admission routes over a deps provider: the Lambda passes DynamoDB-backed deps, the local
 * runtime in-memory ones, so both answer with the same code.
 */
export function admissionRoutes(deps: () => Promise<AdmitRequestDeps>): Record<string, Route> {
  return {
    "POST /v1/requests": async (request) => {
      const retries = { conflict: 0, transient: 0 };
      const record = await admitRequest(
        { ...(await deps()), onRetry: ({ reason }) => retries[reason]++ },
        request.body,
        callerOf(request),
      );
      metrics.addMetric("ConflictRetries", MetricUnit.Count, retries.conflict);
      metrics.addMetric("TransientRetries", MetricUnit.Count, retries.transient);
      decisions()
        .addDimensions({ outcome: record.decision.outcome, tier: record.tier })
        .addMetric("Decisions", MetricUnit.Count, 1);
      return { statusCode: 200, body: publicView(record) };
    },
    "GET /v1/requests/{id}": async (request) => {
      const id = IdSchema.safeParse(request.pathParameters.id);
      if (!id.success) {
        const message = id.error.issues[0]?.message ?? "is not a valid request id";
        throw new ValidationError(`Path parameter id ${message}.`, [{ field: "id", message }]);
      }
      const status = await getRequestStatus(await deps(), id.data, callerOf(request));
      metrics.addMetric("StatusReads", MetricUnit.Count, 1);
      return {
        statusCode: 200,
        body: {
          ...publicView(status.record),
          ...(status.queuePosition === undefined ? {} : { queuePosition: status.queuePosition }),
          ...(status.estimatedStartAt === undefined
            ? {}
            : { estimatedStartAt: status.estimatedStartAt }),
        },
      };
    },
  };
}

export const handler = httpHandler({
  maxBodyBytes: maxBodyBytesFromEnv(process.env.MAX_BODY_BYTES),
  routes: admissionRoutes(() => admissionDeps(admissionRuntime())),
});
