/**
 * A deep copy of plain data (objects, arrays, primitives), frozen at every level: the in-memory
 * stores keep these, readers share them, and any attempt to change one throws.
 *
 * Objects are rebuilt key by key, never as `Object.freeze({ ...value })`: V8 turns a frozen
 * spread copy into a slow (dictionary-mode) object of its own, so reading its fields goes through
 * the generic path. Measured on usage records: building 250 series of 2,016 intervals from spread
 * copies took ≈ 210 ms, from key-by-key copies ≈ 20 ms (the same with no freezing at all).
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  // Typed arrays cannot be frozen: a copy, at least, is the store's own.
  if (ArrayBuffer.isView(value)) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) copy[key] = frozenCopy(field);
  return Object.freeze(copy) as T;
}
