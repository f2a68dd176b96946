import type { PoolPlan } from "../../domain/plan.js";
import type { PlanStore } from "../../ports/plan-store.js";

/** Plans in memory; keeps the history like the table does. */
export class InMemoryPlanStore implements PlanStore {
  private readonly plans = new Map<string, PoolPlan[]>();

  async putPlan(plan: PoolPlan): Promise<void> {
    const list = (this.plans.get(plan.pool) ?? []).filter((p) => p.issuedAt !== plan.issuedAt);
    list.push(structuredClone(plan));
    list.sort((a, b) => a.issuedAt - b.issuedAt);
    this.plans.set(plan.pool, list);
  }

  async getLatestPlan(pool: string): Promise<PoolPlan | undefined> {
    const list = this.plans.get(pool);
    const latest = list?.[list.length - 1];
    return latest ? structuredClone(latest) : undefined;
  }

  /** Every plan of a pool, oldest first (local reports). */
  history(pool: string): PoolPlan[] {
    return structuredClone(this.plans.get(pool) ?? []);
  }
}
