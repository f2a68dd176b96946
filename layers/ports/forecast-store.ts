import type { Forecast, ForecastErrorSummary } from "../domain/forecast.js";

/** Latest forecast per user and pool, pool aggregate forecasts, and accumulated forecast error. */
export interface ForecastStore {
  /** Replaces the latest forecast of each (pool, user) and appends pool forecasts (userId undefined). */
  putForecasts(forecasts: readonly Forecast[]): Promise<void>;
  getUserForecast(pool: string, userId: string): Promise<Forecast | undefined>;
  /** Latest forecasts of a pool's users, in pages (for the plan). */
  listUserForecasts(pool: string): AsyncIterable<readonly Forecast[]>;
  getPoolForecast(pool: string): Promise<Forecast | undefined>;
  /** Adds error measured by one shard for one run (idempotent per runId and shard). */
  putErrorSummary(
    runId: string,
    shard: number,
    byTier: Readonly<Record<string, ForecastErrorSummary>>,
  ): Promise<void>;
  /** Error of runs with runId in [fromRunId, toRunId] (run ids sort by time), summed over shards, per tier. */
  getErrorSummaries(
    fromRunId: string,
    toRunId: string,
  ): Promise<Record<string, ForecastErrorSummary>>;
}
