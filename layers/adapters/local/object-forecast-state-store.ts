import type { ForecastStateStore, SeriesStates } from "../../ports/forecast-state-store.js";

/**
 * Forecast states in memory as the objects given, for replays: no JSON round trip, so a model
 * that keeps its forecasters warm (`InProcessForecastModel` with `keepWarm`) gets back the very
 * state objects it returned. The record of each subject and pool is copied in and out, so callers
 * cannot add or remove stored states; the states themselves are treated as immutable values (the
 * model never changes a state it handed out) and are frozen at the top level when stored.
 * Where what S3 would return matters, use `InMemoryForecastStateStore`.
 */
export class ObjectForecastStateStore implements ForecastStateStore {
  private readonly items = new Map<string, SeriesStates>();

  async getStates(subject: string, pool: string): Promise<SeriesStates | undefined> {
    const states = this.items.get(keyOf(subject, pool));
    return states === undefined ? undefined : { ...states };
  }

  async putStates(subject: string, pool: string, states: SeriesStates): Promise<void> {
    for (const state of Object.values(states)) {
      if (typeof state === "object" && state !== null) Object.freeze(state);
    }
    this.items.set(keyOf(subject, pool), { ...states });
  }

  /** Subjects × pools stored. */
  get size(): number {
    return this.items.size;
  }
}

function keyOf(subject: string, pool: string): string {
  return `${subject}\u0000${pool}`;
}
