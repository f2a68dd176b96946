import { describe, expect, it } from "vitest";
import { InProcessForecastModel } from "../../../../layers/adapters/local/in-process-forecast-model.js";
import type { ForecastOutput } from "../../../../layers/ports/forecast-model.js";
import { syntheticSeries } from "../../../fixtures/synthetic-series.js";

const STEP = 3_600;
const T = 1_795_809_600;
const OPTIONS = { quantiles: [0.1, 0.5, 0.9], numSamples: 1, intervalSeconds: STEP };
const series = [0, 1].map((i) =>
  syntheticSeries({ length: 12 * 24, daySteps: 24, noise: () => 2, seed: 40 + i }),
);

/** Calls the model every step from day 8 on, giving back the states it returned. */
async function run(model: InProcessForecastModel, keepObjects: boolean): Promise<string[]> {
  let states: unknown[] = [undefined, undefined];
  const answers: string[] = [];
  for (let end = 8 * 24; end < 8 * 24 + 10; end++) {
    const outputs: ForecastOutput[] = await model.forecast(
      series.map((s, i) => ({
        start: T + (end - 7 * 24) * STEP,
        target: s.slice(end - 7 * 24, end),
        ...(states[i] === undefined ? {} : { state: states[i] }),
      })),
      OPTIONS,
    );
    answers.push(JSON.stringify(outputs));
    states = outputs.map((o) => (keepObjects ? o.state : JSON.parse(JSON.stringify(o.state))));
  }
  return answers;
}

describe("InProcessForecastModel with keepWarm", () => {
  it("answers exactly as a model that restores every state, call after call", async () => {
    const warm = await run(new InProcessForecastModel({ keepWarm: true }), true);
    const cold = await run(new InProcessForecastModel(), false);
    expect(warm).toHaveLength(10);
    expect(warm).toEqual(cold);
    // The states were resumed (not refitted): each answer after the first holds a state.
    expect(warm.every((answer) => answer.includes('"stateVersion":1'))).toBe(true);
  });
});
