import { describe, expect, it } from "vitest";
import { InMemoryForecastStore } from "../../../../layers/adapters/local/in-memory-forecast-store.js";
import type { Forecast } from "../../../../layers/domain/forecast.js";

function forecast(userId: string | undefined, issuedAt = 1_795_000_200): Forecast {
  return {
    pool: "cpu",
    ...(userId === undefined ? {} : { userId, tier: "standard" }),
    issuedAt,
    start: issuedAt - (issuedAt % 300),
    intervalSeconds: 300,
    horizon: 2,
    byResource: { vcpu: { mean: [1, 1.5], quantiles: { "0.1": [0, 1], "0.9": [3, 4] } } },
    model: "shaper",
    modelVersion: "v1",
  };
}

describe("InMemoryForecastStore", () => {
  it("keeps its own copy: changing the stored object afterwards changes nothing", async () => {
    const store = new InMemoryForecastStore();
    const user = forecast("u1");
    const pool = forecast(undefined);
    await store.putForecasts([user, pool]);
    (user.byResource.vcpu?.mean as number[])[0] = 99;
    (pool.byResource.vcpu?.quantiles["0.9"] as number[])[1] = 99;
    expect(await store.getUserForecast("cpu", "u1")).toEqual(forecast("u1"));
    expect(await store.getPoolForecast("cpu")).toEqual(forecast(undefined));
  });

  it("hands out frozen forecasts: a reader cannot change what others read", async () => {
    const store = new InMemoryForecastStore();
    await store.putForecasts([forecast("u1"), forecast(undefined)]);
    const read = await store.getUserForecast("cpu", "u1");
    expect(() => {
      (read?.byResource.vcpu?.mean as number[])[0] = 99;
    }).toThrow(TypeError);
    expect(() => {
      (read as { pool: string }).pool = "gpu";
    }).toThrow(TypeError);
    for await (const page of store.listUserForecasts("cpu")) {
      expect(page.every((f) => Object.isFrozen(f) && Object.isFrozen(f.byResource))).toBe(true);
    }
    expect(Object.isFrozen((await store.getPoolForecast("cpu"))?.byResource.vcpu?.quantiles)).toBe(
      true,
    );
    expect(await store.getUserForecast("cpu", "u1")).toEqual(forecast("u1"));
  });
});
