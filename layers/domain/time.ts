/**
 * Interval arithmetic. All times in the domain are epoch seconds (UTC); intervals are aligned
 * to multiples of the interval length since the epoch, so every stage agrees on boundaries.
 */

/** Start of the interval containing `epochSeconds`. */
export function intervalStartOf(epochSeconds: number, intervalSeconds: number): number {
  return Math.floor(epochSeconds / intervalSeconds) * intervalSeconds;
}

/** Starts of the intervals in [fromSeconds, toSeconds), both aligned down. */
export function intervalStarts(
  fromSeconds: number,
  toSeconds: number,
  intervalSeconds: number,
): number[] {
  const out: number[] = [];
  const first = intervalStartOf(fromSeconds, intervalSeconds);
  for (let t = first; t < toSeconds; t += intervalSeconds) out.push(t);
  return out;
}

/** Epoch seconds of a Date (fractions dropped). */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** `2026-11-27 20:55:00`: the timestamp format DeepAR's `start` field uses (UTC). */
export function formatDeepArTimestamp(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** Parses DeepAR's `start` (`YYYY-MM-DD HH:MM:SS`, or with a `T`, optional `Z`), as UTC. */
export function parseDeepArTimestamp(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}
