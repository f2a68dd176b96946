import type { ForecastStateStore, SeriesStates } from "../../ports/forecast-state-store.js";

/**
 * Forecast states in memory (local runs and tests). Values are stored as JSON text, so what is
 * read back is what S3 would give: a copy, never the caller's object.
 */
export class InMemoryForecastStateStore implements ForecastStateStore {
  private readonly items = new Map<string, string>();

  async getStates(subject: string, pool: string): Promise<SeriesStates | undefined> {
    const text = this.items.get(keyOf(subject, pool));
    return text === undefined ? undefined : (JSON.parse(text) as SeriesStates);
  }

  async putStates(subject: string, pool: string, states: SeriesStates): Promise<void> {
    this.items.set(keyOf(subject, pool), JSON.stringify(states));
  }

  /** Subjects × pools stored. */
  get size(): number {
    return this.items.size;
  }
}

function keyOf(subject: string, pool: string): string {
  return `${subject}\u0000${pool}`;
}
