import type { PolicyChange, PolicySet } from "../../domain/policy.js";
import type { PolicyStore } from "../../ports/policy-store.js";

/** Policies in memory, with the same version check as the table. */
export class InMemoryPolicyStore implements PolicyStore {
  private current: PolicySet | undefined;
  private readonly changes: PolicyChange[] = [];

  async getPolicies(): Promise<PolicySet | undefined> {
    return this.current ? structuredClone(this.current) : undefined;
  }

  async putPolicies(
    next: PolicySet,
    changes: readonly PolicyChange[],
    expectedVersion: number,
  ): Promise<"committed" | "conflict"> {
    if ((this.current?.version ?? 0) !== expectedVersion) return "conflict";
    this.current = structuredClone(next);
    this.changes.push(...structuredClone([...changes]));
    return "committed";
  }

  async listChanges(limit: number): Promise<PolicyChange[]> {
    return structuredClone(
      [...this.changes]
        .sort((a, b) => b.at - a.at || (a.changeId < b.changeId ? 1 : -1))
        .slice(0, limit),
    );
  }
}
