import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeFloat32,
  encodeFloat64,
} from "../../../../../layers/domain/forecasting/methods/state-codec.js";

/** The standard base64 (Node's) of the values' little-endian bytes: what states have always held. */
function reference(values: readonly number[], width: 4 | 8): string {
  const view = new DataView(new ArrayBuffer(values.length * width));
  values.forEach((v, i) => {
    if (width === 8) view.setFloat64(i * 8, v, true);
    else view.setFloat32(i * 4, v, true);
  });
  return Buffer.from(view.buffer).toString("base64");
}

describe("state codec encoding", () => {
  it("writes exactly the standard base64 of the little-endian bytes, at every length", () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 30 }), (values) => {
        expect(encodeFloat64(values)).toBe(reference(values, 8));
        expect(encodeFloat32(values)).toBe(reference(values, 4));
      }),
    );
  });

  it("writes long arrays (many string chunks) exactly too", () => {
    // 3,001 doubles: 24,008 bytes, 32,012 characters — past several chunks, ending in padding.
    const values = Array.from({ length: 3_001 }, (_, i) => Math.sin(i) * 10 ** (i % 9));
    expect(encodeFloat64(values)).toBe(reference(values, 8));
    expect(encodeFloat32(values)).toBe(reference(values, 4));
    expect(encodeFloat64(values).endsWith("=")).toBe(true);
  });
});
