import type { PoolPlan } from "../domain/plan.js";

export interface PlanStore {
  putPlan(plan: PoolPlan): Promise<void>;
  getLatestPlan(pool: string): Promise<PoolPlan | undefined>;
}
