import path from "node:path";
import { z } from "zod";
import { AmountsSchema } from "../../domain/resources.js";
import type { PoolLoadRecord, PoolUsagePartial, UsageRecord } from "../../domain/usage.js";
import type { UsageStore } from "../../ports/usage-store.js";
import { FileAppendLog } from "./file-append-log.js";
import { InMemoryUsageStore } from "./in-memory-usage-store.js";

/**
 * Usage history on disk for the local runtime (`shaper start --data-dir <dir>`): the in-memory
 * store's semantics (a put replaces the item of its key), made durable by an append-only log
 * (FileAppendLog) replayed at open. Each put is one log line (all of its records or none after a
 * crash) and returns only once that line is fdatasync'd. Reads wait until every write queued
 * before them is durable, so they never show usage a crash could take back.
 */
export class FileUsageStore implements UsageStore {
  private readonly memory = new InMemoryUsageStore();
  private readonly log: FileAppendLog;

  private constructor(file: string) {
    this.log = FileAppendLog.open(file, (entry) => {
      // zod leaves absent optional keys absent, so the parsed entry is a UsageLogEntry; the
      // in-memory store applies a put before its first await, so replay is synchronous.
      void this.applyToMemory(UsageLogEntrySchema.parse(entry) as UsageLogEntry);
    });
  }

  /**
   * Opens the store kept in `dataDir` (file `usage.log.jsonl`), replaying it.
   *
   * @param dataDir folder of the embedded store; created when missing
   * @throws DependencyError (not retryable) when the log is damaged before its end
   * @example
   * const usage = FileUsageStore.open(".shaper/data");
   */
  static open(dataDir: string): FileUsageStore {
    return new FileUsageStore(path.join(dataDir, USAGE_LOG));
  }

  /** Bytes of a torn last write dropped when the store was opened (0 after a clean close). */
  get tornBytesDropped(): number {
    return this.log.tornBytesDropped;
  }

  putUsage(records: readonly UsageRecord[]): Promise<void> {
    return this.write({ op: "usage", records });
  }

  async getUsage(userId: string, pool: string, from: number, to: number): Promise<UsageRecord[]> {
    await this.log.whenDurable(this.log.lastSeq);
    return this.memory.getUsage(userId, pool, from, to);
  }

  putPoolUsagePartials(partials: readonly PoolUsagePartial[]): Promise<void> {
    return this.write({ op: "partials", partials });
  }

  async getPoolUsagePartials(pool: string, from: number, to: number): Promise<PoolUsagePartial[]> {
    await this.log.whenDurable(this.log.lastSeq);
    return this.memory.getPoolUsagePartials(pool, from, to);
  }

  putPoolLoad(records: readonly PoolLoadRecord[]): Promise<void> {
    return this.write({ op: "load", records });
  }

  async getPoolLoad(pool: string, from: number, to: number): Promise<PoolLoadRecord[]> {
    await this.log.whenDurable(this.log.lastSeq);
    return this.memory.getPoolLoad(pool, from, to);
  }

  /** Waits for every queued write to reach the disk, then closes the log. */
  close(): Promise<void> {
    return this.log.close();
  }

  /**
   * Logs the put and applies it in memory in the same synchronous step (the log's order is the
   * order of the changes), then waits until the line is durable.
   */
  private async write(entry: UsageLogEntry): Promise<void> {
    const seq = this.log.append(entry);
    await Promise.all([this.applyToMemory(entry), this.log.whenDurable(seq)]);
  }

  private applyToMemory(entry: UsageLogEntry): Promise<void> {
    switch (entry.op) {
      case "usage":
        return this.memory.putUsage(entry.records);
      case "partials":
        return this.memory.putPoolUsagePartials(entry.partials);
      case "load":
        return this.memory.putPoolLoad(entry.records);
    }
  }
}

/** The usage log's file name inside the data directory. */
export const USAGE_LOG = "usage.log.jsonl";

type UsageLogEntry =
  | { readonly op: "usage"; readonly records: readonly UsageRecord[] }
  | { readonly op: "partials"; readonly partials: readonly PoolUsagePartial[] }
  | { readonly op: "load"; readonly records: readonly PoolLoadRecord[] };

const EpochSecondsSchema = z.number().finite();

const RequestStatsSchema = z.object({
  count: z.number().int().nonnegative(),
  requested: AmountsSchema,
  amountSeconds: AmountsSchema,
  granted: AmountsSchema,
  criticalAsked: AmountsSchema.optional(),
});

const UsageRecordSchema = z.object({
  userId: z.string().min(1),
  pool: z.string().min(1),
  intervalStart: EpochSecondsSchema,
  usage: AmountsSchema.nullable(),
  requests: RequestStatsSchema.optional(),
});

const PoolUsagePartialSchema = z.object({
  pool: z.string().min(1),
  intervalStart: EpochSecondsSchema,
  shard: z.number().int().nonnegative(),
  usage: AmountsSchema,
  reportingUsers: z.number().int().nonnegative(),
  missingUsers: z.number().int().nonnegative(),
});

const PoolLoadRecordSchema = z.object({
  pool: z.string().min(1),
  intervalStart: EpochSecondsSchema,
  cpuUtilizationPercent: z.number().nullable(),
  memoryUtilizationPercent: z.number().nullable(),
});

const UsageLogEntrySchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("usage"), records: z.array(UsageRecordSchema) }),
  z.object({ op: z.literal("partials"), partials: z.array(PoolUsagePartialSchema) }),
  z.object({ op: z.literal("load"), records: z.array(PoolLoadRecordSchema) }),
]);
