import type { Clock } from "../ports/clock.js";

/** The wall clock. */
export const systemClock: Clock = { nowSeconds: () => Date.now() / 1000 };

/** A clock that moves only when told (replays, tests). */
export class ManualClock implements Clock {
  constructor(private seconds: number) {}

  nowSeconds(): number {
    return this.seconds;
  }

  set(epochSeconds: number): void {
    this.seconds = epochSeconds;
  }

  advance(seconds: number): void {
    this.seconds += seconds;
  }
}
