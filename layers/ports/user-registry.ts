import type { User } from "../domain/config.js";

/** Registered users (tenants), sharded so collect and forecast can split the work. */
export interface UserRegistry {
  getUser(userId: string): Promise<User | undefined>;
  /** Adds or replaces users (idempotent). */
  putUsers(users: readonly User[]): Promise<void>;
  /** Users whose shard (see `shardOf`) is `shard`, in pages. */
  listUsersInShard(shard: number, shardCount: number): AsyncIterable<readonly User[]>;
}
