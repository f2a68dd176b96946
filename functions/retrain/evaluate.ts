import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { evaluateForecastError } from "../../layers/use-cases/retrain/evaluate-forecast-error.js";
import { RetrainStartSchema } from "../../layers/use-cases/retrain/retrain-state.js";
import { evaluateDeps, retrainRuntime } from "./deps.js";

/** Retrain flow, step 1: accumulated forecast error → `needsRetrain` (see `evaluateForecastError`). */
export const handler = taskHandler({
  name: "retrain-evaluate",
  schema: RetrainStartSchema,
  run: async (event) => {
    const state = await evaluateForecastError(await evaluateDeps(retrainRuntime()), event);
    if (state.wql !== null) metrics.addMetric("ForecastWql", MetricUnit.NoUnit, state.wql);
    metrics.addMetric("NeedsRetrain", MetricUnit.Count, state.needsRetrain ? 1 : 0);
    return state;
  },
});
