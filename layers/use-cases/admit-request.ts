import { type AlternativePoolLedger, decideAdmission } from "../domain/admission/decide.js";
import { requestLeaseId } from "../domain/admission/ledger.js";
import {
  type AdmissionRequest,
  AdmissionRequestSchema,
  type DecisionRecord,
} from "../domain/admission.js";
import {
  type Pool,
  poolResources,
  type ShaperConfig,
  type Tier,
  toFieldIssues,
  type User,
  userPools,
} from "../domain/config.js";
import {
  ConfigError,
  ConflictError,
  DependencyError,
  type FieldIssue,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from "../domain/errors.js";
import type { Forecast } from "../domain/forecast.js";
import { type Amounts, RESOURCES } from "../domain/resources.js";
import type { AdmissionStore, CommitResult } from "../ports/admission-store.js";
import type { Clock } from "../ports/clock.js";
import type { ConfigSource } from "../ports/config-source.js";
import type { ForecastStore } from "../ports/forecast-store.js";
import type { PolicyStore } from "../ports/policy-store.js";
import type { UserRegistry } from "../ports/user-registry.js";

/** Attempts of the read–decide–commit loop before giving up with a retryable error. */
export const DEFAULT_MAX_COMMIT_ATTEMPTS = 12;
/**
 * Backoff between attempts, in milliseconds: full jitter over
 * min(max, max(base, last attempt's duration) × 2^(attempt − 1)). Scaling by the attempt's own
 * duration matters because a conflict window is as long as a read-decide-commit round trip: when
 * the store answers slowly (overload, a serialized emulator), fixed small backoffs keep every
 * contender inside everyone else's window and the retries livelock.
 */
export const DEFAULT_BACKOFF_BASE_MS = 10;
export const DEFAULT_BACKOFF_MAX_MS = 8_000;
/**
 * Time the read–decide–commit loop may take, in milliseconds, before it answers "retry later"
 * (HTTP 503): inside the admission function's 10 s timeout, with room for the reads before it.
 */
export const DEFAULT_RETRY_BUDGET_MS = 6_000;

/** What admitting a request needs. */
export interface AdmitRequestDeps {
  readonly config: ConfigSource;
  readonly users: UserRegistry;
  readonly admissions: AdmissionStore;
  readonly forecasts: ForecastStore;
  readonly policies: PolicyStore;
  readonly clock: Clock;
  /** @default DEFAULT_MAX_COMMIT_ATTEMPTS */
  readonly maxAttempts?: number;
  /** @default DEFAULT_RETRY_BUDGET_MS */
  readonly retryBudgetMs?: number;
  /** @default DEFAULT_BACKOFF_BASE_MS */
  readonly backoffBaseMs?: number;
  /** @default DEFAULT_BACKOFF_MAX_MS */
  readonly backoffMaxMs?: number;
  /** Waits between attempts; inject a fake in tests. @default a timer */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Uniform in [0, 1) for the jitter; inject a seeded one in tests. @default Math.random */
  readonly random?: () => number;
  /**
   * Told about every attempt that is followed by another: `conflict` when another writer changed
   * the ledger (the ConflictRetries metric), `transient` when a read or write failed retryably.
   */
  readonly onRetry?: (event: {
    readonly pool: string;
    readonly attempt: number;
    readonly reason: "conflict" | "transient";
  }) => void;
}

/** Who is calling, when the API verified a token: the tenant it may act for. */
export interface Caller {
  readonly userId: string;
}

/**
 * Decides a capacity request and records the decision with the capacity it takes, atomically.
 *
 * Checks, in order (nothing is written when one fails): the body against the API schema
 * (ValidationError naming each field), the caller may act for the user (ForbiddenError), the
 * pool is configured (NotFoundError), the pool offers every resource asked (ValidationError
 * naming `amounts.<resource>`), an earlier decision for the same requestId (returned as is; a
 * different body under the same id is a ConflictError), the user is registered (NotFoundError)
 * and draws from the pool (ForbiddenError).
 *
 * Then it reads the user's latest forecast (none = cold start: decided without a fair-share
 * footprint, and the explanation says so), the policies in force (else the config's tier
 * values) and, optimistically, the pool's ledger (and the ledgers of its alternatives), decides
 * with `decideAdmission`, and commits ledger and decision in one conditional write (a decision
 * that takes no capacity — an offer or a rejection — is recorded alone: it only read the ledger,
 * so it needs no version check and does not contend for the ledger). When another writer
 * changed the ledger in between, it reads again and decides again, with jittered
 * exponential backoff, up to `maxAttempts` times within `retryBudgetMs`; a throttled or timed-out
 * read or write is retried the same way.
 *
 * @param deps ports, clock, retry settings
 * @param body the JSON body of `POST /v1/requests`, unvalidated
 * @param caller the tenant a verified token names, when there is one
 * @returns the stored decision record (the same record on every retry of the same request)
 * @throws ValidationError (400), ForbiddenError (403), NotFoundError (404), ConflictError (409),
 *   DependencyError (retryable, HTTP 503) when the ledger stayed contended or the store kept
 *   failing through every attempt
 * @example
 * const record = await admitRequest(deps, {
 *   requestId: "r-1", userId: "acme", pool: "cpu", amounts: { vcpu: 8 }, durationSeconds: 600,
 * });
 * if (record.decision.outcome === "delay") console.log(`starts at ${record.decision.startAt}`);
 */
export async function admitRequest(
  deps: AdmitRequestDeps,
  body: unknown,
  caller?: Caller,
): Promise<DecisionRecord> {
  const config = await deps.config.load();
  const input = parseRequestBody(body);
  if (caller && caller.userId !== input.userId) {
    throw new ForbiddenError(
      `The caller acts for user "${caller.userId}" but the request is for user "${input.userId}". Send requests for your own user id.`,
      { details: { field: "userId" } },
    );
  }
  const pool = requirePool(config, input.pool);
  checkResources(input.pool, pool, input.amounts);
  const request = resolveDefaults(input, config);

  const earlier = await deps.admissions.getDecision(request.requestId);
  if (earlier) return sameOrConflict(earlier, request);

  const user = await deps.users.getUser(request.userId);
  if (!user) {
    throw new NotFoundError(
      `User "${request.userId}" is not registered. Register the user (shaper users import) or send the userId of a registered user.`,
      { details: { field: "userId" } },
    );
  }
  checkUserPool(user, request.pool, config);
  const tier = config.tiers[user.tier];
  if (!tier) {
    throw new ConfigError(
      `User "${user.userId}" has tier "${user.tier}", which the config does not define (tiers: ${Object.keys(config.tiers).join(", ")}). Fix the user or the config.`,
    );
  }
  const [forecast, policies] = await Promise.all([
    deps.forecasts.getUserForecast(request.pool, request.userId),
    deps.policies.getPolicies(),
  ]);
  const forecastQuantile = policies?.tiers[user.tier]?.forecastQuantile ?? tier.forecastQuantile;
  const alternativePools = pool.alternatives.filter((name) => {
    const alt = config.pools[name];
    return (
      alt !== undefined && userPools(user, config).includes(name) && offersAll(alt, request.amounts)
    );
  });

  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_COMMIT_ATTEMPTS;
  const budgetMs = deps.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const loopStartedSeconds = deps.clock.nowSeconds();
  let lastTransient: DependencyError | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    attempts = attempt;
    const attemptStartedSeconds = deps.clock.nowSeconds();
    let outcome: { record: DecisionRecord; result: CommitResult } | undefined;
    try {
      outcome = await decideAndCommit(deps, {
        request,
        user,
        tier,
        forecast,
        forecastQuantile,
        alternativePools,
        config,
        attempt,
      });
    } catch (error) {
      // A throttled or timed-out read or write: safe to redo, because a commit that did land is
      // found on the next attempt (its requestId condition fails) and returned as a duplicate.
      if (!(error instanceof DependencyError && error.retryable)) throw error;
      lastTransient = error;
    }
    if (outcome?.result.status === "committed") return outcome.record;
    if (outcome?.result.status === "duplicate") {
      return sameOrConflict(outcome.result.existing, request);
    }
    const now = deps.clock.nowSeconds();
    const remainingMs = budgetMs - (now - loopStartedSeconds) * 1_000;
    if (attempt === maxAttempts || remainingMs <= 0) break;
    deps.onRetry?.({ pool: request.pool, attempt, reason: outcome ? "conflict" : "transient" });
    const attemptMs = (now - attemptStartedSeconds) * 1_000;
    await sleep(Math.min(remainingMs, backoffMs(deps, attempt, attemptMs, random)));
  }
  throw new DependencyError(
    "admission ledger",
    `Request ${request.requestId} could not be decided in ${attempts} attempt${attempts === 1 ? "" : "s"}: ${lastTransient ? `the last failure was: ${lastTransient.message}` : `another writer changed the ledger of pool ${request.pool} every time`}. Retry the same request (same requestId) shortly.`,
    { retryable: true, details: { pool: request.pool, attempts }, cause: lastTransient },
  );
}

/** A decision with where a delayed request stands in its pool's queue. */
export interface RequestStatus {
  readonly record: DecisionRecord;
  /** For a delayed request not yet started: 1 + delayed leases of the pool starting before it. */
  readonly queuePosition?: number;
  /** For a delayed request: when its lease starts, epoch seconds. */
  readonly estimatedStartAt?: number;
}

/**
 * The decision recorded for a request and, for a delayed request, its position among the
 * pool's pending delayed leases (ordered by start, then lease id) and its estimated start.
 *
 * @param deps the admission store and the clock
 * @param requestId the id the request was sent with
 * @param caller the tenant a verified token names; another tenant's request is not found
 * @returns the record, with queuePosition (0 once started) and estimatedStartAt for delays
 * @throws NotFoundError when no decision exists for the id
 * @example
 * const { record, queuePosition } = await getRequestStatus(deps, "r-1");
 */
export async function getRequestStatus(
  deps: Pick<AdmitRequestDeps, "admissions" | "clock">,
  requestId: string,
  caller?: Caller,
): Promise<RequestStatus> {
  const record = await deps.admissions.getDecision(requestId);
  if (!record || (caller && caller.userId !== record.request.userId)) {
    throw new NotFoundError(
      `No decision for request "${requestId}". Check the id, or send the request with POST /v1/requests.`,
      { details: { field: "id" } },
    );
  }
  if (record.decision.outcome !== "delay") return { record };
  const now = deps.clock.nowSeconds();
  const ledger = await deps.admissions.getLedger(record.request.pool);
  const leaseId = requestLeaseId(requestId);
  const lease = ledger.leases.find((l) => l.leaseId === leaseId);
  const startAt = lease?.startAt ?? record.decision.startAt;
  if (startAt <= now) return { record, queuePosition: 0, estimatedStartAt: startAt };
  const ahead = ledger.leases.filter(
    (l) =>
      l.kind === "request" &&
      l.leaseId !== leaseId &&
      l.startAt > now &&
      (l.startAt < startAt || (l.startAt === startAt && l.leaseId < leaseId)),
  ).length;
  return { record, queuePosition: ahead + 1, estimatedStartAt: startAt };
}

interface DecisionContext {
  readonly request: AdmissionRequest;
  readonly user: User;
  readonly tier: Tier;
  readonly forecast: Forecast | undefined;
  readonly forecastQuantile: number;
  readonly alternativePools: readonly string[];
  readonly config: ShaperConfig;
  readonly attempt: number;
}

/**
 * One attempt: read the ledgers, decide, write. A decision that takes capacity is committed with
 * the ledger under its version; an offer or a rejection only read the ledger, so it is recorded
 * on its own and never conflicts (serializable at the read, and it keeps the hot ledger item free
 * for the writers that need it).
 */
async function decideAndCommit(
  deps: AdmitRequestDeps,
  context: DecisionContext,
): Promise<{ record: DecisionRecord; result: CommitResult }> {
  const { request, user, config, attempt } = context;
  const now = Math.floor(deps.clock.nowSeconds());
  const [ledger, alternatives] = await Promise.all([
    deps.admissions.getLedger(request.pool),
    Promise.all(
      context.alternativePools.map(
        async (name): Promise<AlternativePoolLedger> => ({
          pool: name,
          ledger: await deps.admissions.getLedger(name),
        }),
      ),
    ),
  ]);
  const outcome = decideAdmission({
    request,
    user,
    tierName: user.tier,
    tier: context.tier,
    forecastQuantile: context.forecastQuantile,
    forecast: context.forecast,
    ledger,
    alternatives,
    nowSeconds: now,
    intervalSeconds: config.intervalSeconds,
    offerMinFraction: config.admission.offerMinFraction,
  });
  const record: DecisionRecord = {
    requestId: request.requestId,
    request,
    decision: outcome.decision,
    decidedAt: now,
    tier: user.tier,
    explanation:
      attempt > 1
        ? [
            ...outcome.explanation,
            `decided on attempt ${attempt} (earlier attempts were overtaken)`,
          ]
        : outcome.explanation,
    ...(ledger.planIssuedAt === undefined ? {} : { planIssuedAt: ledger.planIssuedAt }),
  };
  const takesCapacity =
    outcome.decision.outcome === "grant" || outcome.decision.outcome === "delay";
  const result = takesCapacity
    ? await deps.admissions.commitDecision(outcome.ledger, ledger.version, record)
    : await deps.admissions.recordDecision(record);
  return { record, result };
}

function backoffMs(
  deps: AdmitRequestDeps,
  attempt: number,
  attemptMs: number,
  random: () => number,
): number {
  const unit = Math.max(deps.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, attemptMs);
  const ceiling = Math.min(deps.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, unit * 2 ** (attempt - 1));
  return random() * ceiling;
}

function parseRequestBody(body: unknown) {
  if (body === undefined) {
    throw new ValidationError(
      "The request has no body. Send a JSON object with requestId, userId, pool, amounts and durationSeconds.",
      [{ field: "(body)", message: "is required" }],
    );
  }
  const parsed = AdmissionRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    throw new ValidationError(
      `Invalid admission request: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Fix these fields and send the request again.`,
      issues,
    );
  }
  return parsed.data;
}

function requirePool(config: ShaperConfig, name: string): Pool {
  const pool = config.pools[name];
  if (!pool) {
    throw new NotFoundError(
      `Pool "${name}" is not configured. Expected one of: ${Object.keys(config.pools).join(", ")}.`,
      { details: { field: "pool" } },
    );
  }
  return pool;
}

function checkResources(name: string, pool: Pool, amounts: Amounts): void {
  const offered = poolResources(pool);
  const issues: FieldIssue[] = RESOURCES.filter(
    (r) => (amounts[r] ?? 0) > 0 && !offered.includes(r),
  ).map((r) => ({
    field: `amounts.${r}`,
    message: `pool "${name}" does not offer ${r}; expected only ${offered.join(", ")}`,
  }));
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid admission request: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}. Remove the resource or ask a pool that offers it.`,
      issues,
    );
  }
}

function offersAll(pool: Pool, amounts: Amounts): boolean {
  const offered = poolResources(pool);
  return RESOURCES.every((r) => (amounts[r] ?? 0) <= 0 || offered.includes(r));
}

function checkUserPool(user: User, pool: string, config: ShaperConfig): void {
  const pools = userPools(user, config);
  if (!pools.includes(pool)) {
    throw new ForbiddenError(
      `User "${user.userId}" does not draw from pool "${pool}" (its pools: ${pools.join(", ")}). Ask in one of its pools, or add "${pool}" to the user's pools.`,
      { details: { field: "pool" } },
    );
  }
}

function resolveDefaults(
  input: ReturnType<typeof AdmissionRequestSchema.parse>,
  config: ShaperConfig,
): AdmissionRequest {
  return {
    requestId: input.requestId,
    userId: input.userId,
    pool: input.pool,
    amounts: input.amounts,
    durationSeconds: input.durationSeconds,
    criticality: input.criticality,
    maxDelaySeconds:
      input.maxDelaySeconds ?? config.admission.defaultMaxDelaySeconds[input.criticality],
    acceptAlternatives: input.acceptAlternatives ?? input.criticality !== "critical",
  };
}

function sameOrConflict(existing: DecisionRecord, request: AdmissionRequest): DecisionRecord {
  if (sameRequest(existing.request, request)) return existing;
  throw new ConflictError(
    `Request id "${request.requestId}" was already used for a different request (${describe(existing.request)}), decided at ${existing.decidedAt}. Use a new requestId for a new request, or resend the original body to read its decision.`,
    { details: { field: "requestId" } },
  );
}

/** Equal as requests: amounts compared per resource (a missing resource is zero). */
function sameRequest(a: AdmissionRequest, b: AdmissionRequest): boolean {
  return (
    a.requestId === b.requestId &&
    a.userId === b.userId &&
    a.pool === b.pool &&
    a.durationSeconds === b.durationSeconds &&
    a.criticality === b.criticality &&
    a.maxDelaySeconds === b.maxDelaySeconds &&
    a.acceptAlternatives === b.acceptAlternatives &&
    RESOURCES.every((r) => (a.amounts[r] ?? 0) === (b.amounts[r] ?? 0))
  );
}

function describe(r: AdmissionRequest): string {
  const amounts = RESOURCES.filter((k) => (r.amounts[k] ?? 0) > 0)
    .map((k) => `${r.amounts[k]} ${k}`)
    .join(", ");
  return `user ${r.userId}, pool ${r.pool}, ${amounts} for ${r.durationSeconds} s, ${r.criticality}`;
}

function defaultSleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
