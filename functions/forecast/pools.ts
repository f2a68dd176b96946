import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { toEpochSeconds } from "../../layers/domain/time.js";
import { logger, metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { forecastPools } from "../../layers/use-cases/forecast-pools.js";
import { forecastPoolsDeps, forecastRuntime } from "./deps.js";

/** `{ time }`: an EventBridge scheduled event carries it (and more keys, ignored). */
const ForecastPoolsEvent = z.object({ time: z.iso.datetime({ offset: true }) });

/**
 * Forecasts each pool's aggregate series and judges the last hour's forecast error (see
 * `forecastPools`). ForecastWqlLastHour is the figure compared with the retrain threshold.
 */
export const handler = taskHandler({
  name: "forecast-pools",
  schema: ForecastPoolsEvent,
  run: async (event) => {
    const result = await forecastPools(await forecastPoolsDeps(forecastRuntime()), {
      time: toEpochSeconds(new Date(event.time)),
    });
    metrics.addMetric("SeriesForecast", MetricUnit.Count, result.series);
    metrics.addMetric("ForecastFallbacks", MetricUnit.Count, result.fallbackBatches);
    if (result.error.wql !== null) {
      metrics.addMetric("ForecastWqlLastHour", MetricUnit.NoUnit, result.error.wql);
    }
    if (result.fallbackBatches > 0) {
      logger.warn("The fallback model answered for the endpoint", {
        fallbackReasons: result.fallbackReasons,
      });
    }
    if (result.published) {
      logger.info("Forecast error passed the threshold; retraining requested", { ...result.error });
    }
    return result;
  },
});
