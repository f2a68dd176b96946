import { intervalStartOf, intervalStarts } from "../time.js";

/** The intervals one collect run reads: [start, end), aligned to `intervalSeconds`. */
export interface CollectWindow {
  /** Epoch seconds, start of the oldest interval read. */
  readonly start: number;
  /** Epoch seconds, start of the interval containing the run's time (excluded: still open). */
  readonly end: number;
  readonly intervalSeconds: number;
}

/**
 * The window a collect run at `timeSeconds` reads: the last `lookbackIntervals` complete
 * intervals before the interval containing `timeSeconds`. Re-reading a few intervals every run
 * picks up metrics that arrive late; the writes are idempotent, so the overlap costs nothing.
 *
 * @param timeSeconds the run's time, epoch seconds (any offset within an interval)
 * @param intervalSeconds interval length, seconds
 * @param lookbackIntervals how many complete intervals to read, at least 1
 * @returns the window, both ends aligned to the interval grid
 * @example
 * collectWindow(1_795_813_333, 300, 3); // { start: 1_795_812_300, end: 1_795_813_200, intervalSeconds: 300 }
 */
export function collectWindow(
  timeSeconds: number,
  intervalSeconds: number,
  lookbackIntervals: number,
): CollectWindow {
  const end = intervalStartOf(timeSeconds, intervalSeconds);
  return { start: end - lookbackIntervals * intervalSeconds, end, intervalSeconds };
}

/** Starts of the window's intervals, oldest first. */
export function windowIntervals(window: CollectWindow): number[] {
  return intervalStarts(window.start, window.end, window.intervalSeconds);
}

/** True when `epochSeconds` falls in [start, end). */
export function inWindow(window: CollectWindow, epochSeconds: number): boolean {
  return epochSeconds >= window.start && epochSeconds < window.end;
}
