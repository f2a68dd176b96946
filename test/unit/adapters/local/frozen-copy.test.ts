import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frozenCopy, samePlainData } from "../../../../layers/adapters/local/frozen-copy.js";

/** JSON data as a store receives it (JSON has no -0). */
const plain = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

describe("samePlainData", () => {
  it("holds for a value and its frozen copy", () => {
    fc.assert(fc.property(plain, (v) => samePlainData(v, frozenCopy(v))));
  });

  it("agrees with deep strict equality on any two values", () => {
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(samePlainData(a, b)).toBe(isDeepStrictEqual(a, b));
      }),
    );
  });

  it("keeps an own __proto__ key as data, not as the copy's prototype", () => {
    const value = JSON.parse('{"__proto__":{"a":1},"b":2}') as Record<string, unknown>;
    const copy = frozenCopy(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(["__proto__", "b"]);
    expect(samePlainData(value, copy)).toBe(true);
    expect(samePlainData(value, { b: 2 })).toBe(false);
  });

  it("ignores key order, tells a missing key from an undefined one, and equates NaN", () => {
    expect(samePlainData({ a: 1, b: [2, { c: 3 }] }, { b: [2, { c: 3 }], a: 1 })).toBe(true);
    expect(samePlainData({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(samePlainData({ a: 1, c: undefined }, { a: 1, b: undefined })).toBe(false);
    expect(samePlainData([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(samePlainData({ v: Number.NaN }, { v: Number.NaN })).toBe(true);
    expect(samePlainData(undefined, { v: 1 })).toBe(false);
  });
});
