import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type { PolicyChange, PolicySet } from "../../domain/policy.js";
import { revertPolicyChange } from "../../domain/retrain/adapt-policies.js";
import type { Clock } from "../../ports/clock.js";
import type { PolicyStore } from "../../ports/policy-store.js";

/** How far back the log is searched for the change to revert. */
export const REVERT_SEARCH_LIMIT = 1_000;

/** Attempts at the conditional write when Adapt changes the policies meanwhile. */
const WRITE_ATTEMPTS = 3;

/**
 * Reverts one logged tier-policy change (`shaper policies revert <changeId>`): the tier's quantile
 * and headroom go back to the change's `before`, written as a new version with its own change
 * record (cause "revert of change …"), conditional on the version read, so the functions pick it
 * up on their next run and the log stays complete.
 *
 * @param deps the policy store and a clock
 * @param changeId the `changeId` of a logged change (`shaper policies list` shows them)
 * @returns the policy set now in force and the change record written
 * @throws NotFoundError when no logged change has that id (or no policies were ever written)
 * @throws ConflictError when the policies kept changing under the write
 */
export async function revertPolicy(
  deps: { readonly policies: PolicyStore; readonly clock: Clock },
  changeId: string,
): Promise<{ readonly next: PolicySet; readonly change: PolicyChange }> {
  const log = await deps.policies.listChanges(REVERT_SEARCH_LIMIT);
  const target = log.find((c) => c.changeId === changeId);
  if (!target) {
    throw new NotFoundError(
      `No policy change "${changeId}" among the last ${REVERT_SEARCH_LIMIT} changes. List them with \`shaper policies list --table <registry table>\` and pass one of their ids.`,
      { details: { field: "changeId" } },
    );
  }
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const current = await deps.policies.getPolicies();
    if (!current) {
      throw new NotFoundError(
        "No policy set has been written yet, so there is nothing to revert. The retrain flow's Adapt step writes the first one.",
      );
    }
    const reverted = revertPolicyChange(current, target, deps.clock.nowSeconds());
    const outcome = await deps.policies.putPolicies(
      reverted.next,
      [reverted.change],
      current.version,
    );
    if (outcome === "committed") return reverted;
  }
  throw new ConflictError(
    `The policies changed under each of ${WRITE_ATTEMPTS} attempts to revert ${changeId}. Run the command again.`,
  );
}
