import { emptyLedger } from "../../domain/admission/ledger.js";
import type { DecisionRecord, PoolLedger } from "../../domain/admission.js";
import { shardOf } from "../../domain/sharding.js";
import type { RequestLogEntry } from "../../domain/usage.js";
import type { AdmissionStore, CommitResult } from "../../ports/admission-store.js";
import type { RequestLog } from "../../ports/request-log.js";
import { frozenCopy } from "./frozen-copy.js";

/**
 * Ledgers and decisions in memory (local runtime and tests), with the DynamoDB adapter's
 * semantics: `commitDecision` checks both conditions before changing anything, then writes both
 * (nothing awaits in between, so it is atomic within the process). A successful write stores
 * version = expected + 1. Also serves the request log from its decision records.
 */
export class InMemoryAdmissionStore implements AdmissionStore, RequestLog {
  private readonly ledgers = new Map<string, PoolLedger>();
  private readonly decisions = new Map<string, DecisionRecord>();
  /** The same records in `decidedAt` order, so the request log reads a time range, not them all. */
  private readonly byTime: DecisionRecord[] = [];

  /** Ledgers are kept deeply frozen and handed out as they are: no copy per read. */
  async getLedger(pool: string): Promise<PoolLedger> {
    return this.ledgers.get(pool) ?? emptyLedger(pool);
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const record = this.decisions.get(requestId);
    return record ? structuredClone(record) : undefined;
  }

  async commitDecision(
    ledger: PoolLedger,
    expectedVersion: number,
    record: DecisionRecord,
  ): Promise<CommitResult> {
    const existing = this.decisions.get(record.requestId);
    if (existing) return { status: "duplicate", existing: structuredClone(existing) };
    if (this.versionOf(ledger.pool) !== expectedVersion) return { status: "conflict" };
    this.store(ledger, expectedVersion);
    this.remember(record);
    return { status: "committed" };
  }

  async recordDecision(
    record: DecisionRecord,
  ): Promise<Exclude<CommitResult, { status: "conflict" }>> {
    const existing = this.decisions.get(record.requestId);
    if (existing) return { status: "duplicate", existing: structuredClone(existing) };
    this.remember(record);
    return { status: "committed" };
  }

  async putLedger(ledger: PoolLedger, expectedVersion: number): Promise<"committed" | "conflict"> {
    if (this.versionOf(ledger.pool) !== expectedVersion) return "conflict";
    this.store(ledger, expectedVersion);
    return "committed";
  }

  async listRequests(
    shard: number,
    shardCount: number,
    from: number,
    to: number,
  ): Promise<RequestLogEntry[]> {
    const inRange = this.byTime.slice(
      firstDecidedAtOrAfter(this.byTime, from),
      firstDecidedAtOrAfter(this.byTime, to),
    );
    return requestLogOf(inRange, shard, shardCount, from, to);
  }

  /** Every decision record held (tests and the local runtime's reports). */
  allDecisions(): DecisionRecord[] {
    return structuredClone([...this.decisions.values()]);
  }

  private remember(record: DecisionRecord): void {
    const copy = structuredClone(record);
    this.decisions.set(copy.requestId, copy);
    const last = this.byTime[this.byTime.length - 1];
    if (last === undefined || last.decidedAt <= copy.decidedAt) this.byTime.push(copy);
    else this.byTime.splice(firstDecidedAtOrAfter(this.byTime, copy.decidedAt, true), 0, copy);
  }

  private versionOf(pool: string): number {
    return this.ledgers.get(pool)?.version ?? 0;
  }

  /**
   * Keeps the ledger frozen (leases frozen once each, so a write costs O(new leases) plus one
   * array copy rather than a deep clone of the whole book); a caller that tried to change a
   * stored ledger would get a TypeError, not a silent change.
   */
  private store(ledger: PoolLedger, expectedVersion: number): void {
    this.ledgers.set(
      ledger.pool,
      Object.freeze({
        ...ledger,
        version: expectedVersion + 1,
        capacity: Object.freeze(ledger.capacity.map(keepFrozen)),
        leases: Object.freeze(ledger.leases.map(keepFrozen)),
        ...(ledger.fairShareLevel
          ? { fairShareLevel: deepFreeze({ ...ledger.fairShareLevel }) }
          : {}),
        ...(ledger.criticalReserve
          ? { criticalReserve: deepFreeze({ ...ledger.criticalReserve }) }
          : {}),
        ...(ledger.dominantFairShare
          ? { dominantFairShare: deepFreeze(structuredClone(ledger.dominantFairShare)) }
          : {}),
      }),
    );
  }
}

/**
 * Index of the first record (in `decidedAt` order) decided at or after `time` — or, with
 * `after`, strictly after it (where a record decided at `time` goes, behind its equals).
 */
function firstDecidedAtOrAfter(
  records: readonly DecisionRecord[],
  time: number,
  after = false,
): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const at = (records[mid] as DecisionRecord).decidedAt;
    if (at < time || (after && at === time)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * A stored ledger's entry: one already frozen (kept from the version before) as it is, any other
 * as a frozen copy. Copied key by key, not frozen in place: a lease built by spreads and frozen
 * becomes a dictionary-mode object in V8, several times slower to read (see frozenCopy), and the
 * plan and every admission read every lease.
 */
function keepFrozen<T>(value: T): T {
  return typeof value === "object" && value !== null && Object.isFrozen(value)
    ? value
    : frozenCopy(value);
}

/** Freezes an object and the objects it holds; already-frozen objects are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}

/**
 * The request-log view of decision records (what the DynamoDB `requestLog` index returns): the
 * shard's decisions taken in [from, to), oldest first (ties by requestId).
 */
export function requestLogOf(
  records: Iterable<DecisionRecord>,
  shard: number,
  shardCount: number,
  from: number,
  to: number,
): RequestLogEntry[] {
  return [...records]
    .filter(
      (r) =>
        r.decidedAt >= from && r.decidedAt < to && shardOf(r.request.userId, shardCount) === shard,
    )
    .sort((a, b) => a.decidedAt - b.decidedAt || (a.requestId < b.requestId ? -1 : 1))
    .map((r) => ({
      requestId: r.requestId,
      userId: r.request.userId,
      pool: r.request.pool,
      amounts: { ...r.request.amounts },
      durationSeconds: r.request.durationSeconds,
      receivedAt: r.decidedAt,
      outcome: r.decision.outcome,
      tier: r.tier,
      criticality: r.request.criticality,
    }));
}
