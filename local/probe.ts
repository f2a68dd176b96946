import { readFileSync } from "node:fs";
import { parseConfig } from "../layers/domain/config.js";

process.env.POWERTOOLS_METRICS_DISABLED = "true";
process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
const { LocalSystem } = await import("./local-system.js");
const { withGeneratedUsers } = await import("./start-command.js");
const config = withGeneratedUsers(
  parseConfig(JSON.parse(readFileSync("config/shaper.config.json", "utf8"))),
  24,
);
const s = await LocalSystem.start({
  config,
  seed: 42,
  startTime: Date.parse("2026-11-23T09:00:00Z") / 1000,
  apiPort: 0,
});
await s.backfill(3);
const start = s.clock.nowSeconds();
s.clock.set(start - 600 + 5);
await s.runPipeline();
for (let c = 0; c < 6; c++) {
  const t = start + c * 300;
  s.clock.set(t + 5);
  await s.runPipeline();
  const d = await s.sendRequests(t);
  for (const r of d.filter((x) => x.decision.outcome === "reject"))
    console.log(
      new Date(r.decidedAt * 1000).toISOString(),
      r.request.userId,
      r.request.pool,
      JSON.stringify(r.request.amounts),
      r.decision.reason,
      r.explanation.join(" | "),
    );
  s.clock.set(t + 300);
}
console.log(s.cluster.listActions("cpu").slice(0, 6));
await s.close();
