import { ValidationError } from "../../errors.js";
import {
  type EnsembleSnapshot,
  type ForecasterState,
  forecasterState,
  isSnapshotForecaster,
  type LeafSnapshot,
  type SnapshotForecaster,
  type StateHeader,
  snapshotOf,
} from "./forecaster-snapshot.js";
import type { QuantileForecast, SeriesForecaster } from "./method.js";
import { type PointForecaster, pointForecastInto } from "./point-forecaster.js";

/**
 * A forecaster that combines the point forecasts of several members, step by step: their mean,
 * or their median (robust to one member going astray). Members advance together. Used by the
 * per-series selection when a combination of its best candidates beats each of them alone.
 */

export type Combination = "mean" | "median";

/** Name of an ensemble in a state's `method` when it is saved on its own. */
const ENSEMBLE_NAME = "ensemble";

export class EnsembleForecaster implements PointForecaster, SnapshotForecaster {
  private rows: Float64Array;
  private readonly column: Float64Array;
  private capacity = 0;

  /**
   * @param members forecasters positioned at the same origin (at least one)
   * @param combination how the members' values at each step combine
   */
  constructor(
    private readonly members: readonly SeriesForecaster[],
    private readonly combination: Combination,
  ) {
    this.rows = new Float64Array(0);
    this.column = new Float64Array(members.length);
  }

  advanceTo(origin: number): void {
    for (const member of this.members) member.advanceTo(origin);
  }

  pointForecastInto(out: Float64Array, horizon: number): void {
    const k = this.members.length;
    const rows = this.buffer(k * horizon);
    this.members.forEach((member, i) => {
      pointForecastInto(member, rows.subarray(i * horizon, (i + 1) * horizon), horizon);
    });
    combineInto(rows, k, horizon, this.combination, out, this.column);
  }

  /** The combined mean; quantiles are the members' averaged level by level (a fallback only). */
  forecast(horizon: number): QuantileForecast {
    const forecasts = this.members.map((m) => m.forecast(horizon));
    const mean = new Float64Array(horizon);
    this.pointForecastInto(mean, horizon);
    const levels = forecasts[0]?.quantiles.length ?? 0;
    const quantiles: Float64Array[] = [];
    for (let q = 0; q < levels; q++) {
      const row = new Float64Array(horizon);
      for (const f of forecasts) {
        const member = f.quantiles[q];
        for (let h = 0; h < horizon; h++) {
          row[h] = (row[h] as number) + (member?.[h] ?? 0) / forecasts.length;
        }
      }
      quantiles.push(row);
    }
    return { mean, quantiles };
  }

  /**
   * Its members' states and the combination.
   *
   * @throws ValidationError when a member cannot save its state or is itself a container
   */
  snapshot(): EnsembleSnapshot {
    return {
      kind: "ensemble",
      combination: this.combination,
      members: this.members.map((member, i) => {
        const snapshot = snapshotOf(member, `ensemble member ${i}`);
        if (snapshot.kind === "conformal" || snapshot.kind === "ensemble") {
          throw new ValidationError(
            `Cannot save the ensemble's state: member ${i} is a ${snapshot.kind} forecaster; an ensemble saves only ETS, Croston-family and seasonal-naive members. Refit this series instead of resuming it.`,
            [{ field: `members.${i}`, message: `is a ${snapshot.kind} forecaster` }],
          );
        }
        return snapshot satisfies LeafSnapshot;
      }),
    };
  }

  /** Its first member's header (members advance together). */
  stateHeader(): StateHeader {
    const first = this.members[0];
    if (first !== undefined && isSnapshotForecaster(first)) return first.stateHeader();
    throw new ValidationError(
      "Cannot save the ensemble's state: its first member cannot save state. Refit this series instead of resuming it.",
      [{ field: "members.0", message: "cannot save state" }],
    );
  }

  state(): ForecasterState {
    return forecasterState(ENSEMBLE_NAME, this);
  }

  private buffer(size: number): Float64Array {
    if (this.capacity < size) {
      this.capacity = size;
      this.rows = new Float64Array(size);
    }
    return this.rows;
  }
}

/**
 * Combines `k` rows of `horizon` values (row-major in `rows`) into `out`, step by step.
 *
 * @param scratch buffer of at least `k` values
 */
export function combineInto(
  rows: Float64Array,
  k: number,
  horizon: number,
  combination: Combination,
  out: Float64Array,
  scratch: Float64Array,
): void {
  for (let h = 0; h < horizon; h++) {
    if (combination === "mean") {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += rows[i * horizon + h] as number;
      out[h] = sum / k;
      continue;
    }
    // Insertion sort of the k values (k is a handful): no allocation per step.
    for (let i = 0; i < k; i++) {
      const v = rows[i * horizon + h] as number;
      let j = i - 1;
      while (j >= 0 && (scratch[j] as number) > v) {
        scratch[j + 1] = scratch[j] as number;
        j--;
      }
      scratch[j + 1] = v;
    }
    const middle = k >> 1;
    out[h] =
      k % 2 === 1
        ? (scratch[middle] as number)
        : ((scratch[middle - 1] as number) + (scratch[middle] as number)) / 2;
  }
}
