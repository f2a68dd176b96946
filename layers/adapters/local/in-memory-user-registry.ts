import type { User } from "../../domain/config.js";
import { shardOf } from "../../domain/sharding.js";
import type { UserRegistry } from "../../ports/user-registry.js";

/** Users held in memory (local runtime and tests). */
export class InMemoryUserRegistry implements UserRegistry {
  private readonly users = new Map<string, User>();

  constructor(users: readonly User[] = []) {
    for (const user of users) this.users.set(user.userId, user);
  }

  async getUser(userId: string): Promise<User | undefined> {
    return this.users.get(userId);
  }

  async putUsers(users: readonly User[]): Promise<void> {
    for (const user of users) this.users.set(user.userId, user);
  }

  async *listUsersInShard(shard: number, shardCount: number): AsyncIterable<readonly User[]> {
    const page = [...this.users.values()]
      .filter((u) => shardOf(u.userId, shardCount) === shard)
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    if (page.length > 0) yield page;
  }
}
