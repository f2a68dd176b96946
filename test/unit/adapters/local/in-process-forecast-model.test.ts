import { describe, expect, it } from "vitest";
import { InProcessForecastModel } from "../../../../layers/adapters/local/in-process-forecast-model.js";

const T = 1_795_809_600;

describe("InProcessForecastModel", () => {
  it("takes one day of the call's interval as its season", async () => {
    // Hourly steps: a season of 24. Four days of an exact daily sawtooth are continued exactly.
    const target = Array.from({ length: 96 }, (_, i) => i % 24);
    const [out] = await new InProcessForecastModel().forecast([{ start: T, target }], {
      quantiles: [0.5],
      numSamples: 1,
      intervalSeconds: 3_600,
      predictionLength: 3,
    });
    expect(out?.mean.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 1, 2]);
  });

  it("forecasts its own prediction length when the call does not say, and never fails on data", async () => {
    const outputs = await new InProcessForecastModel({ predictionLength: 5 }).forecast(
      [
        { start: T, target: [] },
        { start: T, target: [Number.NaN, 1e300, -3] },
      ],
      { quantiles: [0.1, 0.9], numSamples: 1, intervalSeconds: 300 },
    );
    expect(outputs).toHaveLength(2);
    for (const out of outputs) {
      expect(out.mean).toHaveLength(5);
      expect(Object.values(out.quantiles).flat().every(Number.isFinite)).toBe(true);
    }
  });
});
