import { seasonIntervals } from "../../domain/config.js";
import { forecastSeasonalNaive } from "../../domain/forecasting/seasonal-naive.js";
import type {
  ForecastInstance,
  ForecastModel,
  ForecastOptions,
  ForecastOutput,
  ModelIdentity,
} from "../../ports/forecast-model.js";

export interface InProcessForecastModelOptions {
  /** Steps forecast when the call does not say (`ForecastOptions.predictionLength`). @default 12 */
  readonly predictionLength?: number;
  /** Steps per season. @default one day of the call's interval (86 400 s / intervalSeconds) */
  readonly seasonLength?: number;
  /** Multiplies interval offsets (a fitted calibration factor). @default 1 */
  readonly intervalScale?: number;
  /** @default { model: "seasonal-naive", modelVersion: "in-process" } */
  readonly identity?: ModelIdentity;
}

/**
 * The seasonal-naive model run inside the calling process: the forecast function's fallback when
 * the endpoint fails, and the model of local runs. Never fails on data (short, empty or
 * NaN-bearing series get a forecast), so the fallback always answers.
 *
 * @example
 * const fallback = new InProcessForecastModel();
 * const outputs = await fallback.forecast(instances, { quantiles: [0.1, 0.5, 0.9], numSamples: 100, intervalSeconds: 300, predictionLength: 12 });
 */
export class InProcessForecastModel implements ForecastModel {
  readonly identity: ModelIdentity;

  constructor(private readonly options: InProcessForecastModelOptions = {}) {
    this.identity = options.identity ?? { model: "seasonal-naive", modelVersion: "in-process" };
  }

  async forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ForecastOutput[]> {
    const predictionLength = options.predictionLength ?? this.options.predictionLength ?? 12;
    const seasonLength =
      this.options.seasonLength ?? seasonIntervals({ intervalSeconds: options.intervalSeconds });
    return instances.map((instance) => {
      const { mean, quantiles } = forecastSeasonalNaive(instance.target, {
        predictionLength,
        seasonLength,
        quantiles: options.quantiles,
        ...(this.options.intervalScale === undefined
          ? {}
          : { intervalScale: this.options.intervalScale }),
      });
      return { mean, quantiles };
    });
  }
}
