import type { PoolPlan } from "../../domain/plan.js";
import type { PlanStore } from "../../ports/plan-store.js";

/** Plans in memory; keeps the history like the table does. */
export class InMemoryPlanStore implements PlanStore {
  private readonly plans = new Map<string, PoolPlan[]>();

  async putPlan(plan: PoolPlan): Promise<void> {
    const copy = structuredClone(plan);
    let list = this.plans.get(plan.pool);
    if (!list) {
      list = [];
      this.plans.set(plan.pool, list);
    }
    // Plans come in time order: appending (or replacing the latest) keeps a put O(1) however
    // long the history grows. Anything else takes the general path.
    const last = list[list.length - 1];
    if (last === undefined || last.issuedAt < plan.issuedAt) {
      list.push(copy);
    } else if (last.issuedAt === plan.issuedAt) {
      list[list.length - 1] = copy;
    } else {
      const rest = list.filter((p) => p.issuedAt !== plan.issuedAt);
      rest.push(copy);
      rest.sort((x, y) => x.issuedAt - y.issuedAt);
      this.plans.set(plan.pool, rest);
    }
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
