import { z } from "zod";

/**
 * How forecaster state (forecaster-snapshot.ts) writes numbers into plain JSON, exactly:
 * - a scalar is a JSON number when finite, else one of the strings "NaN", "Infinity",
 *   "-Infinity" (JSON has no literal for them, and `JSON.stringify` would turn them into null),
 *   and −0 is "-0" (`JSON.stringify` writes it as 0);
 * - an array of numbers is the base64 of its little-endian IEEE 754 bytes (64-bit, or 32-bit for
 *   values that are already 32-bit floats): bit-exact, NaN and ±Infinity included, and about
 *   10.7 characters per 64-bit value against up to 24 for a decimal — the conformal error memory
 *   alone holds horizon × 250 values per series.
 */

/** A scalar as stored: finite numbers as themselves, the rest spelled out. */
export type StoredNumber = number | "NaN" | "Infinity" | "-Infinity" | "-0";

/** Writes a number so that `JSON.parse(JSON.stringify(·))` and `readNumber` give it back. */
export function storeNumber(value: number): StoredNumber {
  if (Object.is(value, -0)) return "-0";
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return "NaN";
  return value > 0 ? "Infinity" : "-Infinity";
}

/** Reads a number written by `storeNumber`. */
export function readNumber(stored: StoredNumber): number {
  switch (stored) {
    case "NaN":
      return Number.NaN;
    case "Infinity":
      return Number.POSITIVE_INFINITY;
    case "-Infinity":
      return Number.NEGATIVE_INFINITY;
    case "-0":
      return -0;
    default:
      return stored;
  }
}

/** Any stored scalar, read back as a number. */
export const StoredNumberSchema = z
  .union([z.number(), z.enum(["NaN", "Infinity", "-Infinity", "-0"])])
  .transform(readNumber);

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = 61; // "="
/** Turns the character codes into a string natively (they are ASCII, so UTF-8 reads them as is). */
const ASCII = new TextDecoder();

/**
 * Whether typed arrays store numbers little-endian here (x86 and ARM do): then the encoders copy
 * the values in bulk instead of writing them one by one through a DataView.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Node's native base64 encoder when the runtime has one (Node, the Lambdas, the model server):
 * about ten times faster than the portable loop below, which a replay ran for every series at
 * every interval. Both give the same canonical text (a test checks).
 */
const nativeBuffer = (
  globalThis as {
    Buffer?: {
      from(
        buffer: ArrayBufferLike,
        offset: number,
        length: number,
      ): { toString(e: string): string };
    };
  }
).Buffer;

function toBase64(bytes: Uint8Array): string {
  if (nativeBuffer)
    return nativeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
  return portableBase64(bytes);
}

/** Base64 without a runtime encoder (exported for the test that compares it with the native one). */
export function portableBase64(bytes: Uint8Array): string {
  // The characters' codes into one buffer, then one native decode: far cheaper than appending a
  // character at a time.
  const out = new Uint8Array(4 * Math.ceil(bytes.length / 3));
  const whole = bytes.length - (bytes.length % 3);
  let at = 0;
  for (let i = 0; i < whole; i += 3) {
    const word =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[at++] = CODES[word >> 18] as number;
    out[at++] = CODES[(word >> 12) & 63] as number;
    out[at++] = CODES[(word >> 6) & 63] as number;
    out[at++] = CODES[word & 63] as number;
  }
  if (whole < bytes.length) {
    const b0 = bytes[whole] as number;
    const b1 = whole + 1 < bytes.length ? (bytes[whole + 1] as number) : 0;
    out[at++] = CODES[b0 >> 2] as number;
    out[at++] = CODES[((b0 & 3) << 4) | (b1 >> 4)] as number;
    out[at++] = whole + 1 < bytes.length ? (CODES[(b1 & 15) << 2] as number) : PAD;
    out[at++] = PAD;
  }
  return ASCII.decode(out);
}

/** The bytes of a base64 string, or undefined when it is not canonical base64. */
function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let at = 0;
  for (let i = 0; i < text.length; i += 4) {
    let word = 0;
    for (let k = 0; k < 4; k++) {
      const code = text.charCodeAt(i + k);
      const isPad = code === 61 && i + 4 === text.length && k >= 4 - padding;
      const digit = isPad ? 0 : code < 128 ? (LOOKUP[code] as number) : -1;
      if (digit < 0) return undefined;
      word = (word << 6) | digit;
    }
    if (at < bytes.length) bytes[at++] = (word >> 16) & 255;
    if (at < bytes.length) bytes[at++] = (word >> 8) & 255;
    if (at < bytes.length) bytes[at++] = word & 255;
  }
  return bytes;
}

/** Base64 of the values as little-endian 64-bit floats (exact). */
export function encodeFloat64(values: ArrayLike<number>): string {
  if (LITTLE_ENDIAN && values instanceof Float64Array) {
    return toBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  if (LITTLE_ENDIAN) {
    const floats = new Float64Array(values.length);
    floats.set(values);
    return toBase64(new Uint8Array(floats.buffer));
  }
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
  return toBase64(bytes);
}

/** Base64 of the values as little-endian 32-bit floats (exact for values that are 32-bit floats). */
export function encodeFloat32(values: ArrayLike<number>): string {
  if (LITTLE_ENDIAN && values instanceof Float32Array) {
    return toBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  if (LITTLE_ENDIAN) {
    const floats = new Float32Array(values.length);
    floats.set(values);
    return toBase64(new Uint8Array(floats.buffer));
  }
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return toBase64(bytes);
}

function decodeFloats(text: string, width: 4 | 8): Float64Array | undefined {
  const bytes = fromBase64(text);
  if (bytes === undefined || bytes.length % width !== 0) return undefined;
  const view = new DataView(bytes.buffer);
  const out = new Float64Array(bytes.length / width);
  for (let i = 0; i < out.length; i++) {
    out[i] = width === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
  }
  return out;
}

/** Values written by `encodeFloat64`, or undefined when the text is not such an encoding. */
export function decodeFloat64(text: string): Float64Array | undefined {
  return decodeFloats(text, 8);
}

/** Values written by `encodeFloat32` (as 64-bit numbers), or undefined when malformed. */
export function decodeFloat32(text: string): Float64Array | undefined {
  return decodeFloats(text, 4);
}

function floatsSchema(width: 4 | 8) {
  return z.string().transform((text, context) => {
    const values = decodeFloats(text, width);
    if (values === undefined) {
      context.addIssue({
        code: "custom",
        message: `is not the base64 of little-endian ${8 * width}-bit floats`,
      });
      return z.NEVER;
    }
    return values;
  });
}

/** A `encodeFloat64` string, read back as a Float64Array. */
export const Float64sSchema = floatsSchema(8);

/** A `encodeFloat32` string, read back as a Float64Array of the 32-bit values. */
export const Float32sSchema = floatsSchema(4);
