import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeFloat32,
  decodeFloat64,
  encodeFloat32,
  encodeFloat64,
  Float64sSchema,
  portableBase64,
  readNumber,
  StoredNumberSchema,
  storeNumber,
} from "../../../../../layers/domain/forecasting/methods/state-codec.js";

/** The state codec writes numbers into JSON exactly: every double, NaN and ±Infinity included. */

const anyDouble = fc.double();

describe("state codec", () => {
  it("round-trips every 64-bit double through base64 and JSON, bit for bit", () => {
    fc.assert(
      fc.property(fc.array(anyDouble, { maxLength: 40 }), (values) => {
        const text = JSON.parse(JSON.stringify(encodeFloat64(values))) as string;
        expect(text).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
        expect(Array.from(decodeFloat64(text) ?? [])).toEqual(values);
      }),
    );
  });

  it("writes the same base64 with the portable encoder as with the runtime's native one", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), (bytes, offset) => {
        // A view into a larger buffer, as the encoders pass: only the view's bytes count.
        const backing = new Uint8Array(offset + bytes.length + 3);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        expect(portableBase64(view)).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeFloat64(encodeFloat64(new Float64Array(bytes)))).toEqual(
          new Float64Array(bytes),
        );
      }),
    );
  });

  it("round-trips 32-bit floats exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.float(), { maxLength: 40 }), (values) => {
        expect(Array.from(decodeFloat32(encodeFloat32(values)) ?? [])).toEqual(values);
      }),
    );
  });

  it("writes non-finite scalars as strings JSON keeps, and reads them back", () => {
    fc.assert(
      fc.property(anyDouble, (value) => {
        const stored = JSON.parse(JSON.stringify(storeNumber(value)));
        expect(readNumber(stored)).toEqual(value);
        expect(StoredNumberSchema.parse(stored)).toEqual(value);
      }),
    );
    expect(storeNumber(Number.NaN)).toBe("NaN");
    expect(storeNumber(Number.NEGATIVE_INFINITY)).toBe("-Infinity");
  });

  it("rejects text that is not the base64 of whole floats", () => {
    expect(decodeFloat64("AAAA")).toBeUndefined(); // 3 bytes: not a whole 8-byte float
    expect(decodeFloat64("A$AA")).toBeUndefined();
    expect(decodeFloat64("AAA")).toBeUndefined();
    expect(decodeFloat64("AA=A")).toBeUndefined();
    const result = Float64sSchema.safeParse("not base64!");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/base64 of little-endian 64-bit floats/);
  });
});
