import { parentPort, workerData } from "node:worker_threads";
import { z } from "zod";
import { BACKTEST_QUANTILES } from "../layers/domain/forecasting/backtest/backtest-scorer.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";
import { forecastMethods } from "./forecast-methods.js";

/**
 * One worker thread of `npm run bench:forecast`: fits the method under test on its share of the
 * benchmark series (in batches) and forecasts each one `horizon` steps with quantiles 0.1…0.9.
 * Started by forecast-bench.ts; says "ready" once loaded, works on "go", answers with its counts.
 */

const WorkerDataSchema = z.object({
  method: z.string(),
  data: z.instanceof(SharedArrayBuffer),
  length: z.number().int().min(1),
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  batch: z.number().int().min(1),
  seasonLength: z.number().int().min(1),
  horizon: z.number().int().min(1),
  stepSeconds: z.number().int().min(1),
});

export interface WorkerResult {
  readonly series: number;
  readonly fitSeconds: number;
  readonly forecastSeconds: number;
  /** Forecasts holding a NaN or infinite value (must be 0). */
  readonly nonFinite: number;
}

const port = parentPort;
if (!port) throw new Error("forecast-bench-worker.ts runs as a worker thread only.");
const input = WorkerDataSchema.parse(workerData);
const values = new Float64Array(input.data);

port.once("message", () => {
  void work().then(
    (result) => port.postMessage({ kind: "done", result }),
    (error: unknown) => port.postMessage({ kind: "error", message: (error as Error).stack }),
  );
});
port.postMessage({ kind: "ready" });

async function work(): Promise<WorkerResult> {
  let fitSeconds = 0;
  let forecastSeconds = 0;
  let nonFinite = 0;
  let done = 0;
  for (let start = input.from; start < input.to; start += input.batch) {
    const end = Math.min(start + input.batch, input.to);
    const series: SeriesInput[] = [];
    for (let i = start; i < end; i++) {
      series.push({
        id: `s${i}`,
        values: values.subarray(i * input.length, (i + 1) * input.length),
        startSeconds: 0,
        stepSeconds: input.stepSeconds,
      });
    }
    const [method] = forecastMethods([input.method]);
    if (!method) throw new Error(`No method ${input.method}.`);
    const t0 = performance.now();
    const fitted = await method.fit(series, {
      seasonLength: input.seasonLength,
      weeklySeasonLength: 7 * input.seasonLength,
      horizon: input.horizon,
      quantiles: BACKTEST_QUANTILES,
      seed: 1,
    });
    const t1 = performance.now();
    for (let i = 0; i < series.length; i++) {
      const forecast = fitted.forSeries(i).forecast(input.horizon);
      for (const row of forecast.quantiles) {
        if (!row.every(Number.isFinite)) {
          nonFinite++;
          break;
        }
      }
    }
    const t2 = performance.now();
    fitSeconds += (t1 - t0) / 1000;
    forecastSeconds += (t2 - t1) / 1000;
    done += series.length;
    port?.postMessage({ kind: "progress", done });
  }
  return { series: done, fitSeconds, forecastSeconds, nonFinite };
}
