import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { ValidateInputSchema } from "../../layers/use-cases/retrain/retrain-state.js";
import { validateCandidate } from "../../layers/use-cases/retrain/validate-candidate.js";
import { retrainRuntime, validateDeps } from "./deps.js";

/** Retrain flow, step 3: candidate vs current on held-out data → `promote` (see `validateCandidate`). */
export const handler = taskHandler({
  name: "retrain-validate",
  schema: ValidateInputSchema,
  run: async (event) => {
    const state = await validateCandidate(await validateDeps(retrainRuntime()), event);
    metrics.addMetric("CandidateWql", MetricUnit.NoUnit, state.candidateMetrics.wql);
    metrics.addMetric("CurrentWql", MetricUnit.NoUnit, state.currentMetrics.wql);
    return state;
  },
});
