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
  /** Per pool, the issue time of its latest forecast (so reading it does not scan the history). */
  private readonly latestPool = new Map<string, number>();
  /** Error summaries per run id, then per shard; run ids kept sorted in `runIds`. */
  private readonly errors = new Map<string, Map<number, Record<string, ForecastErrorSummary>>>();
  private readonly runIds: string[] = [];
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
        const latest = this.latestPool.get(forecast.pool);
        if (latest === undefined || forecast.issuedAt > latest) {
          this.latestPool.set(forecast.pool, forecast.issuedAt);
        }
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
    const latest = this.latestPool.get(pool);
    return latest === undefined ? undefined : this.pools.get(pool)?.get(latest);
  }

  async putErrorSummary(
    runId: string,
    shard: number,
    byTier: Readonly<Record<string, ForecastErrorSummary>>,
  ): Promise<void> {
    let byShard = this.errors.get(runId);
    if (!byShard) {
      byShard = new Map();
      this.errors.set(runId, byShard);
      // Runs come in time order (append); a rerun of an older window is inserted in place.
      const at = lowerBound(this.runIds, runId);
      this.runIds.splice(at, 0, runId);
    }
    byShard.set(shard, structuredClone({ ...byTier }));
  }

  async getErrorSummaries(
    fromRunId: string,
    toRunId: string,
  ): Promise<Record<string, ForecastErrorSummary>> {
    const totals: Record<string, ForecastErrorSummary> = {};
    for (let i = lowerBound(this.runIds, fromRunId); i < this.runIds.length; i++) {
      const runId = this.runIds[i] as string;
      if (runId > toRunId) break;
      for (const byTier of this.errors.get(runId)?.values() ?? []) {
        for (const [tier, summary] of Object.entries(byTier))
          accumulateError(totals, tier, summary);
      }
    }
    return totals;
  }
}

function userKey(pool: string, userId: string): string {
  return `${pool}\u0000${userId}`;
}

/** First index of sorted `values` whose value is not below `value`. */
function lowerBound(values: readonly string[], value: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as string) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
