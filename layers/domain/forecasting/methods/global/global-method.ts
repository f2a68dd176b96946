import { z } from "zod";
import { toFieldIssues } from "../../../config.js";
import { ValidationError } from "../../../errors.js";
import type {
  FitContext,
  FittedMethod,
  ForecastMethod,
  QuantileForecast,
  SeriesForecaster,
  SeriesInput,
} from "../method.js";
import { contextLength } from "./features.js";
import {
  forecastGlobal,
  type GlobalModel,
  type PredictionWorkspace,
  predictionWorkspace,
} from "./global-model.js";
import { type GlobalModelOptions, type TrainingReport, trainGlobalModel } from "./training.js";

/**
 * The global forecasting method: one network shared by every series (see training.ts and
 * features.ts), behind the ForecastMethod contract. After `fit` the weights are fixed; a
 * forecaster only keeps the recent history of its series (`contextLength` steps) and appends to
 * it as time moves on, so forecasting a series again never refits.
 *
 * Where things live in AWS: the weights are the model artefact the retrain flow writes to S3
 * (`serializeGlobalModel`, base64 float32 in versioned JSON) and the model server loads; a
 * forecaster's `state()` is small enough to rebuild from the usage table at each forecast run,
 * so it need not be stored at all (it is serialisable for callers that cache it).
 */

/** Name of the method in reports and the model registry. */
export const GLOBAL_METHOD_NAME = "global";

/** A fitted global method: the forecasters plus the model and its training report. */
export interface GlobalFittedMethod extends FittedMethod {
  readonly model: GlobalModel;
  readonly report: TrainingReport;
}

/**
 * The global method.
 *
 * @param options architecture and training budget (defaults: see `GlobalModelOptions`)
 * @returns a ForecastMethod named "global"
 * @throws ValidationError when an option is out of range (checked at fit)
 * @example
 * const fitted = await globalMethod({ hiddenSizes: [64, 64] }).fit(series, {
 *   seasonLength: 288, horizon: 12, quantiles: [0.1, 0.5, 0.9], seed: 1,
 * });
 * const forecaster = fitted.forSeries(0);
 * forecaster.advanceTo(series[0].values.length);
 * forecaster.forecast(12).quantiles[2]; // q0.9 for the next 12 steps
 */
export function globalMethod(options: GlobalModelOptions = {}): ForecastMethod {
  return {
    name: GLOBAL_METHOD_NAME,
    fit(series: readonly SeriesInput[], context: FitContext): GlobalFittedMethod {
      const { model, report } = trainGlobalModel(series, context, options);
      return {
        name: GLOBAL_METHOD_NAME,
        model,
        report,
        forSeries(index: number): SeriesForecaster {
          const input = series[index];
          if (!input) {
            throw new ValidationError(
              `No series at index ${index}; the method was fitted on ${series.length}. Ask for an index in [0, ${series.length - 1}].`,
            );
          }
          const end = Math.min(
            input.values.length,
            context.trainEnd?.[index] ?? input.values.length,
          );
          return GlobalForecaster.atPosition(model, input, Math.max(0, Math.floor(end)));
        },
      };
    },
  };
}

/** Version of the forecaster state layout. */
export const GLOBAL_FORECASTER_STATE_VERSION = 1;

export const GlobalForecasterStateSchema = z.object({
  kind: z.literal("global-forecaster"),
  version: z.literal(GLOBAL_FORECASTER_STATE_VERSION),
  seriesId: z.string(),
  /** Series index of the next value (the origin the forecaster is at). */
  position: z.int().nonnegative(),
  /** Epoch seconds of the origin. */
  originSeconds: z.number(),
  stepSeconds: z.number().positive(),
  features: z.record(z.string(), z.string()).optional(),
  /** The kept history, oldest first, ending just before the origin; null = missing. */
  values: z.array(z.number().nullable()),
});
export type GlobalForecasterState = z.infer<typeof GlobalForecasterStateSchema>;

/**
 * A forecaster of one series under a global model: its recent history and the model.
 * Implements `SeriesForecaster`; `append` also lets a restored forecaster (no series attached)
 * take new observations.
 */
export class GlobalForecaster implements SeriesForecaster {
  private history: number[];
  private position: number;
  private readonly keep: number;
  private workspace: PredictionWorkspace | undefined;

  private constructor(
    private readonly model: GlobalModel,
    private readonly seriesId: string,
    private readonly source: SeriesInput | undefined,
    history: number[],
    position: number,
    private readonly originSecondsAtZero: number,
    private readonly stepSeconds: number,
    private readonly features: Readonly<Record<string, string>> | undefined,
  ) {
    this.keep = contextLength(model.layout);
    this.history = history.slice(-this.keep);
    this.position = position;
  }

  /**
   * A forecaster of `series` positioned at `position` (it has seen values before it).
   *
   * @param model the trained model
   * @param series the series, read only below the positions it is advanced to
   * @param position the first index not yet seen
   */
  static atPosition(model: GlobalModel, series: SeriesInput, position: number): GlobalForecaster {
    const keep = contextLength(model.layout);
    const history: number[] = [];
    for (let i = Math.max(0, position - keep); i < position; i++) {
      history.push(i < series.values.length ? (series.values[i] as number) : Number.NaN);
    }
    return new GlobalForecaster(
      model,
      series.id,
      series,
      history,
      position,
      series.startSeconds,
      series.stepSeconds,
      series.features,
    );
  }

  /**
   * A forecaster rebuilt from `state()` output; it takes new observations through `append`.
   *
   * @param model the model the state was made with
   * @param state the parsed JSON of `state()`
   * @throws ValidationError when the state is not a global forecaster state of this version
   */
  static restore(model: GlobalModel, state: unknown): GlobalForecaster {
    const parsed = GlobalForecasterStateSchema.safeParse(state);
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error);
      throw new ValidationError(
        `Global forecaster state is invalid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}. Expected the JSON of state() (kind "global-forecaster", version ${GLOBAL_FORECASTER_STATE_VERSION}).`,
        issues,
      );
    }
    const s = parsed.data;
    return new GlobalForecaster(
      model,
      s.seriesId,
      undefined,
      s.values.map((v) => (v === null ? Number.NaN : v)),
      s.position,
      s.originSeconds - s.position * s.stepSeconds,
      s.stepSeconds,
      s.features,
    );
  }

  advanceTo(origin: number): void {
    if (!(Number.isInteger(origin) && origin >= this.position)) {
      throw new ValidationError(
        `Cannot advance series "${this.seriesId}" to ${origin}: it is at ${this.position} and origins only move forward. Pass an integer ≥ ${this.position}.`,
      );
    }
    if (origin === this.position) return;
    if (!this.source) {
      throw new ValidationError(
        `Series "${this.seriesId}" was restored from state and has no values to advance through. Use append(values) with the new observations.`,
      );
    }
    const values = this.source.values;
    const from = Math.max(this.position, origin - this.keep);
    if (from > this.position) this.history = [];
    for (let i = from; i < origin; i++) {
      this.history.push(i < values.length ? (values[i] as number) : Number.NaN);
    }
    this.position = origin;
    this.trim();
  }

  /**
   * Appends observations just after the current position (oldest first; NaN = missing).
   *
   * @param values the new observations
   */
  append(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.history.push(values[i] as number);
    this.position += values.length;
    this.trim();
  }

  forecast(horizon: number): QuantileForecast {
    const max = this.model.layout.horizon;
    if (!(Number.isInteger(horizon) && horizon >= 1 && horizon <= max)) {
      throw new ValidationError(
        `Cannot forecast ${horizon} steps: the global model was trained for horizons 1…${max}. Ask for at most ${max} steps, or refit with a longer horizon.`,
      );
    }
    this.workspace ??= predictionWorkspace(this.model);
    return forecastGlobal(
      this.model,
      {
        values: this.history,
        originSeconds: this.originSecondsAtZero + this.position * this.stepSeconds,
        stepSeconds: this.stepSeconds,
        ...(this.features ? { features: this.features } : {}),
      },
      horizon,
      this.model.levels,
      this.workspace,
    );
  }

  state(): GlobalForecasterState {
    return {
      kind: "global-forecaster",
      version: GLOBAL_FORECASTER_STATE_VERSION,
      seriesId: this.seriesId,
      position: this.position,
      originSeconds: this.originSecondsAtZero + this.position * this.stepSeconds,
      stepSeconds: this.stepSeconds,
      ...(this.features ? { features: { ...this.features } } : {}),
      values: this.history.slice(-this.keep).map((v) => (Number.isFinite(v) ? v : null)),
    };
  }

  private trim(): void {
    // Trim in chunks so appending one value at a time stays O(1) amortised.
    if (this.history.length > 2 * this.keep) this.history = this.history.slice(-this.keep);
  }
}
