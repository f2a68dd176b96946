/**
 * Quantile helpers shared by the forecasting models and the scoring code: empirical quantiles of
 * a sample, quantile levels as DeepAR writes them ("0.1"), and the monotone rearrangement that
 * keeps a set of quantile forecasts ordered by level at every step.
 */

/**
 * The `level` empirical quantile of an ascending sample, interpolating linearly between order
 * statistics (Hyndman & Fan type 7, the default of R and NumPy).
 *
 * @param sorted finite values in ascending order; must not be empty
 * @param level quantile level in [0, 1]
 * @returns the quantile; monotone in `level` and scale-equivariant (×k sample → ×k quantile, k > 0)
 * @throws RangeError when the sample is empty or the level lies outside [0, 1]
 */
export function empiricalQuantile(sorted: readonly number[], level: number): number {
  if (sorted.length === 0) throw new RangeError("empiricalQuantile needs at least one value.");
  if (!(level >= 0 && level <= 1)) {
    throw new RangeError(`Quantile level ${level} is outside [0, 1].`);
  }
  const position = (sorted.length - 1) * level;
  const lower = Math.floor(position);
  const fraction = position - lower;
  const low = sorted[lower] as number;
  if (fraction === 0 || lower + 1 >= sorted.length) return low;
  const high = sorted[lower + 1] as number;
  // Weighted sum rather than low + f·(high − low): never subtracts two large values.
  return low * (1 - fraction) + high * fraction;
}

/** The finite values of `values`, ascending. */
export function sortedFinite(values: readonly number[]): number[] {
  return values.filter(Number.isFinite).sort((a, b) => a - b);
}

/**
 * Parses a quantile level as DeepAR's `configuration.quantiles` carries it ("0.1", "0.95").
 *
 * @returns the level, or undefined when the text is not a decimal number strictly between 0 and 1
 */
export function parseQuantileLevel(text: string): number | undefined {
  if (!/^\s*[0-9.eE+-]+\s*$/.test(text)) return undefined;
  const level = Number(text);
  return level > 0 && level < 1 ? level : undefined;
}

/**
 * Rearranges quantile forecasts so that, at every step, a higher level never has a lower value
 * (Chernozhukov, Fernández-Val & Galichon 2010: sorting the values at each step can only reduce
 * the quantile loss). The input is not changed.
 *
 * @param byKey forecasts keyed by quantile key, all of the same length
 * @param levelOf the level of a key (e.g. `Number`)
 * @returns the same keys with copied arrays, values sorted across levels at each step
 */
export function rearrangeQuantiles(
  byKey: Readonly<Record<string, readonly number[]>>,
  levelOf: (key: string) => number = Number,
): Record<string, number[]> {
  const keys = Object.keys(byKey).sort((a, b) => levelOf(a) - levelOf(b));
  const out: Record<string, number[]> = {};
  const rows = keys.map((key) => {
    const row = [...(byKey[key] ?? [])];
    out[key] = row;
    return row;
  });
  const length = rows.length === 0 ? 0 : Math.min(...rows.map((row) => row.length));
  for (let step = 0; step < length; step++) {
    // Most forecasts are monotone already (every model here makes them so): check, sort only if not.
    let ordered = true;
    for (let i = 1; ordered && i < rows.length; i++) {
      if (((rows[i] as number[])[step] as number) < ((rows[i - 1] as number[])[step] as number)) {
        ordered = false;
      }
    }
    if (ordered) continue;
    const values = rows.map((row) => row[step] as number).sort((a, b) => a - b);
    rows.forEach((row, i) => {
      row[step] = values[i] as number;
    });
  }
  return out;
}
