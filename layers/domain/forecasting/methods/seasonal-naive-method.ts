import { quantileKey } from "../../config.js";
import { forecastSeasonalNaive } from "../seasonal-naive.js";
import {
  type ForecasterState,
  forecasterState,
  headerAt,
  type ParsedSeasonalNaiveSnapshot,
  type SeasonalNaiveSnapshot,
  type SeriesHistory,
  type SnapshotForecaster,
  type StateHeader,
} from "./forecaster-snapshot.js";
import type { LocalForecastMethod } from "./local-method.js";
import type { FitContext, FittedMethod, QuantileForecast, SeriesInput } from "./method.js";
import { checkFitInputs, checkHorizon, checkOrigin } from "./method-inputs.js";
import type { PointForecaster } from "./point-forecaster.js";
import { encodeFloat64 } from "./state-codec.js";

/**
 * The "seasonal-naive" forecasting method: the product's existing seasonal-naive model
 * (seasonal-naive.ts: the value one season back, empirical quantiles of its own seasonal
 * differences), run at each origin on the last `historyPoints` values, as the forecast function
 * runs it on the history it reads. The floor every other method must beat, and the MASE scale.
 *
 * Nothing is fitted: `fit` only checks its inputs, and a forecaster keeps nothing but its origin.
 * Its saved state (`state()`, kind "seasonal-naive") keeps, per seasonal slot, the latest observed
 * value in the history window — all the point forecast reads, m values rather than the window's
 * 8 m: a restored forecaster's point forecasts (all the shaper method uses once calibrated) are
 * exact; its own empirical quantiles are rebuilt from those values plus the ones fed since, so
 * they match the original's again once a full window has been fed.
 */

export interface SeasonalNaiveMethodOptions {
  /** Name in reports. @default "seasonal-naive" */
  readonly name?: string;
  /**
   * History the model sees at each origin, in steps.
   * @default max(2,016, 8 × seasonLength) — the forecast function's default history
   *   (`forecast.historyIntervals`, a week of 5-minute steps), and at least 8 seasons
   */
  readonly historyPoints?: number;
}

/**
 * Creates the seasonal-naive method.
 *
 * @param options name and history window
 * @example
 * const fitted = seasonalNaiveMethod().fit(series, { seasonLength: 288, horizon: 12, quantiles: [0.1, 0.9], seed: 0 });
 * fitted.forSeries(0).forecast(12).quantiles[1]; // the 0.9 quantile, 12 steps
 */
export function seasonalNaiveMethod(options: SeasonalNaiveMethodOptions = {}): LocalForecastMethod {
  const name = options.name ?? "seasonal-naive";
  return {
    name,
    fit(series: readonly SeriesInput[], context: FitContext): FittedMethod {
      const ends = checkFitInputs(name, series, context);
      const history = options.historyPoints ?? Math.max(2016, 8 * context.seasonLength);
      return {
        name,
        forSeries(index: number): SeasonalNaiveForecaster {
          const s = series[index];
          if (s === undefined) {
            throw new RangeError(`Series index ${index} is outside [0, ${series.length - 1}].`);
          }
          return new SeasonalNaiveForecaster(name, s, ends[index] as number, history, context);
        },
      };
    },
  };
}

/** The seasonal-naive model positioned at an origin of its series. */
export class SeasonalNaiveForecaster implements PointForecaster, SnapshotForecaster {
  private readonly values: ArrayLike<number>;

  /**
   * @param name the method's name (errors, state)
   * @param series the series it reads
   * @param origin index of the first value not yet seen
   * @param historyPoints steps of history the model sees at each origin
   * @param context season, horizon and quantile levels
   */
  constructor(
    private readonly name: string,
    private readonly series: SeriesHistory,
    private origin: number,
    private readonly historyPoints: number,
    private readonly context: Pick<FitContext, "seasonLength" | "horizon" | "quantiles">,
  ) {
    this.values = series.values;
  }

  advanceTo(origin: number): void {
    checkOrigin(this.name, origin, this.origin, this.values.length);
    this.origin = origin;
  }

  forecast(horizon: number): QuantileForecast {
    checkHorizon(this.name, horizon, this.context.horizon);
    const from = Math.max(0, this.origin - this.historyPoints);
    const target: number[] = [];
    for (let t = from; t < this.origin; t++) target.push(this.values[t] as number);
    const f = forecastSeasonalNaive(target, {
      predictionLength: horizon,
      seasonLength: this.context.seasonLength,
      quantiles: this.context.quantiles,
    });
    return {
      mean: Float64Array.from(f.mean),
      quantiles: this.context.quantiles.map((level) =>
        Float64Array.from(f.quantiles[quantileKey(level)] ?? f.mean),
      ),
    };
  }

  /**
   * The mean alone, without the empirical error distribution: the latest observed value in the
   * step's seasonal slot within the history window, else the last observed value, else 0;
   * clamped at 0 (the model treats every series as demand). Equal to `forecast(h).mean` up to
   * rounding.
   */
  pointForecastInto(out: Float64Array, horizon: number): void {
    const from = Math.max(0, this.origin - this.historyPoints);
    const m = this.context.seasonLength;
    let last = Number.NaN;
    for (let t = this.origin - 1; t >= from; t--) {
      const v = this.values[t] as number;
      if (Number.isFinite(v)) {
        last = v;
        break;
      }
    }
    const seasonal = this.origin - from >= m;
    for (let h = 0; h < horizon; h++) {
      let value = last;
      if (seasonal) {
        for (let t = this.origin + h - m * Math.ceil((h + 1) / m); t >= from; t -= m) {
          const v = this.values[t] as number;
          if (Number.isFinite(v)) {
            value = v;
            break;
          }
        }
      }
      out[h] = Number.isFinite(value) ? Math.min(Math.max(value, 0), Number.MAX_VALUE) : 0;
    }
  }

  snapshot(): SeasonalNaiveSnapshot {
    const m = this.context.seasonLength;
    const from = Math.max(0, this.origin - this.historyPoints);
    const found: { age: number; value: number }[] = [];
    for (let slot = 0; slot < Math.min(m, this.origin - from); slot++) {
      for (let t = this.origin - 1 - slot; t >= from; t -= m) {
        const v = this.values[t] as number;
        if (Number.isFinite(v)) {
          found.push({ age: this.origin - t, value: v });
          break;
        }
      }
    }
    found.sort((a, b) => a.age - b.age);
    return {
      kind: "seasonal-naive",
      name: this.name,
      seasonLength: m,
      historyPoints: this.historyPoints,
      window: this.origin - from,
      ages: found.map((f) => f.age),
      values: encodeFloat64(found.map((f) => f.value)),
    };
  }

  stateHeader(): StateHeader {
    return headerAt(this.series, this.origin, this.context);
  }

  state(): ForecasterState {
    return forecasterState(this.name, this);
  }

  /**
   * A forecaster resumed from a parsed snapshot. `series` must hold, in the `snapshot.window`
   * values before `origin`, the snapshot's values at their ages (NaN elsewhere): the restore
   * (forecaster-state.ts) lays them out so.
   *
   * @param snapshot the parsed "seasonal-naive" component
   * @param series the series it reads
   * @param origin index in `series` of the first value not yet absorbed (≥ snapshot.window)
   * @param context horizon and quantile levels
   */
  static restore(
    snapshot: ParsedSeasonalNaiveSnapshot,
    series: SeriesHistory,
    origin: number,
    context: Pick<FitContext, "horizon" | "quantiles">,
  ): SeasonalNaiveForecaster {
    return new SeasonalNaiveForecaster(snapshot.name, series, origin, snapshot.historyPoints, {
      seasonLength: snapshot.seasonLength,
      horizon: context.horizon,
      quantiles: context.quantiles,
    });
  }
}
