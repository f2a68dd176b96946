import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { toEpochSeconds } from "../../layers/domain/time.js";
import { logger, metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { forecastUsers } from "../../layers/use-cases/forecast-users.js";
import { forecastRuntime, forecastUsersDeps } from "./deps.js";

/** `{ time, shard }` from the fan-out; other keys (EventBridge envelope, map context) are ignored. */
const ForecastShardEvent = z.object({
  time: z.iso.datetime({ offset: true }),
  shard: z.number().int().nonnegative(),
});

/** Forecasts one shard's users from the interval containing `time` (see `forecastUsers`). */
export const handler = taskHandler({
  name: "forecast-shard",
  schema: ForecastShardEvent,
  run: async (event) => {
    const result = await forecastUsers(await forecastUsersDeps(forecastRuntime()), {
      time: toEpochSeconds(new Date(event.time)),
      shard: event.shard,
    });
    metrics.addMetric("SeriesForecast", MetricUnit.Count, result.series);
    metrics.addMetric("ForecastFallbacks", MetricUnit.Count, result.fallbackBatches);
    metrics.addMetric("ScoredPoints", MetricUnit.Count, result.scoredPoints);
    metrics.addMetric("ForecastsKept", MetricUnit.Count, result.forecastsKept);
    if (result.wql !== undefined) metrics.addMetric("ForecastWql", MetricUnit.NoUnit, result.wql);
    if (result.fallbackBatches > 0) {
      logger.warn("The fallback model answered for the endpoint", {
        fallbackBatches: result.fallbackBatches,
        batches: result.batches,
        fallbackReasons: result.fallbackReasons,
      });
    }
    return result;
  },
});
