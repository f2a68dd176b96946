import type { DecisionRecord, PoolLedger } from "../domain/admission.js";

export type CommitResult =
  | { readonly status: "committed" }
  /** Another writer changed the ledger since it was read: read again and redecide. */
  | { readonly status: "conflict" }
  /** A decision for this requestId exists already (a retry): it is returned unchanged. */
  | { readonly status: "duplicate"; readonly existing: DecisionRecord };

/**
 * Pool ledgers and decision records. `commitDecision` writes the ledger (conditional on the
 * version read) and the decision (conditional on its requestId being new) atomically: both or
 * neither.
 */
export interface AdmissionStore {
  /** The pool's ledger; a never-written ledger has version 0, no capacity and no leases. */
  getLedger(pool: string): Promise<PoolLedger>;
  getDecision(requestId: string): Promise<DecisionRecord | undefined>;
  commitDecision(
    ledger: PoolLedger,
    expectedVersion: number,
    record: DecisionRecord,
  ): Promise<CommitResult>;
  /**
   * Records a decision that takes no capacity (an offer or a rejection), conditional only on its
   * requestId being new. Such a decision only read the ledger, so it is serializable at that read
   * without a version check — and it does not contend with the writers that take capacity.
   */
  recordDecision(record: DecisionRecord): Promise<Exclude<CommitResult, { status: "conflict" }>>;
  /** Writes a ledger changed by the plan (capacity, warm leases), conditional on the version. */
  putLedger(ledger: PoolLedger, expectedVersion: number): Promise<"committed" | "conflict">;
}
