import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { z } from "zod";
import { toEpochSeconds } from "../../layers/domain/time.js";
import { logger, metrics } from "../../layers/lambda/observability.js";
import { taskHandler } from "../../layers/lambda/task-handler.js";
import { planCapacity } from "../../layers/use-cases/plan-capacity.js";
import { planDeps, planRuntime } from "./plan-deps.js";

/**
 * `{ time }`: EventBridge scheduled events and the pipeline's Plan step carry it (other keys are
 * ignored). Without it (a manual invoke) the function plans for now.
 */
const PlanEvent = z.object({ time: z.iso.datetime({ offset: true }).optional() });

/**
 * The scheduled plan of the shape stage (see `planCapacity`): plans every pool, scales the ECS
 * services ahead of demand, stores the plans and updates the admission ledgers. Returns a short
 * summary per pool (the full plans are in the plans table; Step Functions payloads are small).
 * Metrics: TargetTasks (per Pool, the current interval's target), ScalingActions (steps handed to
 * Application Auto Scaling plus immediate raises), ActuationFailures.
 */
export const handler = taskHandler({
  name: "shape-plan",
  schema: PlanEvent,
  run: async (event) => {
    const rt = planRuntime();
    const time = event.time ? toEpochSeconds(new Date(event.time)) : rt.clock.nowSeconds();
    const { outcomes } = await planCapacity(await planDeps(rt), { time });
    let scalingActions = 0;
    let failures = 0;
    for (const outcome of outcomes) {
      const target = metrics.singleMetric();
      target.addDimension("Pool", outcome.pool);
      target.addMetric(
        "TargetTasks",
        MetricUnit.Count,
        outcome.plan.intervals[0]?.targetTasks ?? 0,
      );
      scalingActions += outcome.scheduledSteps + (outcome.scaledNowTo === undefined ? 0 : 1);
      if (outcome.plan.actuation?.status === "failed") {
        failures++;
        logger.warn("Actuation failed; the plan is kept and retried next cycle", {
          pool: outcome.pool,
          detail: outcome.plan.actuation.detail,
        });
      }
      if (outcome.skippedUserCount > 0) {
        logger.warn("Users left out of the plan", {
          pool: outcome.pool,
          count: outcome.skippedUserCount,
          examples: outcome.skippedUsers,
        });
      }
    }
    metrics.addMetric("ScalingActions", MetricUnit.Count, scalingActions);
    metrics.addMetric("ActuationFailures", MetricUnit.Count, failures);
    return {
      time,
      pools: outcomes.map((o) => ({
        pool: o.pool,
        issuedAt: o.plan.issuedAt,
        targetTasks: o.plan.intervals[0]?.targetTasks ?? 0,
        currentTasks: o.plan.currentTasks,
        scalingSteps: o.plan.scaling.length,
        warmReservations: o.plan.warmReservations.length,
        costUsd: o.plan.costUsd,
        actuation: o.plan.actuation,
        usersPlanned: o.usersPlanned,
        skippedUsers: o.skippedUserCount,
      })),
    };
  },
});
