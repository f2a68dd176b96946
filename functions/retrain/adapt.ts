import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logger, metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { adaptPolicies } from "../../layers/use-cases/retrain/adapt-policies.js";
import { AdaptInputSchema } from "../../layers/use-cases/retrain/retrain-state.js";
import { adaptDeps, retrainRuntime } from "./deps.js";

/** Retrain flow, last step: per-tier policy knobs towards each tier's target (see `adaptPolicies`). */
export const handler = taskHandler({
  name: "retrain-adapt",
  schema: AdaptInputSchema,
  run: async (event) => {
    const state = await adaptPolicies(await adaptDeps(retrainRuntime()), event);
    metrics.addMetric("PolicyChanges", MetricUnit.Count, state.changes.length);
    for (const change of state.changes) logger.info(change.cause, { tier: change.tier });
    return state;
  },
});
