import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { parseConfig, type ShaperConfig } from "../layers/domain/config.js";
import { isShaperError } from "../layers/domain/errors.js";
import { parseNameList, parsePeerHorizons, parseStepList } from "./backtest-options.js";

/** The default config, shipped with the repository. */
const DEFAULT_CONFIG = new URL("../config/shaper.config.json", import.meta.url);

function loadConfig(path: string | undefined): { config: ShaperConfig; source: string } {
  const source = path ?? "config/shaper.config.json (default)";
  let raw: string;
  try {
    raw = readFileSync(path ?? DEFAULT_CONFIG, "utf8");
  } catch (error) {
    throw new InvalidArgumentError(
      `Cannot read the config file ${source}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new InvalidArgumentError(
      `The config file ${source} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return { config: parseConfig(json, source), source };
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}".`);
    return n;
  };
}

function epochOf(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms))
    throw new InvalidArgumentError(
      `--start must be an ISO-8601 time such as 2026-11-23T11:00:00Z, got "${value}".`,
    );
  return Math.floor(ms / 1000);
}

const program = new Command()
  .name("shaper")
  .description(
    "Predictive resource shaping: forecast demand, scale ahead, shape requests instead of denying them.",
  )
  .showHelpAfterError();

program
  .command("start", { isDefault: true })
  .description(
    "Run the whole pipeline locally (embedded stores, local model server, simulated ECS) on a built-in workload",
  )
  .option("--config <file>", "config file (pools, tiers, users)")
  .option("--cycles <n>", "intervals to simulate", positiveInt("--cycles"), 24)
  .option(
    "--users <n>",
    "tenants in the workload (config users plus generated ones)",
    positiveInt("--users"),
    24,
  )
  .option("--seed <n>", "seed of the workload generator", positiveInt("--seed"), 42)
  .option("--start <iso>", "simulated start time", epochOf, epochOf("2026-11-23T09:00:00Z"))
  .option(
    "--history-days <n>",
    "days of usage collected before the start",
    positiveInt("--history-days"),
    3,
  )
  .option(
    "--intensity <x>",
    "multiplies every user's demand (1.5 pushes the cpu pool to its maxTasks on the morning ramp, so shaping shows)",
    Number,
    1.5,
  )
  .option("--port <n>", "port of the admission API (0 = any free port)", positiveInt("--port"), 0)
  .option("--serve", "keep the admission API running after the run", false)
  .option(
    "--data-dir <dir>",
    "keep decisions, ledgers and usage on disk in this folder (append-only logs, replayed at start); default: in memory",
  )
  .option(
    "--report <file>",
    "where to write the HTML report comparing the five policies",
    "out/report.html",
  )
  .option(
    "--replay-days <n>",
    "days the report replays through all five policies (0 = no report)",
    (value: string) => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError(`--replay-days must be a number ≥ 0, got "${value}".`);
      return n;
    },
    1,
  )
  .option("--trace <path>", "replay this trace for the report instead of the built-in workload")
  .option(
    "--format <fmt>",
    "layout of --trace: alibaba-dlrm, google-2011, alibaba-gpu, alibaba-genai",
  )
  .option("--verbose", "log what the handlers log", false)
  .action(async (opts) => {
    if ((opts.trace === undefined) !== (opts.format === undefined)) {
      throw new InvalidArgumentError("--trace and --format go together: give both or neither.");
    }
    if (!opts.verbose) {
      process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
      process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
    }
    const { config, source } = loadConfig(opts.config);
    const { runStart } = await import("./start-command.js");
    await runStart({
      config,
      configSource: source,
      cycles: opts.cycles,
      users: opts.users,
      seed: opts.seed,
      startTime: opts.start,
      backfillDays: opts.historyDays,
      port: opts.port,
      serve: opts.serve,
      intensity: opts.intensity,
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
      report: {
        path: opts.report,
        days: opts.replayDays,
        ...(opts.trace === undefined ? {} : { trace: opts.trace, format: opts.format }),
      },
      print: (line) => console.log(line),
    });
  });

const configCommand = program.command("config").description("Check and publish configs");
configCommand
  .command("validate")
  .argument("<file>", "config file")
  .description("Check a config file against the schema and print it with every default filled in")
  .action((file: string) => {
    const { config } = loadConfig(file);
    console.log(JSON.stringify(config, null, 2));
  });

configCommand
  .command("push")
  .description(
    "Validate a config and store it in a deployed stack's registry table (functions pick it up within a minute)",
  )
  .requiredOption("--file <file>", "config file")
  .requiredOption("--table <name>", "the registry table (stack output RegistryTableName)")
  .action(async (opts: { file: string; table: string }) => {
    const { config } = loadConfig(opts.file);
    const { createAwsClients } = await import("../layers/adapters/aws-clients.js");
    const { systemClock } = await import("../layers/adapters/clock.js");
    const { DynamoDbConfigSource } = await import(
      "../layers/adapters/dynamodb/dynamodb-config-source.js"
    );
    const source = new DynamoDbConfigSource(
      createAwsClients().documentClient(),
      opts.table,
      systemClock,
    );
    await source.save(config, Math.floor(systemClock.nowSeconds()));
    console.log(
      `Stored the config (${Object.keys(config.pools).length} pools, ${Object.keys(config.tiers).length} tiers) in ${opts.table}.`,
    );
  });

program
  .command("users")
  .description("Manage the user registry of a deployed stack")
  .command("import")
  .description(
    "Register users from a JSON file (an array of { userId, tier, pools?, guaranteedMinimum?, cap? })",
  )
  .requiredOption("--file <file>", "JSON file with the users")
  .requiredOption("--table <name>", "the registry table (stack output RegistryTableName)")
  .action(async (opts: { file: string; table: string }) => {
    const { z } = await import("zod");
    const { UserSchema, toFieldIssues } = await import("../layers/domain/config.js");
    const { createAwsClients } = await import("../layers/adapters/aws-clients.js");
    const { systemClock } = await import("../layers/adapters/clock.js");
    const { DynamoDbConfigSource } = await import(
      "../layers/adapters/dynamodb/dynamodb-config-source.js"
    );
    const { DynamoDbUserRegistry } = await import(
      "../layers/adapters/dynamodb/dynamodb-user-registry.js"
    );
    const parsed = z.array(UserSchema).safeParse(JSON.parse(readFileSync(opts.file, "utf8")));
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error).map((i) => `  - ${i.field}: ${i.message}`);
      throw new InvalidArgumentError(`${opts.file} has invalid users:\n${issues.join("\n")}`);
    }
    const client = createAwsClients().documentClient();
    const config = await new DynamoDbConfigSource(client, opts.table, systemClock).load();
    const unknown = parsed.data.filter((u) => !config.tiers[u.tier]);
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `${unknown.length} users name a tier the deployed config lacks (first: ${unknown[0]?.userId} → "${unknown[0]?.tier}"). Tiers: ${Object.keys(config.tiers).join(", ")}.`,
      );
    }
    await new DynamoDbUserRegistry(client, opts.table, config.shardCount).putUsers(parsed.data);
    console.log(
      `Registered ${parsed.data.length} users in ${opts.table} (${config.shardCount} shards).`,
    );
  });

program
  .command("bench")
  .description(
    "Measure forecast speed against statsforecast AutoETS, then the hot paths (fair share, plan, forecast, model server, admission, local cycle); print tables, write JSON",
  )
  .option("--json <file>", "where to write the results", "out/bench.json")
  .option(
    "--forecast-series <n>",
    "series in the forecast speed section (shaper vs statsforecast AutoETS, issue 3)",
    positiveInt("--forecast-series"),
    10_000,
  )
  .option("--skip-forecast", "skip the forecast speed section", false)
  .option("--forecast-only", "run only the forecast speed section", false)
  .option("--forecast-skip-peer", "forecast speed section: time shaper only", false)
  .action(
    async (opts: {
      json: string;
      forecastSeries: number;
      skipForecast: boolean;
      forecastOnly: boolean;
      forecastSkipPeer: boolean;
    }) => {
      process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
      process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
      if (opts.skipForecast && opts.forecastOnly)
        throw new InvalidArgumentError("--skip-forecast and --forecast-only exclude each other.");
      if (opts.forecastSeries < 1)
        throw new InvalidArgumentError("--forecast-series must be at least 1.");
      const { runBench } = await import("./bench-command.js");
      await runBench({
        configFile: DEFAULT_CONFIG,
        jsonPath: opts.json,
        print: (line) => console.log(line),
        hotPaths: !opts.forecastOnly,
        forecast: opts.skipForecast
          ? false
          : { series: opts.forecastSeries, skipPeer: opts.forecastSkipPeer },
      });
    },
  );

program
  .command("bench-load")
  .description(
    "Load-test the local admission API (HTTP, verified tokens, embedded store) with an open-loop generator in a child process; print and write JSON",
  )
  .option("--rate <n>", "target requests per second", positiveInt("--rate"), 1_000)
  .option("--duration <s>", "measured seconds", positiveInt("--duration"), 60)
  .option("--warmup <s>", "seconds sent before the measured window", positiveInt("--warmup"), 5)
  .option("--users <n>", "tenants in the mix", positiveInt("--users"), 200)
  .option("--seed <n>", "seed of the request mix", positiveInt("--seed"), 1)
  .option("--data-dir <dir>", "use the embedded on-disk store in this folder (default: in memory)")
  .option("--config <file>", "config file (pools, tiers, users)")
  .option("--json <file>", "where to write the results", "out/bench-load.json")
  .action(
    async (opts: {
      rate: number;
      duration: number;
      warmup: number;
      users: number;
      seed: number;
      dataDir?: string;
      config?: string;
      json: string;
    }) => {
      process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
      process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
      if (opts.rate < 1 || opts.duration < 1)
        throw new InvalidArgumentError("--rate and --duration must be at least 1.");
      const { config } = loadConfig(opts.config);
      const { runBenchLoad } = await import("./bench-load-command.js");
      await runBenchLoad({
        config,
        ratePerSecond: opts.rate,
        durationSeconds: opts.duration,
        warmupSeconds: opts.warmup,
        users: opts.users,
        seed: opts.seed,
        ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
        jsonPath: opts.json,
        print: (line) => console.log(line),
      });
    },
  );

program
  .command("backtest")
  .description(
    "Backtest forecasting methods on a real trace by rolling origin (wql, mase, coverage80, width80); optionally against statsforecast",
  )
  .requiredOption(
    "--format <fmt>",
    "trace layout: azure-tenant, bitbrains, nab, alibaba-dlrm, google-2011",
  )
  .requiredOption("--history <path>", "trace file, or a directory of .csv/.csv.gz files")
  .option("--future <path>", "continuation of the history: fit on the history, score the future")
  .option("--horizon <n>", "steps forecast at each origin", positiveInt("--horizon"), 12)
  .option(
    "--by-horizon <list>",
    "horizons also reported under byHorizon",
    parseStepList("--by-horizon"),
    [3, 12, 288],
  )
  .option(
    "--methods <list>",
    "methods to backtest, e.g. shaper,seasonal-naive (the default; see local/forecast-methods.ts)",
    parseNameList,
  )
  .option("--peers <name>", "also run the peers on the same windows: statsforecast")
  .option("--peer-jobs <n>", "worker processes for the peers", positiveInt("--peer-jobs"), 2)
  .option(
    "--peer-horizons <which>",
    "score the peers at the main horizon only (main) or at every --by-horizon too (all; 3 refits more per horizon)",
    parsePeerHorizons,
    "main",
  )
  .option("--max-series <n>", "only the first N series (by id)", positiveInt("--max-series"))
  .option("--seed <n>", "seed passed to the methods", positiveInt("--seed"), 1)
  .option("--json <file>", "write the results as JSON")
  .action(async (opts) => {
    const { runBacktestCommand } = await import("./backtest-command.js");
    await runBacktestCommand({
      format: opts.format,
      history: opts.history,
      future: opts.future,
      horizon: opts.horizon,
      byHorizon: opts.byHorizon,
      methods: opts.methods,
      peers: opts.peers,
      peerJobs: opts.peerJobs,
      peerHorizons: opts.peerHorizons,
      maxSeries: opts.maxSeries,
      seed: opts.seed,
      jsonPath: opts.json,
      print: (line) => console.log(line),
      progress: (line) => console.error(line),
    });
  });

program
  .command("replay")
  .description(
    "Replay a real trace through reactive, patent, quota, shaper (its real pipeline on a simulated clock) and oracle; print the comparison, write JSON and an HTML report",
  )
  .requiredOption(
    "--format <fmt>",
    "trace layout: alibaba-dlrm, google-2011, alibaba-gpu, alibaba-genai",
  )
  .requiredOption("--trace <path>", "trace file, or a directory of .csv/.csv.gz files")
  .option(
    "--policies <list>",
    "comma-separated policies (default: all five)",
    (value: string) => value,
  )
  .option("--config <file>", "config whose tiers and forecast settings shaper runs with")
  .option("--days <n>", "replay only the first N days of the trace", (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`--days must be a number of days > 0, got "${value}".`);
    return n;
  })
  .option("--json <file>", "write the results as JSON")
  .option("--report <file>", "write the HTML report (one self-contained file)")
  .action(async (opts) => {
    const { parsePolicies, REPLAY_POLICIES, runReplay } = await import("./replay-command.js");
    const { config } = loadConfig(opts.config);
    await runReplay({
      format: opts.format,
      trace: opts.trace,
      policies: opts.policies === undefined ? [...REPLAY_POLICIES] : parsePolicies(opts.policies),
      config,
      days: opts.days,
      jsonPath: opts.json,
      reportPath: opts.report,
      progressBar: process.stderr.isTTY === true,
      progressLog: (line) => console.error(line),
      print: (line) => console.log(line),
    });
  });

program
  .command("token")
  .description(
    "Issue a token for the local admission API (signed with the local key in .shaper/ or SHAPER_LOCAL_SIGNING_KEY)",
  )
  .argument("<userId>", "the tenant the token acts for")
  .option("--ttl <seconds>", "lifetime", positiveInt("--ttl"), 3_600)
  .action(async (userId: string, opts: { ttl: number }) => {
    const { issueToken } = await import("../layers/adapters/auth/jwt-tokens.js");
    const { systemClock } = await import("../layers/adapters/clock.js");
    const { localTokenSettings } = await import("./local-signing-key.js");
    console.log(await issueToken(localTokenSettings(), { userId }, opts.ttl, systemClock));
  });

program
  .command("explain")
  .description(
    "Print a decision and why it was taken (the forecast, rule and constraint behind it), from the embedded store on disk or a deployed stack's admission table",
  )
  .argument("<requestId>", "the requestId the client sent")
  .option("--data-dir <dir>", "the embedded store of `shaper start --data-dir <dir>`")
  .option("--aws", "read from a deployed stack (with --table)")
  .option("--table <name>", "the admission table (stack output AdmissionTableName)")
  .action(async (requestId: string, opts: { dataDir?: string; aws?: boolean; table?: string }) => {
    const { explainRequest } = await import("./explain-command.js");
    let lines: string[];
    if (opts.aws) {
      if (!opts.table) {
        throw new InvalidArgumentError(
          "--aws needs --table <admission table> (the stack output AdmissionTableName).",
        );
      }
      const { createAwsClients } = await import("../layers/adapters/aws-clients.js");
      const { DynamoDbAdmissionStore } = await import(
        "../layers/adapters/dynamodb/dynamodb-admission-store.js"
      );
      // Reading a decision does not touch the request-log keys the shard count shapes.
      const store = new DynamoDbAdmissionStore(createAwsClients().documentClient(), opts.table, {
        shardCount: 1,
      });
      lines = await explainRequest(store, requestId, `table ${opts.table}`);
    } else if (opts.dataDir) {
      const { FileAdmissionStore } = await import(
        "../layers/adapters/local/file-admission-store.js"
      );
      const store = FileAdmissionStore.open(opts.dataDir);
      try {
        lines = await explainRequest(store, requestId, `the embedded store in ${opts.dataDir}`);
      } finally {
        await store.close();
      }
    } else {
      throw new InvalidArgumentError(
        "Say where the decision is: --data-dir <dir> (a local run started with --data-dir) or --aws --table <admission table>.",
      );
    }
    for (const line of lines) console.log(line);
  });

const policiesCommand = program
  .command("policies")
  .description("Read and revert the tier policies the feedback loop adapts (deployed stack)");
policiesCommand
  .command("list")
  .description(
    "Print the policies in force and the latest logged changes, newest first, with their causes",
  )
  .requiredOption("--table <name>", "the registry table (stack output RegistryTableName)")
  .option("--limit <n>", "changes to print", positiveInt("--limit"), 20)
  .action(async (opts: { table: string; limit: number }) => {
    const store = await policyStore(opts.table);
    const current = await store.getPolicies();
    if (!current) {
      console.log("No policies written yet: the functions use the config's tier values.");
      return;
    }
    console.log(
      `Policies version ${current.version} (updated ${new Date(current.updatedAt * 1000).toISOString()})`,
    );
    for (const [tier, p] of Object.entries(current.tiers)) {
      console.log(
        `  ${tier.padEnd(10)} quantile ${p.forecastQuantile}  headroom ${p.headroomFraction}`,
      );
    }
    const changes = await store.listChanges(opts.limit);
    console.log(changes.length === 0 ? "No changes logged." : "Changes (newest first):");
    for (const c of changes) {
      console.log(
        `  ${c.changeId}  ${new Date(c.at * 1000).toISOString()}  ${c.tier}: q ${c.before.forecastQuantile} → ${c.after.forecastQuantile}, headroom ${c.before.headroomFraction} → ${c.after.headroomFraction} — ${c.cause}`,
      );
    }
  });
policiesCommand
  .command("revert")
  .description(
    "Undo one logged change (its tier's knobs go back to before it; logged as a new change)",
  )
  .argument("<changeId>", "the change to undo (see `shaper policies list`)")
  .requiredOption("--table <name>", "the registry table (stack output RegistryTableName)")
  .action(async (changeId: string, opts: { table: string }) => {
    const { revertPolicy } = await import("../layers/use-cases/policies/revert-policy-change.js");
    const { systemClock } = await import("../layers/adapters/clock.js");
    const { next, change } = await revertPolicy(
      { policies: await policyStore(opts.table), clock: systemClock },
      changeId,
    );
    console.log(
      `Reverted ${changeId}: ${change.tier} back to quantile ${change.after.forecastQuantile}, headroom ${change.after.headroomFraction} (policies version ${next.version}, change ${change.changeId}). The functions use it from their next run.`,
    );
  });

async function policyStore(table: string) {
  const { createAwsClients } = await import("../layers/adapters/aws-clients.js");
  const { DynamoDbPolicyStore } = await import(
    "../layers/adapters/dynamodb/dynamodb-policy-store.js"
  );
  return new DynamoDbPolicyStore(createAwsClients().documentClient(), table);
}

program
  .command("model-server")
  .description("Run the forecasting model server (SageMaker container contract) on this machine")
  .option("--port <n>", "port", positiveInt("--port"), 8080)
  .option(
    "--prediction-length <n>",
    "steps forecast per series (DeepAR's prediction_length)",
    positiveInt("--prediction-length"),
    12,
  )
  .option("--season-length <n>", "steps per season", positiveInt("--season-length"), 288)
  .action(async (opts) => {
    const { startModelServer } = await import("../model-server/server.js");
    const server = await startModelServer({
      port: opts.port,
      host: "127.0.0.1",
      predictionLength: opts.predictionLength,
      seasonLength: opts.seasonLength,
    });
    await server.ready;
    console.log(
      `Model server on ${server.url} (GET /ping, POST /invocations, POST /endpoints/{name}/invocations). Ctrl-C to stop.`,
    );
    await new Promise<void>((resolve) => process.once("SIGINT", resolve));
    await server.close();
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message =
    isShaperError(error) || error instanceof InvalidArgumentError
      ? error.message
      : (error as Error).stack;
  console.error(`shaper: ${message}`);
  process.exitCode = 1;
}
