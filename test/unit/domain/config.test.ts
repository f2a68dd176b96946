import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig, REQUIRED_QUANTILES } from "../../../layers/domain/config.js";
import { ConfigError } from "../../../layers/domain/errors.js";
import { testConfigInput } from "../../fixtures/config.js";

describe("parseConfig", () => {
  it("fills in defaults, including every required quantile", () => {
    const config = parseConfig(testConfigInput());
    expect(config.quantiles).toEqual([...REQUIRED_QUANTILES]);
    expect(config.collect.namespace).toBe("Shaper/Usage");
    expect(config.admission.defaultMaxDelaySeconds).toEqual({
      critical: 0,
      normal: 600,
      deferrable: 3600,
    });
    expect(config.pools.cpu?.alternatives).toEqual([]);
  });

  it("accepts the shipped default config", () => {
    const raw = JSON.parse(
      readFileSync(new URL("../../../config/shaper.config.json", import.meta.url), "utf8"),
    );
    expect(Object.keys(parseConfig(raw).pools)).toEqual(["cpu", "gpu"]);
  });

  it("rejects a guarantee above the cap, naming the field and the fix", () => {
    const input = testConfigInput();
    input.tiers.free = { weight: 1, guaranteedMinimum: { vcpu: 12 }, cap: { vcpu: 8 } };
    expect(() => parseConfig(input)).toThrowError(
      /tiers\.free\.guaranteedMinimum\.vcpu: Tier "free": guaranteedMinimum 12 vcpu exceeds cap 8 vcpu\. Expected minimum <= cap\. Lower the minimum or raise the cap\./,
    );
  });

  it("rejects unknown tiers, pools and alternatives with the allowed values", () => {
    const input = testConfigInput();
    input.users = [{ userId: "x", tier: "gold", pools: ["tpu"] }];
    input.pools.gpu = { ...input.pools.gpu!, alternatives: ["fpga"] };
    try {
      parseConfig(input);
      expect.unreachable("parseConfig accepted an invalid config");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain(
        'users.0.tier: "gold" is not a configured tier. Expected one of: premium, standard, free.',
      );
      expect(message).toContain('users.0.pools: names pool "tpu"');
      expect(message).toContain('pools.gpu.alternatives: names pool "fpga"');
    }
  });

  it("rejects a quantile set missing a required level and unknown keys", () => {
    expect(() => parseConfig({ ...testConfigInput(), quantiles: [0.1, 0.5, 0.9] })).toThrowError(
      /quantiles: is missing 0\.2/,
    );
    expect(() => parseConfig({ ...testConfigInput(), colect: {} })).toThrowError(/colect/);
  });

  it("rejects a tier quantile that is not forecast", () => {
    const input = testConfigInput();
    input.tiers.premium = { ...input.tiers.premium!, forecastQuantile: 0.97 };
    expect(() => parseConfig(input)).toThrowError(
      /tiers\.premium\.forecastQuantile: 0\.97 is not one of the configured quantiles/,
    );
  });
});
