/** One series to forecast, in the shape of a DeepAR instance. */
export interface ForecastInstance {
  /** Epoch seconds of target[0]. */
  readonly start: number;
  /** History; NaN marks a missing value. */
  readonly target: readonly number[];
  /** Categorical features (e.g. the tier's index). */
  readonly cat?: readonly number[];
  readonly dynamicFeat?: readonly (readonly number[])[];
  /** The `state` this model returned for the series last time; it resumes instead of refitting. */
  readonly state?: unknown;
}

export interface ForecastOptions {
  readonly quantiles: readonly number[];
  readonly numSamples: number;
  readonly intervalSeconds: number;
  /**
   * Steps the caller needs. A model that answers fewer fails (DependencyError); longer answers
   * are cut to it. Absent: the model's own prediction length.
   */
  readonly predictionLength?: number;
}

/** Forecast of one instance: `mean` and `quantiles` (keyed "0.1" …) over the model's prediction length. */
export interface ForecastOutput {
  readonly mean: number[];
  readonly quantiles: Record<string, number[]>;
  /** The series' state to give back with its next forecast (opaque; absent if the model keeps none). */
  readonly state?: unknown;
  /**
   * True when the model continued the instance's `state` over the new values instead of refitting:
   * it read nothing before the state's origin (`modelStateOrigin`), so a caller that sent only the
   * values from there on has its answer; otherwise it should send the whole history again.
   */
  readonly resumed?: boolean;
}

export interface ModelIdentity {
  readonly model: string;
  readonly modelVersion: string;
}

/**
 * A forecasting model: the SageMaker endpoint in AWS (DeepAR's JSON contract), the local model
 * server, or the in-function fallback.
 */
export interface ForecastModel {
  readonly identity: ModelIdentity;
  /**
   * One output per instance, in order.
   * @throws DependencyError when the model cannot answer (down, timeout, malformed response).
   */
  forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ForecastOutput[]>;
}
