import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logger, metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { promoteModel } from "../../layers/use-cases/retrain/promote-model.js";
import { PromoteInputSchema } from "../../layers/use-cases/retrain/retrain-state.js";
import { promoteDeps, retrainRuntime } from "./deps.js";

/** Retrain flow, step 4: deploy the candidate, then move the registry pointer (see `promoteModel`). */
export const handler = taskHandler({
  name: "retrain-promote",
  schema: PromoteInputSchema,
  run: async (event) => {
    const state = await promoteModel(await promoteDeps(retrainRuntime()), event);
    metrics.addMetric("ModelPromoted", MetricUnit.Count, state.promotedVersion ? 1 : 0);
    logger.info(state.promotionNote, { promotedVersion: state.promotedVersion });
    return state;
  },
});
