import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { emptyLedger } from "../../domain/admission/ledger.js";
import { parseStoredDecision, parseStoredLedger } from "../../domain/admission/stored-schemas.js";
import type { DecisionRecord, Lease, PoolLedger } from "../../domain/admission.js";
import { DependencyError } from "../../domain/errors.js";
import { RESOURCES } from "../../domain/resources.js";
import { shardOf } from "../../domain/sharding.js";
import type { AdmissionStore, CommitResult } from "../../ports/admission-store.js";
import { batchDelete } from "./batch-write.js";
import { dependencyError, isConditionFailure } from "./errors.js";
import { getItem } from "./get-item.js";
import { queryItems } from "./query-items.js";
import { keys } from "./tables.js";

/** Default time a decision record is kept (config.admission.decisionRetentionSeconds), in seconds. */
export const DECISION_RETENTION_SECONDS = 30 * 86_400;

/** DynamoDB's limit of items in one TransactWriteItems. */
const TRANSACTION_ITEMS = 100;
/**
 * A lease item's TTL: this long after the lease ends. Writers delete ended leases right after
 * the write that drops them; the TTL only catches what such a delete missed.
 */
const LEASE_TTL_GRACE_SECONDS = 86_400;

/** Where a lease sits in its ledger's order: assigned when it is first written, then kept. */
const SeqSchema = z.number().int().nonnegative();

/** A lease with its place in the ledger's order. */
interface PlacedLease {
  readonly seq: number;
  readonly lease: Lease;
}

/**
 * A pool's ledger as this store last read or wrote it, by version: what the next write is the
 * difference from (which lease items to put and delete).
 */
interface LedgerBase {
  readonly version: number;
  readonly nextSeq: number;
  /** Request leases (their own items) by leaseId. */
  readonly requestLeases: ReadonlyMap<string, PlacedLease>;
  /** Warm leases' places (they live in the ledger item) by leaseId. */
  readonly warmSeq: ReadonlyMap<string, number>;
}

export interface DynamoDbAdmissionStoreOptions {
  /** Shard count of the request-log index keys; must match the config's `shardCount`. */
  readonly shardCount: number;
  /** How long decision records are kept (TTL), in seconds. @default 2592000 (30 days) */
  readonly decisionRetentionSeconds?: number;
}

/**
 * Pool ledgers and decision records in the admission table (see docs/data-model.md):
 * - ledger `LEDGER#<pool>` / `LEDGER`: `version`, `nextSeq`, `capacity`, `warmLeases`,
 *   `planIssuedAt`, `fairShareLevel`, `criticalReserve`, `dominantFairShare`, `updatedAt`;
 * - each request lease its own item `LEDGER#<pool>` / `LEASE#<leaseId>` with `seq` (its place in
 *   the ledger's order) and `expiresAt` (TTL, a day after it ends). A busy pool holds thousands of
 *   live leases (dlrm's cpu pool ≈ 4,650, ≈ 770 KB): far more than one item's 400 KB;
 * - decision `REQ#<requestId>` / `DECISION`: `request`, `decision`, `decidedAt`, `tier`,
 *   `explanation`, `planIssuedAt?`, `logPk`/`logSk` (the `requestLog` index collect reads) and
 *   `expiresAt` (TTL).
 *
 * A write is one TransactWriteItems: the ledger item, conditional on the version read (stored as
 * version + 1), the lease items that changed since that version (put or deleted), and for a
 * decision its record, conditional on the request id being new. Leases that ended are deleted
 * right after the write that dropped them (the ledger no longer holds them; until they are gone
 * a reader sees them ended and prunes them as it prunes any ended lease). A decision that takes
 * no capacity is one conditional PutItem. Reads are strongly consistent, so a writer that read
 * an older version fails its condition instead of overwriting.
 */
export class DynamoDbAdmissionStore implements AdmissionStore {
  private readonly retentionSeconds: number;
  /** Per pool, the ledger as last read or written here: what a write is the difference from. */
  private readonly bases = new Map<string, LedgerBase>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoDbAdmissionStoreOptions,
  ) {
    this.retentionSeconds = options.decisionRetentionSeconds ?? DECISION_RETENTION_SECONDS;
  }

  async getLedger(pool: string): Promise<PoolLedger> {
    // The ledger item first, then the leases: a Query is not isolated from a concurrent
    // transaction, but any write after the version read here fails this reader's condition.
    const item = await getItem(
      this.client,
      this.tableName,
      keys.ledger(pool),
      `reading the ledger of pool ${pool}`,
      { consistent: true },
    );
    if (!item) {
      this.bases.delete(pool);
      return emptyLedger(pool);
    }
    const where = `${this.tableName} LEDGER#${pool}`;
    const { pk: _pk, sk: _sk, nextSeq, warmLeases, ...rest } = item;
    const warm: PlacedLease[] = [];
    for (const stored of asArray(warmLeases, where)) {
      const { seq, ...lease } = stored as Record<string, unknown>;
      warm.push({ seq: parseSeq(seq, where), lease: lease as unknown as Lease });
    }
    const held = this.bases.get(pool);
    let requestLeases: ReadonlyMap<string, PlacedLease>;
    let ledger: PoolLedger;
    if (held !== undefined && held.version === rest.version) {
      // Nothing was written since this store last read or wrote the pool: its request leases
      // stand (an ended lease deleted since is pruned by the reader all the same).
      const header = parseStoredLedger({ ...rest, pool, leases: warm.map((w) => w.lease) }, where);
      requestLeases = held.requestLeases;
      const placed = [
        ...header.leases.map((lease, i) => ({ seq: (warm[i] as PlacedLease).seq, lease })),
        ...requestLeases.values(),
      ];
      ledger = { ...header, leases: inOrder(placed) };
    } else {
      const placed = [...warm];
      for (const stored of await this.queryLeases(pool)) {
        const { pk: _lpk, sk: _lsk, seq, expiresAt: _ttl, ...lease } = stored;
        placed.push({
          seq: parseSeq(seq, `${where} lease ${String(lease.leaseId)}`),
          lease: lease as unknown as Lease,
        });
      }
      ledger = parseStoredLedger({ ...rest, pool, leases: inOrder(placed) }, where);
      // The parsed leases, in the order of `placed` (sorted in place by inOrder).
      const parsed = new Map<string, PlacedLease>();
      for (const [i, lease] of ledger.leases.entries()) {
        if (lease.kind === "request") {
          parsed.set(lease.leaseId, { seq: (placed[i] as PlacedLease).seq, lease });
        }
      }
      requestLeases = parsed;
    }
    this.hold(pool, {
      version: ledger.version,
      nextSeq: parseSeq(nextSeq ?? 0, where),
      requestLeases,
      warmSeq: new Map(warm.map((w) => [w.lease.leaseId, w.seq])),
    });
    return ledger;
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.decision(requestId),
      `reading the decision of request ${requestId}`,
      { consistent: true },
    );
    if (!item) return undefined;
    const { request, decision, decidedAt, tier, explanation, planIssuedAt } = item;
    return parseStoredDecision(
      {
        requestId,
        request,
        decision,
        decidedAt,
        tier,
        explanation,
        ...(planIssuedAt === undefined ? {} : { planIssuedAt }),
      },
      `${this.tableName} REQ#${requestId}`,
    );
  }

  async commitDecision(
    ledger: PoolLedger,
    expectedVersion: number,
    record: DecisionRecord,
  ): Promise<CommitResult> {
    const write = await this.ledgerWrite(ledger, expectedVersion);
    if (write === "conflict") {
      // A retry of a decided request reads a newer ledger than it decided on: answer the decision.
      const existing = await this.getDecision(record.requestId);
      return existing ? { status: "duplicate", existing } : { status: "conflict" };
    }
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: write.ledgerPut },
            {
              Put: {
                TableName: this.tableName,
                Item: this.decisionItem(record),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            ...write.leaseChanges,
          ],
        }),
      );
    } catch (error) {
      this.forgetBase(ledger.pool, expectedVersion);
      const reasons = cancellationCodes(error);
      if (reasons === undefined) {
        throw dependencyError(
          "DynamoDB",
          `committing the decision of request ${record.requestId}`,
          error,
        );
      }
      // CancellationReasons come in the order of TransactItems: [0] the ledger, [1] the decision.
      if (reasons[1] === "ConditionalCheckFailed") {
        const existing = await this.getDecision(record.requestId);
        if (existing) return { status: "duplicate", existing };
        // Written and gone again (TTL) between the two calls: the ledger decides what to do.
      }
      if (reasons[0] === "ConditionalCheckFailed" || reasons.includes("TransactionConflict")) {
        // Another writer changed the ledger, or (DynamoDB only) was changing it at the same
        // moment: re-read and decide again.
        return { status: "conflict" };
      }
      throw dependencyError(
        "DynamoDB",
        `committing the decision of request ${record.requestId} (cancelled: ${reasons.join(", ")})`,
        error,
      );
    }
    await this.written(ledger.pool, write);
    return { status: "committed" };
  }

  async recordDecision(
    record: DecisionRecord,
  ): Promise<Exclude<CommitResult, { status: "conflict" }>> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.decisionItem(record),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { status: "committed" };
    } catch (error) {
      if (!isConditionFailure(error)) {
        throw dependencyError(
          "DynamoDB",
          `recording the decision of request ${record.requestId}`,
          error,
        );
      }
      const existing = await this.getDecision(record.requestId);
      if (existing) return { status: "duplicate", existing };
      throw new DependencyError(
        "DynamoDB",
        `The decision of request ${record.requestId} existed when it was written and was gone when read back (expired?). Send the request again.`,
        { retryable: true },
      );
    }
  }

  async putLedger(ledger: PoolLedger, expectedVersion: number): Promise<"committed" | "conflict"> {
    const write = await this.ledgerWrite(ledger, expectedVersion);
    if (write === "conflict") return "conflict";
    try {
      if (write.leaseChanges.length === 0) await this.client.send(new PutCommand(write.ledgerPut));
      else {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [{ Put: write.ledgerPut }, ...write.leaseChanges],
          }),
        );
      }
    } catch (error) {
      this.forgetBase(ledger.pool, expectedVersion);
      if (isConditionFailure(error)) return "conflict";
      const reasons = cancellationCodes(error);
      if (reasons?.[0] === "ConditionalCheckFailed" || reasons?.includes("TransactionConflict")) {
        return "conflict";
      }
      throw dependencyError("DynamoDB", `writing the ledger of pool ${ledger.pool}`, error);
    }
    await this.written(ledger.pool, write);
    return "committed";
  }

  /**
   * What writing `ledger` over version `expectedVersion` takes: the ledger item and the lease
   * items that differ from that version's; "conflict" when the pool is no longer at it.
   */
  private async ledgerWrite(
    ledger: PoolLedger,
    expectedVersion: number,
  ): Promise<LedgerWrite | "conflict"> {
    const base = await this.baseAt(ledger.pool, expectedVersion);
    if (base === undefined) return "conflict";
    let nextSeq = base.nextSeq;
    const requestLeases = new Map<string, PlacedLease>();
    const warmLeases: Record<string, unknown>[] = [];
    const warmSeq = new Map<string, number>();
    const leaseChanges: TransactItem[] = [];
    for (const lease of ledger.leases) {
      if (requestLeases.has(lease.leaseId) || warmSeq.has(lease.leaseId)) {
        throw new Error(
          `The ledger of pool ${ledger.pool} holds two leases with id ${lease.leaseId}: a lease id must be unique in its pool.`,
        );
      }
      const before = base.requestLeases.get(lease.leaseId);
      const seq = before?.seq ?? base.warmSeq.get(lease.leaseId) ?? nextSeq++;
      if (lease.kind === "warm") {
        warmLeases.push({ ...lease, seq });
        warmSeq.set(lease.leaseId, seq);
        continue;
      }
      requestLeases.set(lease.leaseId, { seq, lease });
      if (before === undefined || !sameLease(before.lease, lease)) {
        leaseChanges.push({
          Put: { TableName: this.tableName, Item: this.leaseItem(ledger.pool, seq, lease) },
        });
      }
    }
    const ended: Record<string, unknown>[] = [];
    for (const [leaseId, before] of base.requestLeases) {
      if (requestLeases.has(leaseId)) continue;
      const key = keys.ledgerLease(ledger.pool, leaseId);
      // A lease dropped before it ended (released) must go with the write; an ended one after it.
      if (before.lease.endAt <= ledger.updatedAt) ended.push(key);
      else leaseChanges.push({ Delete: { TableName: this.tableName, Key: key } });
    }
    if (leaseChanges.length > TRANSACTION_ITEMS - 2) {
      throw new Error(
        `Writing the ledger of pool ${ledger.pool} would change ${leaseChanges.length} leases at once; one DynamoDB transaction holds at most ${TRANSACTION_ITEMS - 2} besides the ledger and a decision. Book or release leases in smaller steps.`,
      );
    }
    const condition =
      expectedVersion === 0
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": expectedVersion },
          };
    return {
      ledgerPut: {
        TableName: this.tableName,
        Item: {
          ...keys.ledger(ledger.pool),
          version: expectedVersion + 1,
          nextSeq,
          capacity: ledger.capacity,
          warmLeases,
          planIssuedAt: ledger.planIssuedAt,
          fairShareLevel: ledger.fairShareLevel,
          criticalReserve: ledger.criticalReserve,
          dominantFairShare: ledger.dominantFairShare,
          updatedAt: ledger.updatedAt,
        },
        ...condition,
      },
      leaseChanges,
      ended,
      base: { version: expectedVersion + 1, nextSeq, requestLeases, warmSeq },
    };
  }

  /**
   * The pool's ledger base at `version`: the one held here, or read afresh; undefined when the
   * pool has moved past it (versions only grow, so a newer base held here settles that unread).
   */
  private async baseAt(pool: string, version: number): Promise<LedgerBase | undefined> {
    const held = this.bases.get(pool);
    if (held !== undefined && held.version >= version) {
      return held.version === version ? held : undefined;
    }
    await this.getLedger(pool);
    const read = this.bases.get(pool) ?? {
      version: 0,
      nextSeq: 0,
      requestLeases: new Map(),
      warmSeq: new Map(),
    };
    return read.version === version ? read : undefined;
  }

  /** Holds `base` unless a newer one is held already (reads and writes may finish out of order). */
  private hold(pool: string, base: LedgerBase): void {
    const held = this.bases.get(pool);
    if (held === undefined || held.version <= base.version) this.bases.set(pool, base);
  }

  /** A write over `version` failed: the base held for it may be stale. */
  private forgetBase(pool: string, version: number): void {
    if (this.bases.get(pool)?.version === version) this.bases.delete(pool);
  }

  /** After a committed write: hold its base and delete the lease items of leases that ended. */
  private async written(pool: string, write: LedgerWrite): Promise<void> {
    this.hold(pool, write.base);
    if (write.ended.length === 0) return;
    try {
      await batchDelete(this.client, this.tableName, write.ended);
    } catch {
      // The write stands without this clean-up: the next writer's base holds these items again
      // (read back from the table) and deletes them, and their TTL removes them in any case.
      this.bases.delete(pool);
    }
  }

  private leaseItem(pool: string, seq: number, lease: Lease): Record<string, unknown> {
    return {
      ...keys.ledgerLease(pool, lease.leaseId),
      seq,
      ...lease,
      expiresAt: Math.ceil(lease.endAt) + LEASE_TTL_GRACE_SECONDS,
    };
  }

  /** The pool's lease items, every page (a busy pool's leases fill more than one). */
  private queryLeases(pool: string): Promise<Record<string, unknown>[]> {
    return queryItems(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :lease)",
        ExpressionAttributeValues: { ":pk": keys.ledger(pool).pk, ":lease": "LEASE#" },
        ConsistentRead: true,
      },
      `reading the leases of pool ${pool}`,
    );
  }

  private decisionItem(record: DecisionRecord): Record<string, unknown> {
    return {
      ...keys.decision(record.requestId),
      request: record.request,
      decision: record.decision,
      decidedAt: record.decidedAt,
      tier: record.tier,
      explanation: record.explanation,
      planIssuedAt: record.planIssuedAt,
      ...keys.requestLog(
        shardOf(record.request.userId, this.options.shardCount),
        this.options.shardCount,
        record.decidedAt,
        record.requestId,
      ),
      expiresAt: Math.floor(record.decidedAt) + this.retentionSeconds,
    };
  }
}

type TransactItem =
  | { readonly Put: { readonly TableName: string; readonly Item: Record<string, unknown> } }
  | { readonly Delete: { readonly TableName: string; readonly Key: Record<string, unknown> } };

/** One ledger write: the ledger item, the lease items changed in the same transaction, and after. */
interface LedgerWrite {
  readonly ledgerPut: {
    readonly TableName: string;
    readonly Item: Record<string, unknown>;
    readonly ConditionExpression: string;
    readonly ExpressionAttributeValues?: Record<string, unknown>;
  };
  readonly leaseChanges: readonly TransactItem[];
  /** Keys of lease items whose leases ended and left the ledger: deleted after the write. */
  readonly ended: readonly Record<string, unknown>[];
  /** The base once the write is committed. */
  readonly base: LedgerBase;
}

/** Whether two leases hold the same data (a stored lease need not be rewritten). */
function sameLease(a: Lease, b: Lease): boolean {
  if (
    a.leaseId !== b.leaseId ||
    a.userId !== b.userId ||
    a.kind !== b.kind ||
    a.startAt !== b.startAt ||
    a.endAt !== b.endAt ||
    a.requestId !== b.requestId
  ) {
    return false;
  }
  return RESOURCES.every((r) => a.amounts[r] === b.amounts[r]);
}

/** The leases in their ledger order (`placed` is sorted in place). */
function inOrder(placed: PlacedLease[]): Lease[] {
  placed.sort((a, b) => a.seq - b.seq);
  return placed.map((p) => p.lease);
}

function parseSeq(value: unknown, where: string): number {
  const parsed = SeqSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DependencyError(
    "DynamoDB",
    `${where} has a malformed lease order (seq ${JSON.stringify(value)}): expected a non-negative integer. Was the item written by another version of shaper?`,
    { retryable: false },
  );
}

function asArray(value: unknown, where: string): readonly unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  throw new DependencyError(
    "DynamoDB",
    `${where} has malformed warm leases (${typeof value}): expected a list. Was the item written by another version of shaper?`,
    { retryable: false },
  );
}

/**
 * The cancellation codes of a cancelled transaction, in item order ("None" for items that
 * passed), or undefined when the error is not a transaction cancellation.
 */
function cancellationCodes(error: unknown): string[] | undefined {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== "TransactionCanceledException") return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? "None");
}
