/** The knobs the feedback loop adapts per tier, within the configured bounds. */
export interface TierPolicy {
  readonly forecastQuantile: number;
  readonly headroomFraction: number;
}

/** Policies in force, per tier. Read by the functions on every run (hot reload). */
export interface PolicySet {
  /** Incremented on every change; writes are conditional on it. */
  readonly version: number;
  readonly tiers: Readonly<Record<string, TierPolicy>>;
  readonly updatedAt: number;
}

/** One logged change of a tier's knobs, with its cause, so it can be read and reverted. */
export interface PolicyChange {
  readonly changeId: string;
  readonly tier: string;
  readonly before: TierPolicy;
  readonly after: TierPolicy;
  readonly cause: string;
  readonly at: number;
  /** Version of the policy set this change produced. */
  readonly version: number;
  /**
   * Set on changes made for a tier's grant-now SLO, so the next adaptation can judge them:
   * `raise` raised the knobs for misses, `futile` undid a raise that did not close the gap.
   */
  readonly slo?: SloReaction;
}

/** The grant-now rate an SLO-driven change reacted to. */
export interface SloReaction {
  readonly kind: "raise" | "futile";
  /** The tier's grant-now rate (0–1) over the window the change was judged on. */
  readonly grantNowRate: number;
}
