import { closeSync, openSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { z } from "zod";
import { BACKTEST_QUANTILES } from "../layers/domain/forecasting/backtest/backtest-scorer.js";
import type { SeriesInput } from "../layers/domain/forecasting/methods/method.js";
import { forecastMethods } from "./forecast-methods.js";

/**
 * One worker process of the forecast speed benchmark (forecast-bench.ts starts `jobs` of them):
 * `node --import tsx forecast-bench-worker.ts SERIES.f64 --method shaper --length 2000 …`.
 * Says `{"kind":"ready"}` once loaded; then for each stdin line `{"from":a,"to":b}` reads series
 * a…b−1 from the file, fits the method on them, forecasts each `horizon` steps with quantiles
 * 0.1…0.9 and answers `{"kind":"done",…}` with its counts; on `end` answers its peak RSS and the
 * CPU seconds it spent since "ready", and exits.
 */

const ArgsSchema = z.object({
  file: z.string().min(1),
  method: z.string().min(1),
  length: z.coerce.number().int().min(1),
  horizon: z.coerce.number().int().min(1),
  season: z.coerce.number().int().min(1),
  stepSeconds: z.coerce.number().int().min(1),
});

const TaskSchema = z.object({ from: z.number().int().min(0), to: z.number().int().min(0) });

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    method: { type: "string" },
    length: { type: "string" },
    horizon: { type: "string" },
    season: { type: "string" },
    "step-seconds": { type: "string" },
  },
});
const args = ArgsSchema.parse({
  file: positionals[0],
  method: flags.method,
  length: flags.length,
  horizon: flags.horizon,
  season: flags.season,
  stepSeconds: flags["step-seconds"],
});
forecastMethods([args.method]); // unknown names fail here, before "ready"
const fd = openSync(args.file, "r");

function answer(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Series from…to−1 of the file (float64, `length` values each). */
function readSeries(from: number, to: number): SeriesInput[] {
  const values = new Float64Array((to - from) * args.length);
  const bytes = new Uint8Array(values.buffer);
  const read = readSync(fd, bytes, 0, bytes.length, from * args.length * 8);
  if (read !== bytes.length) {
    throw new Error(`${args.file} ends before series ${to - 1} (read ${read} of ${bytes.length}).`);
  }
  return Array.from({ length: to - from }, (_, k) => ({
    id: `s${from + k}`,
    values: values.subarray(k * args.length, (k + 1) * args.length),
    startSeconds: 0,
    stepSeconds: args.stepSeconds,
  }));
}

async function work(from: number, to: number): Promise<unknown> {
  const series = readSeries(from, to);
  const [method] = forecastMethods([args.method]);
  if (!method) throw new Error(`No method ${args.method}.`);
  const t0 = performance.now();
  const fitted = await method.fit(series, {
    seasonLength: args.season,
    weeklySeasonLength: 7 * args.season,
    horizon: args.horizon,
    quantiles: BACKTEST_QUANTILES,
    seed: 1,
  });
  const t1 = performance.now();
  let nonFinite = 0;
  let misshapen = 0;
  let nonMonotone = 0;
  for (let i = 0; i < series.length; i++) {
    const forecast = fitted.forSeries(i).forecast(args.horizon);
    const rows = forecast.quantiles;
    if (
      rows.length !== BACKTEST_QUANTILES.length ||
      rows.some((r) => r.length !== args.horizon) ||
      forecast.mean.length !== args.horizon
    ) {
      misshapen++;
      continue;
    }
    if (![forecast.mean, ...rows].every((r) => r.every(Number.isFinite))) nonFinite++;
    let monotone = true;
    for (let q = 1; q < rows.length && monotone; q++) {
      const lower = rows[q - 1] as Float64Array;
      const upper = rows[q] as Float64Array;
      for (let h = 0; h < args.horizon; h++) {
        if ((upper[h] as number) < (lower[h] as number)) {
          monotone = false;
          break;
        }
      }
    }
    if (!monotone) nonMonotone++;
  }
  const t2 = performance.now();
  return {
    kind: "done",
    series: series.length,
    fitSeconds: (t1 - t0) / 1000,
    forecastSeconds: (t2 - t1) / 1000,
    nonFinite,
    misshapen,
    nonMonotone,
  };
}

const lines = createInterface({ input: process.stdin });
const cpuAtReady = process.cpuUsage();
answer({ kind: "ready" });
try {
  for await (const line of lines) {
    if (line.trim() === "end") break;
    const task = TaskSchema.parse(JSON.parse(line));
    answer(await work(task.from, task.to));
  }
  const cpu = process.cpuUsage(cpuAtReady);
  answer({
    kind: "exit",
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  });
} catch (error) {
  answer({ kind: "error", message: (error as Error).stack ?? String(error) });
  process.exitCode = 1;
} finally {
  closeSync(fd);
  lines.close();
}
