import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { toEpochSeconds } from "../../layers/domain/time.js";
import { metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { collectShard } from "../../layers/use-cases/collect-usage.js";
import { collectRuntime, collectShardDeps, emitReadMetrics, resetStats } from "./deps.js";

/** `{ time, shard }` from the fan-out; other keys (EventBridge envelope, map context) are ignored. */
const CollectShardEvent = z.object({
  time: z.iso.datetime({ offset: true }),
  shard: z.number().int().nonnegative(),
});

/** Collects one shard's usage for the window before `time` (see `collectShard`). */
export const handler = taskHandler({
  name: "collect-shard",
  schema: CollectShardEvent,
  run: async (event) => {
    const rt = collectRuntime();
    resetStats(rt.stats);
    const result = await collectShard(await collectShardDeps(rt), {
      time: toEpochSeconds(new Date(event.time)),
      shard: event.shard,
    });
    metrics.addMetric("UsageRecords", MetricUnit.Count, result.records);
    metrics.addMetric("MissingRecords", MetricUnit.Count, result.missingRecords);
    metrics.addMetric("RequestsFolded", MetricUnit.Count, result.requestsFolded);
    emitReadMetrics(rt.stats);
    return { ...result, reads: { ...rt.stats } };
  },
});
