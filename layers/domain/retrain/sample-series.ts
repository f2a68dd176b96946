import type { Resource } from "../resources.js";

/**
 * Deterministic sampling of the series the retrain flow trains and validates on: the `limit`
 * series with the smallest hash of (seed, user, pool, resource) — a bottom-k sample, uniform over
 * the series offered and the same for the same seed, so Train and Validate of one run pick the
 * same series without passing them along.
 */

/** One series: a user's usage of one resource of one pool. */
export interface SeriesKey {
  readonly userId: string;
  readonly pool: string;
  readonly resource: Resource;
}

/** FNV-1a (32-bit) of a string. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Keeps the `limit` series with the smallest seeded hash as they stream past.
 *
 * @example
 * const sample = new SeriesSample("2026-11-27", 500);
 * for (const key of keys) sample.offer(key);
 * sample.keys(); // ≤ 500 keys, ordered by user, pool, resource
 */
export class SeriesSample {
  private readonly kept: { hash: number; id: string; key: SeriesKey }[] = [];
  private offered = 0;

  constructor(
    private readonly seed: string,
    private readonly limit: number,
  ) {}

  /** Offers one series. */
  offer(key: SeriesKey): void {
    this.offered++;
    const id = `${key.userId}\u0000${key.pool}\u0000${key.resource}`;
    const hash = fnv1a(`${this.seed}\u0000${id}`);
    const worst = this.kept[this.kept.length - 1];
    if (this.kept.length >= this.limit && worst && !before(hash, id, worst)) return;
    let i = this.kept.length;
    while (i > 0 && before(hash, id, this.kept[i - 1] as { hash: number; id: string })) i--;
    this.kept.splice(i, 0, { hash, id, key });
    if (this.kept.length > this.limit) this.kept.pop();
  }

  /** Series offered so far. */
  offeredCount(): number {
    return this.offered;
  }

  /** The sample, ordered by user, pool and resource. */
  keys(): SeriesKey[] {
    return this.kept
      .map((k) => k.key)
      .sort(
        (a, b) => cmp(a.userId, b.userId) || cmp(a.pool, b.pool) || cmp(a.resource, b.resource),
      );
  }
}

function before(hash: number, id: string, other: { hash: number; id: string }): boolean {
  return hash < other.hash || (hash === other.hash && id < other.id);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
