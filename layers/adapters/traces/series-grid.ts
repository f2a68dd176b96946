import { ValidationError } from "../../domain/errors.js";
import type { SeriesInput } from "../../domain/forecasting/methods/method.js";

/**
 * Most slots one series may span (≈ 9.5 years at 300 s, ≈ 1.9 years at 60 s): the traces cover
 * weeks to months, so a wider span is a wrong timestamp, and building it would allocate
 * gigabytes for one bad row.
 */
export const MAX_SERIES_SLOTS = 1_000_000;

/** Where a sample came from, for the error that refuses it. */
export interface SampleSource {
  readonly file: string;
  readonly line: number;
  /** The time column, as the trace names it. */
  readonly column: string;
}

/**
 * Builds regular series from timestamped samples: each sample falls in the slot
 * ⌊timeSeconds / stepSeconds⌋ of an absolute grid (so two files of one series line up), several
 * samples in one slot are averaged, and a slot with no sample is NaN — a gap stays a gap.
 */
export class SeriesGrid {
  private readonly samples = new Map<
    string,
    { slots: number[]; values: number[]; first: number; last: number }
  >();
  private readonly featuresById = new Map<string, Readonly<Record<string, string>>>();

  /** @param stepSeconds width of one slot, e.g. 300 */
  constructor(readonly stepSeconds: number) {}

  /**
   * Records one sample.
   *
   * @param id series id
   * @param timeSeconds epoch seconds of the sample
   * @param value the measurement (finite)
   * @param features static features of the series, kept from its first sample
   * @param source the file, line and time column of the sample, named when it is refused
   * @throws ValidationError when the sample would stretch the series over more than
   *   MAX_SERIES_SLOTS slots (a wrong timestamp)
   */
  add(
    id: string,
    timeSeconds: number,
    value: number,
    features?: Readonly<Record<string, string>>,
    source?: SampleSource,
  ): void {
    const slot = Math.floor(timeSeconds / this.stepSeconds);
    let entry = this.samples.get(id);
    if (!entry) {
      entry = { slots: [], values: [], first: slot, last: slot };
      this.samples.set(id, entry);
      if (features) this.featuresById.set(id, features);
    }
    const first = Math.min(entry.first, slot);
    const last = Math.max(entry.last, slot);
    if (!(last - first < MAX_SERIES_SLOTS)) {
      const where = source ? `${source.file}:${source.line}: column "${source.column}" ` : "";
      throw new ValidationError(
        `${where}puts series ${id} at ${timeSeconds} s, ${last - first + 1} steps of ${this.stepSeconds} s from its other samples; expected a series to span at most ${MAX_SERIES_SLOTS} steps. The timestamp is probably wrong: fix or remove that row.`,
        [{ field: source?.column ?? "time", message: "is too far from the series' other samples" }],
        source ? { details: { file: source.file, line: source.line } } : {},
      );
    }
    entry.first = first;
    entry.last = last;
    entry.slots.push(slot);
    entry.values.push(value);
  }

  /** Ids seen so far. */
  get size(): number {
    return this.samples.size;
  }

  /**
   * The series, sorted by id; each runs from its first to its last sampled slot.
   *
   * @returns one series per id, NaN in slots without a sample
   */
  build(): SeriesInput[] {
    const out: SeriesInput[] = [];
    for (const id of [...this.samples.keys()].sort()) {
      const entry = this.samples.get(id);
      if (!entry || entry.slots.length === 0) continue;
      const { first, last } = entry;
      const length = last - first + 1;
      const sums = new Float64Array(length);
      const counts = new Uint32Array(length);
      entry.slots.forEach((slot, i) => {
        sums[slot - first] = (sums[slot - first] as number) + (entry.values[i] as number);
        counts[slot - first] = (counts[slot - first] as number) + 1;
      });
      const values = new Float64Array(length);
      for (let i = 0; i < length; i++) {
        const count = counts[i] as number;
        values[i] = count === 0 ? Number.NaN : (sums[i] as number) / count;
      }
      const features = this.featuresById.get(id);
      out.push({
        id,
        values,
        startSeconds: first * this.stepSeconds,
        stepSeconds: this.stepSeconds,
        ...(features ? { features } : {}),
      });
    }
    return out;
  }
}

/**
 * Demand of overlapping intervals on a regular grid: an interval [start, end) with amount a adds
 * a to every grid instant t_k = originSeconds + k·stepSeconds with start ≤ t_k < end (the grid is
 * chosen at `build`, once the trace's span is known). Used for "requested CPU of the instances or
 * tasks alive at each step".
 */
export class IntervalDemand {
  private readonly intervals = new Map<
    string,
    { starts: number[]; ends: number[]; amounts: number[] }
  >();
  private readonly featuresById = new Map<string, Readonly<Record<string, string>>>();

  /** @param stepSeconds spacing of the grid */
  constructor(readonly stepSeconds: number) {}

  /**
   * Records one interval; use ±Infinity for "before the first" / "after the last" instant.
   *
   * @param startSeconds epoch seconds the amount starts counting (inclusive)
   * @param endSeconds epoch seconds it stops (exclusive)
   */
  add(id: string, startSeconds: number, endSeconds: number, amount: number): void {
    let entry = this.intervals.get(id);
    if (!entry) {
      entry = { starts: [], ends: [], amounts: [] };
      this.intervals.set(id, entry);
    }
    entry.starts.push(startSeconds);
    entry.ends.push(endSeconds);
    entry.amounts.push(amount);
  }

  /** Declares an id (with its features) even if it never gets an interval. */
  declare(id: string, features?: Readonly<Record<string, string>>): void {
    if (!this.intervals.has(id)) this.intervals.set(id, { starts: [], ends: [], amounts: [] });
    if (features) this.featuresById.set(id, features);
  }

  /** Sets the features of a series (replacing earlier ones). */
  setFeatures(id: string, features: Readonly<Record<string, string>>): void {
    this.featuresById.set(id, features);
  }

  /** Ids seen so far. */
  ids(): string[] {
    return [...this.intervals.keys()].sort();
  }

  /**
   * Every series on the same `length` grid instants, sorted by id.
   *
   * @param originSeconds epoch seconds of grid instant 0
   * @param length number of grid instants (all series share them)
   * @returns series whose value at k is the summed amount of the intervals covering instant k;
   *   sums within 1e-9 of zero are exactly 0 (adding and removing the same amounts leaves
   *   rounding residue, and "idle" must read as 0)
   */
  build(originSeconds: number, length: number): SeriesInput[] {
    const out: SeriesInput[] = [];
    for (const id of this.ids()) {
      const entry = this.intervals.get(id);
      if (!entry) continue;
      const delta = new Float64Array(length + 1);
      entry.starts.forEach((start, i) => {
        const from = this.firstInstantAtOrAfter(start, originSeconds, length);
        const to = this.firstInstantAtOrAfter(entry.ends[i] as number, originSeconds, length);
        if (to <= from) return;
        const amount = entry.amounts[i] as number;
        delta[from] = (delta[from] as number) + amount;
        delta[to] = (delta[to] as number) - amount;
      });
      const values = new Float64Array(length);
      let level = 0;
      for (let k = 0; k < length; k++) {
        level += delta[k] as number;
        values[k] = Math.abs(level) < 1e-9 ? 0 : level;
      }
      const features = this.featuresById.get(id);
      out.push({
        id,
        values,
        startSeconds: originSeconds,
        stepSeconds: this.stepSeconds,
        ...(features ? { features } : {}),
      });
    }
    return out;
  }

  /** Index of the first grid instant ≥ seconds, clamped to [0, length]. */
  private firstInstantAtOrAfter(seconds: number, originSeconds: number, length: number): number {
    if (seconds === Number.NEGATIVE_INFINITY) return 0;
    if (seconds === Number.POSITIVE_INFINITY) return length;
    const k = Math.ceil((seconds - originSeconds) / this.stepSeconds);
    return Math.min(Math.max(k, 0), length);
  }
}
