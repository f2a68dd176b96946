import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { toEpochSeconds } from "../../layers/domain/time.js";
import { metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { collectPools } from "../../layers/use-cases/collect-usage.js";
import { collectRuntime, emitReadMetrics, resetStats } from "./deps.js";

/** `{ time }`: an EventBridge scheduled event carries it (and more keys, ignored). */
const CollectPoolsEvent = z.object({ time: z.iso.datetime({ offset: true }) });

/** Collects every pool's ECS load for the window before `time` (see `collectPools`). */
export const handler = taskHandler({
  name: "collect-pools",
  schema: CollectPoolsEvent,
  run: async (event) => {
    const rt = collectRuntime();
    resetStats(rt.stats);
    const result = await collectPools(
      {
        configSource: rt.runtime.configSource,
        usageSource: rt.usageSource,
        usageStore: rt.usageStore,
      },
      { time: toEpochSeconds(new Date(event.time)) },
    );
    metrics.addMetric("PoolLoadRecords", MetricUnit.Count, result.records);
    metrics.addMetric("MissingRecords", MetricUnit.Count, result.missingRecords);
    emitReadMetrics(rt.stats);
    return { ...result, reads: { ...rt.stats } };
  },
});
