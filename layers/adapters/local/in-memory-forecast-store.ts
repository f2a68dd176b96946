import type { Forecast, ForecastErrorSummary } from "../../domain/forecast.js";
import { accumulateError } from "../../domain/forecasting/forecast-error.js";
import type { ForecastStore } from "../../ports/forecast-store.js";
import { frozenCopy } from "./frozen-copy.js";

export interface InMemoryForecastStoreOptions {
  /** Forecasts per page of `listUserForecasts`. @default 100 */
  readonly pageSize?: number;
}

/**
 * Forecasts and error summaries held in memory (local runtime and tests), with the same
 * semantics as the DynamoDB store: one latest forecast per (pool, user), pool forecasts kept by
 * issue time, error summaries replaced per (run, shard). Values are copied when stored and the
 * copies deeply frozen, so callers cannot change stored state: what a read returns is the stored,
 * frozen copy (no copy per read — the replay reads every forecast several times an interval).
 */
export class InMemoryForecastStore implements ForecastStore {
  private readonly users = new Map<string, Forecast>();
  private readonly pools = new Map<string, Map<number, Forecast>>();
  private readonly errors = new Map<string, Record<string, ForecastErrorSummary>>();
  private readonly pageSize: number;

  constructor(options: InMemoryForecastStoreOptions = {}) {
    this.pageSize = options.pageSize ?? 100;
  }

  async putForecasts(forecasts: readonly Forecast[]): Promise<void> {
    for (const forecast of forecasts) {
      if (forecast.userId === undefined) {
        const byTime = this.pools.get(forecast.pool) ?? new Map<number, Forecast>();
        byTime.set(forecast.issuedAt, frozenCopy(forecast));
        this.pools.set(forecast.pool, byTime);
      } else {
        this.users.set(userKey(forecast.pool, forecast.userId), frozenCopy(forecast));
      }
    }
  }

  async getUserForecast(pool: string, userId: string): Promise<Forecast | undefined> {
    return this.users.get(userKey(pool, userId));
  }

  async *listUserForecasts(pool: string): AsyncIterable<readonly Forecast[]> {
    const all = [...this.users.values()]
      .filter((f) => f.pool === pool)
      .sort((a, b) => ((a.userId ?? "") < (b.userId ?? "") ? -1 : 1));
    for (let i = 0; i < all.length; i += this.pageSize) {
      yield all.slice(i, i + this.pageSize);
    }
  }

  async getPoolForecast(pool: string): Promise<Forecast | undefined> {
    const byTime = this.pools.get(pool);
    if (!byTime || byTime.size === 0) return undefined;
    const latest = Math.max(...byTime.keys());
    return byTime.get(latest);
  }

  async putErrorSummary(
    runId: string,
    shard: number,
    byTier: Readonly<Record<string, ForecastErrorSummary>>,
  ): Promise<void> {
    this.errors.set(errorKey(runId, shard), structuredClone({ ...byTier }));
  }

  async getErrorSummaries(
    fromRunId: string,
    toRunId: string,
  ): Promise<Record<string, ForecastErrorSummary>> {
    const totals: Record<string, ForecastErrorSummary> = {};
    for (const [key, byTier] of this.errors) {
      const runId = key.slice(0, key.lastIndexOf("#"));
      if (runId < fromRunId || runId > toRunId) continue;
      for (const [tier, summary] of Object.entries(byTier)) accumulateError(totals, tier, summary);
    }
    return totals;
  }
}

function userKey(pool: string, userId: string): string {
  return `${pool}\u0000${userId}`;
}

function errorKey(runId: string, shard: number): string {
  return `${runId}#${shard}`;
}
