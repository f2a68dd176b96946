import type { RequestLogEntry } from "../domain/usage.js";

/** The admission API's request log, read back by collect. */
export interface RequestLog {
  /** Requests received in [from, to) by users of the shard. */
  listRequests(
    shard: number,
    shardCount: number,
    from: number,
    to: number,
  ): Promise<RequestLogEntry[]>;
}
