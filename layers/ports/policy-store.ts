import type { PolicyChange, PolicySet } from "../domain/policy.js";

export interface PolicyStore {
  /** Policies in force; undefined before the first adaptation (tier defaults from the config apply). */
  getPolicies(): Promise<PolicySet | undefined>;
  /** Writes a new policy set and its change log, only if the stored version is still `expectedVersion` (0 = none). */
  putPolicies(
    next: PolicySet,
    changes: readonly PolicyChange[],
    expectedVersion: number,
  ): Promise<"committed" | "conflict">;
  listChanges(limit: number): Promise<PolicyChange[]>;
}
