import type { Amounts, Resource } from "./resources.js";

/** Mean and quantiles of one resource over the horizon; arrays have one value per interval. */
export interface ResourceForecast {
  readonly mean: readonly number[];
  /** Keyed by `quantileKey(level)`, e.g. "0.1", "0.95". Monotone in the level at every step. */
  readonly quantiles: Readonly<Record<string, readonly number[]>>;
}

/** Which model produced a forecast, and whether the in-function fallback had to answer. */
export interface ForecastProvenance {
  readonly model: string;
  readonly modelVersion: string;
  /** Set when the endpoint failed and the fallback model answered: why. */
  readonly fallbackReason?: string;
}

/**
 * A forecast for one user of one pool, or (userId undefined) the pool's aggregate series.
 */
/** The largest critical burst a user sent recently (see `Forecast.criticalPeak`). */
export interface CriticalPeak {
  readonly amounts: Amounts;
  /** Start of the last interval in which the user sent a critical request, epoch seconds. */
  readonly lastSeenAt: number;
}

export interface Forecast extends ForecastProvenance {
  readonly pool: string;
  readonly userId?: string;
  /** Epoch seconds when it was made. */
  readonly issuedAt: number;
  /** Start of the first forecast interval, epoch seconds. */
  readonly start: number;
  readonly intervalSeconds: number;
  readonly horizon: number;
  readonly byResource: Partial<Record<Resource, ResourceForecast>>;
  /** The user's tier when the forecast was made (user forecasts only). */
  readonly tier?: string;
  /**
   * The user's own overrides of its tier's guarantee and cap when the forecast was made, so the
   * plan can read every user's limits from the forecasts it reads anyway (no registry read per user).
   */
  readonly limits?: { readonly guaranteedMinimum?: Amounts; readonly cap?: Amounts };
  /**
   * Per resource, the most the user's critical requests asked within one provisioning lag plus an
   * interval (its largest critical burst), and when it last sent a critical request (user forecasts only; absent when it sent none within the config's
   * `forecast.criticalPeakDays`). The plan keeps that much room free.
   */
  readonly criticalPeak?: CriticalPeak;
  /** True when no history was observed: the values are the cold-start answer, not a prediction. */
  readonly coldStart?: boolean;
  /**
   * For a cold start answered by its cohort (cohort.ts): whose forecasts — the same tier's users
   * in the pool, or the pool's — and how many of them.
   */
  readonly coldStartCohort?: { readonly basis: "tier" | "pool"; readonly members: number };
  /**
   * Error of the forecast this one replaced, as scored by run `runId`. A rerun of that run finds
   * the old forecast gone, so it counts this instead (error summaries stay idempotent).
   */
  readonly previousError?: { readonly runId: string; readonly summary: ForecastErrorSummary };
}

/** Accumulated forecast error for a group (a tier, a shard, a pool), for the feedback loop. */
export interface ForecastErrorSummary {
  /** Σ over quantiles of 2·pinball loss (the wQL numerator). */
  readonly pinballSum: number;
  /** Σ |actual| over the scored points (the wQL denominator before the 1/quantiles factor). */
  readonly absActualSum: number;
  /** Number of quantile levels in the pinball sum. */
  readonly quantileCount: number;
  /** Points scored, and how many of them fell within [q0.1, q0.9]. */
  readonly points: number;
  readonly covered80: number;
}
