#!/usr/bin/env node
// Entry point of the `shaper` CLI. The CLI is TypeScript run through tsx's loader so a checkout
// works right after `npm ci`, with no build step.
import { spawn } from "node:child_process";
import { register } from "tsx/esm/api";

// The batch commands allocate many short-lived objects (a month-long replay builds every user's
// series at every simulated interval). V8's default young generation (16 MiB semi-spaces) makes
// them spend about a fifth of their time in scavenges; 64 MiB semi-spaces cut the CPU time of a
// 2-day alibaba-dlrm replay by 14 % (docs/benchmarks.md). The size can only be set when the
// process starts, so these commands run themselves again with it, unless it is already given.
const SEMI_SPACE_FLAG = "--max-semi-space-size";
const BATCH_COMMANDS = new Set(["replay", "backtest"]);
const alreadySet = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((arg) =>
  arg.includes(SEMI_SPACE_FLAG),
);

if (BATCH_COMMANDS.has(process.argv[2] ?? "") && !alreadySet) {
  const child = spawn(
    process.execPath,
    [`${SEMI_SPACE_FLAG}=64`, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: "inherit" },
  );
  // A batch command has no graceful shutdown: a signal to this process ends the run too.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
} else {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  register();
  await import("../local/cli.ts");
}
