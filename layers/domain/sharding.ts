/**
 * Stable shard of a user: FNV-1a (32-bit) of the id, modulo the shard count. Stable across
 * processes and releases, so a user's data stays in the shard that wrote it.
 */
export function shardOf(userId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}
