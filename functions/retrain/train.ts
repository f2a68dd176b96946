import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { TrainInputSchema } from "../../layers/use-cases/retrain/retrain-state.js";
import { trainCandidate } from "../../layers/use-cases/retrain/train-candidate.js";
import { retrainRuntime, trainDeps } from "./deps.js";

/** Retrain flow, step 2: fits a candidate on recent history and registers it (see `trainCandidate`). */
export const handler = taskHandler({
  name: "retrain-train",
  schema: TrainInputSchema,
  run: async (event) => {
    const state = await trainCandidate(await trainDeps(retrainRuntime()), event);
    metrics.addMetric("TrainingSeries", MetricUnit.Count, state.training.series);
    return state;
  },
});
