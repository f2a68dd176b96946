import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../../../../layers/domain/errors.js";
import {
  type GlobalFittedMethod,
  globalMethod,
} from "../../../../../../layers/domain/forecasting/methods/global/global-method.js";
import {
  decodeFloat32,
  encodeFloat32,
  parseGlobalModel,
  serializeGlobalModel,
} from "../../../../../../layers/domain/forecasting/methods/global/model-codec.js";
import { fitContext, QUICK, trainingSeries } from "./global-fixtures.js";

describe("float32 base64", () => {
  it("round-trips values exactly representable in 32 bits, for every length modulo 3", () => {
    const values = [0, -0, 1, -2.5, 3.0517578125e-5, Math.fround(Math.PI), 65504, -1e-30].map(
      Math.fround,
    );
    for (let n = 0; n <= values.length; n++) {
      const slice = values.slice(0, n);
      expect([...decodeFloat32(encodeFloat32(slice))]).toEqual(slice);
    }
  });

  it("writes standard padded base64 of the little-endian bytes", () => {
    // 1.0f is 00 00 80 3f.
    expect(encodeFloat32([1])).toBe("AACAPw==");
  });

  it("rejects text that is not base64 of whole float32 values", () => {
    expect(() => decodeFloat32("not base64!")).toThrow(ValidationError);
    expect(() => decodeFloat32("AACA")).toThrow(/float32/);
  });
});

describe("global model JSON", () => {
  const series = trainingSeries(4, 8);
  const fitted = globalMethod(QUICK).fit(series, fitContext(series)) as GlobalFittedMethod;
  const json = serializeGlobalModel(fitted.model);

  it("is versioned and keeps the weights bit for bit", () => {
    expect(json.kind).toBe("global-mlp");
    expect(json.formatVersion).toBe(1);
    const restored = parseGlobalModel(
      JSON.parse(JSON.stringify(json)),
      "s3://bucket/models/global/1.json",
    );
    expect([...restored.params]).toEqual([...fitted.model.params]);
    expect(restored.layout).toEqual(fitted.model.layout);
    expect(restored.cohorts).toEqual(fitted.model.cohorts);
  });

  it("names the source and the field when a model is malformed", () => {
    expect(() => parseGlobalModel({ ...json, kind: "deepar" }, "s3://b/m.json")).toThrow(
      /s3:\/\/b\/m\.json.*kind/,
    );
    expect(() => parseGlobalModel({ ...json, formatVersion: 2 }, "m")).toThrow(ValidationError);
  });

  it("rejects weights that do not fit the layout", () => {
    const short = { ...json, params: encodeFloat32([1, 2, 3]) };
    expect(() => parseGlobalModel(short, "m")).toThrow(/has 3 weights/);
  });
});
