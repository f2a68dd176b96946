import path from "node:path";
import { z } from "zod";
import { emptyLedger } from "../../domain/admission/ledger.js";
import { parseStoredDecision, parseStoredLedger } from "../../domain/admission/stored-schemas.js";
import type { CapacityStep, DecisionRecord, Lease, PoolLedger } from "../../domain/admission.js";
import { RESOURCES } from "../../domain/resources.js";
import type { RequestLogEntry } from "../../domain/usage.js";
import type { AdmissionStore, CommitResult } from "../../ports/admission-store.js";
import type { RequestLog } from "../../ports/request-log.js";
import { FileAppendLog } from "./file-append-log.js";
import { requestLogOf } from "./in-memory-admission-store.js";

/**
 * Ledgers and decisions on disk for the local runtime (`shaper start --data-dir <dir>`): the
 * in-memory store's semantics (and the DynamoDB store's) made durable by an append-only log
 * (FileAppendLog) replayed at open.
 *
 * A commit checks its conditions (ledger version, new requestId) and changes the state in memory
 * in one synchronous step — so it is atomic and isolated within the process, as in
 * InMemoryAdmissionStore — queues ONE log line holding the whole change (ledger delta and
 * decision together: both or neither after a crash), and answers only once that line is
 * fdatasync'd (group commit). A read of a decision waits until that decision is durable, so no
 * caller is ever shown a decision a crash could take back. A ledger may be read before its last
 * change is durable: any commit made on it is logged after that change, so it cannot survive a
 * crash the change did not.
 *
 * A ledger line holds only what changed: which leases were dropped (by position), which were
 * replaced in place, which were appended — what admission does (prune, consume warm, book) —
 * so a commit costs O(changes) bytes, not the whole book.
 */
export class FileAdmissionStore implements AdmissionStore, RequestLog {
  private readonly ledgers = new Map<string, PoolLedger>();
  private readonly decisions = new Map<string, { record: DecisionRecord; seq: number }>();
  private readonly log: FileAppendLog;

  private constructor(file: string) {
    this.log = FileAppendLog.open(file, (entry) => this.replay(entry));
    for (const ledger of this.ledgers.values()) {
      parseStoredLedger(ledger, `ledger ${ledger.pool} replayed from ${file}`);
    }
  }

  /**
   * Opens the store kept in `dataDir` (file `admission.log.jsonl`), replaying it.
   *
   * @param dataDir folder of the embedded store; created when missing
   * @throws DependencyError (not retryable) when the log is damaged before its end
   * @example
   * const store = FileAdmissionStore.open(".shaper/data");
   */
  static open(dataDir: string): FileAdmissionStore {
    return new FileAdmissionStore(path.join(dataDir, ADMISSION_LOG));
  }

  /** Bytes of a torn last write dropped when the store was opened (0 after a clean close). */
  get tornBytesDropped(): number {
    return this.log.tornBytesDropped;
  }

  /** Ledgers are kept deeply frozen and handed out as they are: no copy per read. */
  async getLedger(pool: string): Promise<PoolLedger> {
    return this.ledgers.get(pool) ?? emptyLedger(pool);
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const held = this.decisions.get(requestId);
    if (!held) return undefined;
    await this.log.whenDurable(held.seq);
    return structuredClone(held.record);
  }

  async commitDecision(
    ledger: PoolLedger,
    expectedVersion: number,
    record: DecisionRecord,
  ): Promise<CommitResult> {
    const existing = this.decisions.get(record.requestId);
    if (existing) return this.duplicate(existing);
    if (this.versionOf(ledger.pool) !== expectedVersion) return { status: "conflict" };
    const { delta, fresh } = this.ledgerDelta(ledger, expectedVersion);
    const seq = this.log.append({ op: "commit", ledger: delta, decision: record });
    this.store(ledger, delta, fresh);
    this.decisions.set(record.requestId, { record: structuredClone(record), seq });
    await this.log.whenDurable(seq);
    return { status: "committed" };
  }

  async recordDecision(
    record: DecisionRecord,
  ): Promise<Exclude<CommitResult, { status: "conflict" }>> {
    const existing = this.decisions.get(record.requestId);
    if (existing) return this.duplicate(existing);
    const seq = this.log.append({ op: "decision", decision: record });
    this.decisions.set(record.requestId, { record: structuredClone(record), seq });
    await this.log.whenDurable(seq);
    return { status: "committed" };
  }

  async putLedger(ledger: PoolLedger, expectedVersion: number): Promise<"committed" | "conflict"> {
    if (this.versionOf(ledger.pool) !== expectedVersion) return "conflict";
    const { delta, fresh } = this.ledgerDelta(ledger, expectedVersion);
    const seq = this.log.append({ op: "ledger", ledger: delta });
    this.store(ledger, delta, fresh);
    await this.log.whenDurable(seq);
    return "committed";
  }

  async listRequests(
    shard: number,
    shardCount: number,
    from: number,
    to: number,
  ): Promise<RequestLogEntry[]> {
    await this.log.whenDurable(this.log.lastSeq);
    return requestLogOf(
      [...this.decisions.values()].map((held) => held.record),
      shard,
      shardCount,
      from,
      to,
    );
  }

  /** Every decision record held, durable ones only (tests and the local runtime's reports). */
  async allDecisions(): Promise<DecisionRecord[]> {
    await this.log.whenDurable(this.log.lastSeq);
    return structuredClone([...this.decisions.values()].map((held) => held.record));
  }

  /** Waits for every queued commit to reach the disk, then closes the log. */
  close(): Promise<void> {
    return this.log.close();
  }

  private async duplicate(existing: {
    record: DecisionRecord;
    seq: number;
  }): Promise<Exclude<CommitResult, { status: "conflict" | "committed" }>> {
    await this.log.whenDurable(existing.seq);
    return { status: "duplicate", existing: structuredClone(existing.record) };
  }

  private versionOf(pool: string): number {
    return this.ledgers.get(pool)?.version ?? 0;
  }

  /**
   * What changes from the stored ledger to `next`, as the log line records it. Leases are
   * matched in order by id: a stored lease whose id is next in `next` is kept (replaced when it
   * changed), any other stored lease is dropped, and what is left of `next` is appended. Applied
   * to the stored list this rebuilds `next.leases` exactly, whatever the order.
   */
  private ledgerDelta(
    next: PoolLedger,
    expectedVersion: number,
  ): { delta: LedgerDelta; fresh: Lease[] } {
    const stored = this.ledgers.get(next.pool);
    const before = stored?.leases ?? [];
    const drop: number[] = [];
    const replace: [number, Lease][] = [];
    let j = 0;
    /** Leases of `next` that are not stored objects: to freeze when `next` is stored. */
    const fresh: Lease[] = [];
    for (let i = 0; i < before.length; i++) {
      const old = before[i] as Lease;
      const candidate = next.leases[j];
      // Kept leases are usually the very objects stored: compare references before ids, so
      // the walk touches only the leases that changed.
      if (candidate === old) {
        j++;
      } else if (candidate !== undefined && candidate.leaseId === old.leaseId) {
        if (!sameLease(candidate, old)) replace.push([i, candidate]);
        else fresh.push(candidate);
        j++;
      } else {
        drop.push(i);
      }
    }
    const { leases: _leases, capacity, ...meta } = next;
    const add = next.leases.slice(j);
    fresh.push(...add, ...replace.map(([, lease]) => lease));
    return {
      delta: {
        ...meta,
        version: expectedVersion + 1,
        ...(stored && sameSteps(stored.capacity, capacity) ? {} : { capacity }),
        drop,
        replace,
        add,
      },
      fresh,
    };
  }

  /**
   * Stores the ledger a delta was computed from — what replaying the delta rebuilds — without
   * rebuilding it: frozen as InMemoryAdmissionStore keeps it. The leases kept from the stored
   * ledger are frozen already, so only the `fresh` ones are frozen: a commit costs one array
   * copy plus the changed leases, not a walk over the book.
   */
  private store(next: PoolLedger, delta: LedgerDelta, fresh: readonly Lease[]): void {
    for (const lease of fresh) deepFreeze(lease);
    const { drop: _d, replace: _r, add: _a, capacity: _c, ...meta } = delta;
    const stored = this.ledgers.get(next.pool);
    this.ledgers.set(
      next.pool,
      Object.freeze({
        ...meta,
        ...(meta.fairShareLevel ? { fairShareLevel: deepFreeze({ ...meta.fairShareLevel }) } : {}),
        ...(meta.criticalReserve
          ? { criticalReserve: deepFreeze({ ...meta.criticalReserve }) }
          : {}),
        ...(meta.dominantFairShare
          ? { dominantFairShare: deepFreeze(structuredClone(meta.dominantFairShare)) }
          : {}),
        capacity: delta.capacity
          ? Object.freeze(delta.capacity.map(deepFreeze))
          : (stored?.capacity ?? Object.freeze([])),
        leases: Object.freeze([...next.leases]),
      }),
    );
  }

  /** Applies a delta to the stored ledger (on replay), keeping it frozen. */
  private applyLedger(delta: LedgerDelta): void {
    const stored = this.ledgers.get(delta.pool) ?? emptyLedger(delta.pool);
    const dropped = new Set(delta.drop);
    const replaced = new Map(delta.replace);
    const leases: Lease[] = [];
    for (const [i, lease] of stored.leases.entries()) {
      if (dropped.has(i)) continue;
      leases.push(replaced.get(i) ?? lease);
    }
    leases.push(...delta.add);
    const { drop: _d, replace: _r, add: _a, capacity, ...meta } = delta;
    this.ledgers.set(
      delta.pool,
      deepFreeze({ ...meta, capacity: capacity ?? stored.capacity, leases }) as PoolLedger,
    );
  }

  private replay(raw: unknown): void {
    const entry = LogEntrySchema.parse(raw);
    if (entry.op !== "decision") {
      // The lease and capacity fields are checked on the rebuilt ledgers once replay ends.
      const delta = entry.ledger as unknown as LedgerDelta;
      const version = this.versionOf(delta.pool);
      if (delta.version !== version + 1) {
        throw new Error(
          `ledger ${delta.pool} goes from version ${version} to ${delta.version}; expected ${version + 1}`,
        );
      }
      this.applyLedger(delta);
    }
    if (entry.op !== "ledger") {
      const record = parseStoredDecision(entry.decision, "replayed decision");
      if (this.decisions.has(record.requestId)) {
        throw new Error(`decision ${record.requestId} is recorded twice`);
      }
      this.decisions.set(record.requestId, { record, seq: 0 });
    }
  }
}

/** The admission log's file name inside the data directory. */
export const ADMISSION_LOG = "admission.log.jsonl";

/** One ledger change as logged: the ledger's own fields, capacity when it changed, lease edits. */
interface LedgerDelta extends Omit<PoolLedger, "leases" | "capacity"> {
  readonly capacity?: readonly CapacityStep[];
  /** Positions (in the stored list) of leases removed. */
  readonly drop: readonly number[];
  /** Positions (in the stored list) of leases replaced, with their new value. */
  readonly replace: readonly (readonly [number, Lease])[];
  /** Leases appended after the kept ones, in order. */
  readonly add: readonly Lease[];
}

// Leases and capacity are checked whole on the rebuilt ledger (parseStoredLedger) after replay;
// here only the shape of the line.
const LedgerDeltaSchema = z.looseObject({
  pool: z.string(),
  version: z.number().int().positive(),
  drop: z.array(z.number().int().nonnegative()),
  replace: z.array(z.tuple([z.number().int().nonnegative(), z.looseObject({})])),
  add: z.array(z.looseObject({})),
});

const LogEntrySchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("commit"), ledger: LedgerDeltaSchema, decision: z.unknown() }),
  z.object({ op: z.literal("decision"), decision: z.unknown() }),
  z.object({ op: z.literal("ledger"), ledger: LedgerDeltaSchema }),
]);

function sameLease(a: Lease, b: Lease): boolean {
  return (
    a.leaseId === b.leaseId &&
    a.userId === b.userId &&
    a.kind === b.kind &&
    a.startAt === b.startAt &&
    a.endAt === b.endAt &&
    a.requestId === b.requestId &&
    RESOURCES.every((r) => a.amounts[r] === b.amounts[r])
  );
}

function sameSteps(a: readonly CapacityStep[], b: readonly CapacityStep[]): boolean {
  return (
    a === b ||
    (a.length === b.length &&
      a.every((step, i) => {
        const other = b[i];
        return (
          other !== undefined &&
          step.start === other.start &&
          RESOURCES.every((r) => step.capacity[r] === other.capacity[r])
        );
      }))
  );
}

/** Freezes an object and the objects it holds; already-frozen objects are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}
