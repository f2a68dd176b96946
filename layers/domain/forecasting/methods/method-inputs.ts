import { type FieldIssue, ValidationError } from "../../errors.js";
import type { FitContext, SeriesInput } from "./method.js";

/**
 * Boundary checks shared by the per-series forecasting methods: the fit context, the training
 * ends, and the horizons a forecaster is asked for. Data values are never a reason to throw
 * (missing, negative or huge values all get a defined forecast); only a malformed request is.
 */

/** Longest horizon any method accepts, in steps (a week of minutes is 10,080). */
export const MAX_HORIZON_STEPS = 100_000;

/**
 * Checks the fit inputs and resolves each series' training end.
 *
 * @param method the method's name, for the error message
 * @param series the series to fit
 * @param context season, horizon, quantile levels, optional training ends, seed
 * @returns per series, the exclusive end index of its training part
 * @throws ValidationError naming every malformed field, with what was expected
 */
export function checkFitInputs(
  method: string,
  series: readonly SeriesInput[],
  context: FitContext,
): Int32Array {
  const issues: FieldIssue[] = [];
  const integerIn = (field: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      issues.push({ field, message: `is ${value}; expected an integer in [${min}, ${max}]` });
    }
  };
  integerIn("seasonLength", context.seasonLength, 1, 1_000_000);
  integerIn("weeklySeasonLength", context.weeklySeasonLength, 1, 10_000_000);
  integerIn("horizon", context.horizon, 1, MAX_HORIZON_STEPS);
  if (!Number.isFinite(context.seed)) {
    issues.push({ field: "seed", message: `is ${context.seed}; expected a finite number` });
  }
  if (context.quantiles.length === 0) {
    issues.push({ field: "quantiles", message: "is empty; expected at least one level" });
  }
  context.quantiles.forEach((level, i) => {
    if (!(level > 0 && level < 1)) {
      issues.push({ field: `quantiles.${i}`, message: `is ${level}; expected a level in (0, 1)` });
    } else if (i > 0 && !(level > (context.quantiles[i - 1] as number))) {
      issues.push({ field: `quantiles.${i}`, message: `is ${level}; expected levels ascending` });
    }
  });
  const trainEnd = context.trainEnd;
  if (trainEnd !== undefined && trainEnd.length !== series.length) {
    issues.push({
      field: "trainEnd",
      message: `has ${trainEnd.length} entries for ${series.length} series; expected one per series`,
    });
  }
  const ends = new Int32Array(series.length);
  series.forEach((s, i) => {
    const length = s.values.length;
    const end = trainEnd?.[i] ?? length;
    if (!(Number.isInteger(end) && end >= 0 && end <= length)) {
      issues.push({
        field: `trainEnd.${i}`,
        message: `is ${end} for series "${s.id}" of ${length} values; expected an integer in [0, ${length}]`,
      });
    } else {
      ends[i] = end;
    }
  });
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid ${method} fit input: ${issues.map((p) => `${p.field} ${p.message}`).join("; ")}. Fix the fit context and retry.`,
      issues,
    );
  }
  return ends;
}

/**
 * Checks the horizon asked of a forecaster.
 *
 * @param method the method's name, for the error message
 * @param horizon steps asked for
 * @param maxHorizon the fit context's horizon, in steps
 * @throws ValidationError when the horizon is not an integer in [1, maxHorizon]
 */
export function checkHorizon(method: string, horizon: number, maxHorizon: number): void {
  if (!(Number.isInteger(horizon) && horizon >= 1 && horizon <= maxHorizon)) {
    throw new ValidationError(
      `${method} forecast horizon is ${horizon}; expected an integer in [1, ${maxHorizon}] (the fit context's horizon). Fit with a longer horizon to forecast further.`,
      [{ field: "horizon", message: `expected an integer in [1, ${maxHorizon}]` }],
    );
  }
}

/**
 * Checks an origin a forecaster is advanced to.
 *
 * @param method the method's name, for the error message
 * @param origin the new origin (exclusive end of the observations fed)
 * @param current the forecaster's current origin
 * @param length the series' length
 * @throws ValidationError when the origin moves backwards or past the series' end
 */
export function checkOrigin(method: string, origin: number, current: number, length: number): void {
  if (!(Number.isInteger(origin) && origin >= current && origin <= length)) {
    throw new ValidationError(
      `${method} cannot advance to origin ${origin}: the forecaster is at ${current} and the series has ${length} values. Expected an integer in [${current}, ${length}]; origins only move forward.`,
      [{ field: "origin", message: `expected an integer in [${current}, ${length}]` }],
    );
  }
}

/** The value at `index` when it is observed (finite), else NaN. */
export function observedAt(values: ArrayLike<number>, index: number): number {
  const v = values[index] as number;
  return Number.isFinite(v) ? v : Number.NaN;
}
