import { describe, expect, it } from "vitest";
import { InProcessForecastModel } from "../../../layers/adapters/local/in-process-forecast-model.js";
import { DependencyError } from "../../../layers/domain/errors.js";
import type { ForecastModel, ForecastOutput } from "../../../layers/ports/forecast-model.js";
import { FallbackForecaster } from "../../../layers/use-cases/fallback-forecaster.js";

const options = { quantiles: [0.1, 0.9], numSamples: 1, intervalSeconds: 300, predictionLength: 2 };
const instances = [
  { start: 0, target: [1, 2] },
  { start: 0, target: [3] },
];

/** A primary model that answers each call as the next script entry says. */
class ScriptedModel implements ForecastModel {
  readonly identity = { model: "endpoint", modelVersion: "v1" };
  calls = 0;
  constructor(private readonly script: ("ok" | "fail" | "short")[]) {}

  async forecast(): Promise<ForecastOutput[]> {
    const step = this.script[this.calls++] ?? "ok";
    if (step === "fail") throw new DependencyError("SageMaker", "down", { retryable: true });
    const output = { mean: [7, 7], quantiles: { "0.1": [6, 6], "0.9": [8, 8] } };
    return step === "short" ? [output] : [output, output];
  }
}

describe("FallbackForecaster", () => {
  it("uses the primary while it answers", async () => {
    const answer = await new FallbackForecaster(
      new ScriptedModel(["ok"]),
      new InProcessForecastModel(),
    ).forecast(instances, options);
    expect(answer.identity.model).toBe("endpoint");
    expect(answer.fallbackReason).toBeUndefined();
    expect(answer.outputs[1]?.mean).toEqual([7, 7]);
  });

  it("falls back when the primary answers a different number of forecasts than series", async () => {
    const answer = await new FallbackForecaster(
      new ScriptedModel(["short"]),
      new InProcessForecastModel(),
    ).forecast(instances, options);
    expect(answer.identity.model).toBe("shaper");
    expect(answer.fallbackReason).toMatch(/1 forecasts for 2 series/);
    expect(answer.outputs[1]?.mean).toEqual([3, 3]);
  });

  it("counts only consecutive failures before it stops calling the primary", async () => {
    const primary = new ScriptedModel(["fail", "fail", "ok", "fail", "fail", "fail", "ok"]);
    const forecaster = new FallbackForecaster(primary, new InProcessForecastModel(), {
      maxConsecutiveFailures: 3,
    });
    const reasons: (string | undefined)[] = [];
    for (let i = 0; i < 8; i++)
      reasons.push((await forecaster.forecast(instances, options)).fallbackReason);
    // Calls 1–6 reach the primary (the success resets the count); after three failures in a row
    // calls 7 and 8 go straight to the fallback.
    expect(primary.calls).toBe(6);
    expect(reasons[2]).toBeUndefined();
    expect(reasons[6]).toMatch(/skipped after 3 consecutive failures/);
  });
});
