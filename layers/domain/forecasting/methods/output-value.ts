/**
 * How every per-series method turns a computed value into a forecast value: finite (clamped to
 * ±Number.MAX_VALUE, NaN → 0), at least 0 for non-negative data, and exactly 0 when it is
 * negligible next to the series' unit — an exponentially decaying level never reaches 0 (it stops
 * at 5e-324), and a forecast of 1e-320 for a series that sits at 0 would miss every interval.
 */

/** Values below this fraction of the series' unit are reported as 0. */
export const NEGLIGIBLE_FRACTION = 1e-12;

/**
 * A forecast value from a value in working units (series ÷ unit).
 *
 * @param working the value divided by `unit`
 * @param unit the series' working unit (> 0)
 * @param nonNegative clamp at 0
 */
export function fromWorking(working: number, unit: number, nonNegative: boolean): number {
  if (Number.isNaN(working) || Math.abs(working) < NEGLIGIBLE_FRACTION) return 0;
  return finiteValue(working * unit, nonNegative);
}

/**
 * A forecast value from a value in series units.
 *
 * @param value the value
 * @param unit the series' working unit (> 0)
 * @param nonNegative clamp at 0
 */
export function fromSeries(value: number, unit: number, nonNegative: boolean): number {
  if (Number.isNaN(value) || Math.abs(value) < NEGLIGIBLE_FRACTION * unit) return 0;
  return finiteValue(value, nonNegative);
}

function finiteValue(value: number, nonNegative: boolean): number {
  const v = Math.min(Number.MAX_VALUE, Math.max(-Number.MAX_VALUE, value));
  return nonNegative && v < 0 ? 0 : v;
}
