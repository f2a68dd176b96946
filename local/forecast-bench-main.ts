import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { runForecastBench } from "./forecast-bench.js";

/**
 * Entry point of `npm run bench:forecast` (see forecast-bench.ts). Options after `--`, e.g.
 * `npm run bench:forecast -- --method ets --series 2000`.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function wholeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got "${value}".`);
    return n;
  };
}

const program = new Command()
  .name("bench:forecast")
  .description(
    "Speed of a forecasting method against statsforecast AutoETS(season_length=24), n_jobs = cores, on series cut from the Bitbrains and Azure traces",
  )
  .option("--method <name>", "method under test (local/forecast-methods.ts); default shaper")
  .option("--series <n>", "number of series", wholeNumber("--series"), 10_000)
  .option("--length <n>", "hourly points per series", wholeNumber("--length"), 2_000)
  .option("--horizon <n>", "steps forecast", wholeNumber("--horizon"), 48)
  .option("--jobs <n>", "cores: worker threads and statsforecast n_jobs", wholeNumber("--jobs"), 2)
  .option("--batch <n>", "series per fit call in a worker", wholeNumber("--batch"), 500)
  .option("--data <dir>", "directory of the shared traces", path.resolve(root, "../shared/data"))
  .option("--skip-peer", "measure the method only", false)
  .option("--json <file>", "where to write the results", "out/bench-forecast.json")
  .action(async (opts) => {
    await runForecastBench({
      method: opts.method,
      series: opts.series,
      length: opts.length,
      horizon: opts.horizon,
      jobs: opts.jobs,
      batch: opts.batch,
      dataDir: opts.data,
      skipPeer: opts.skipPeer,
      jsonPath: opts.json,
      print: (line) => console.log(line),
      progress: (line) => console.error(line),
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`bench:forecast: ${(error as Error).stack}`);
  process.exitCode = 1;
}
