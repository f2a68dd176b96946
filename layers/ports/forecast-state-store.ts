import type { Resource } from "../domain/resources.js";

/** The forecasting model's states of one user's (or one pool's) series in a pool, by resource. */
export type SeriesStates = Partial<Record<Resource, unknown>>;

/**
 * Where the forecasting model's per-series state lives between forecast runs (S3 in AWS, memory
 * locally), so a run resumes each series instead of refitting it. The state is a cache: losing
 * it costs a refit, never a wrong forecast, so callers treat a failing store as "no state".
 */
export interface ForecastStateStore {
  /**
   * The states stored for a subject's series in a pool.
   * @param subject a user id, or `#pool:<name>` for a pool's own series (forecast-pools.ts)
   * @returns undefined when none are stored
   * @throws DependencyError when the store cannot be read
   */
  getStates(subject: string, pool: string): Promise<SeriesStates | undefined>;
  /**
   * Replaces the subject's states in the pool (one write; never a partial one).
   * @throws DependencyError when the store cannot be written
   */
  putStates(subject: string, pool: string, states: SeriesStates): Promise<void>;
}
