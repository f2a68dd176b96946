import { quantileKey, seasonIntervals } from "../../domain/config.js";
import { rearrangeQuantiles } from "../../domain/forecasting/quantiles.js";
import {
  forecastWithModel,
  type ModelSettings,
  WarmForecasters,
} from "../../domain/forecasting/series-model.js";
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
  /**
   * The model. @default the shaper method with a daily season of the call's interval
   * (86 400 s / intervalSeconds) and weekly candidates where history allows
   */
  readonly settings?: ModelSettings;
  /** @default { model: <settings.kind>, modelVersion: "in-process" } */
  readonly identity?: ModelIdentity;
  /**
   * Keep each resumed series' forecaster alive between calls, like a warm endpoint container:
   * when a call gives back the very state object this model returned (a caller that keeps states
   * as objects, e.g. the replay's state store), the forecaster continues instead of decoding and
   * restoring it, and each state it hands out is written only if read (series-model.ts,
   * `lazyState`). Forecasts and states are the same either way, except that a state given back
   * after its forecaster was continued, never having been read, is refitted. @default false
   */
  readonly keepWarm?: boolean;
}

/**
 * The product's forecasting model (series-model.ts) run inside the calling process: the forecast
 * function's fallback when the endpoint fails, and the model of local runs — the same code the
 * model server runs. Never fails on data (a series the shaper method cannot fit is answered by
 * seasonal naive; short, empty or NaN-bearing series get a forecast), so the fallback always
 * answers.
 *
 * @example
 * const fallback = new InProcessForecastModel();
 * const outputs = await fallback.forecast(instances, { quantiles: [0.1, 0.5, 0.9], numSamples: 100, intervalSeconds: 300, predictionLength: 12 });
 */
export class InProcessForecastModel implements ForecastModel {
  readonly identity: ModelIdentity;
  private readonly warm: WarmForecasters | undefined;

  constructor(private readonly options: InProcessForecastModelOptions = {}) {
    this.warm = options.keepWarm ? new WarmForecasters() : undefined;
    this.identity = options.identity ?? {
      model: options.settings?.kind ?? "shaper",
      modelVersion: "in-process",
    };
  }

  async forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ForecastOutput[]> {
    const predictionLength = options.predictionLength ?? this.options.predictionLength ?? 12;
    const day = seasonIntervals({ intervalSeconds: options.intervalSeconds });
    const settings: ModelSettings = this.options.settings ?? {
      kind: "shaper",
      seasonLength: day,
      weeklySeasonLength: 7 * day,
    };
    const forecasts = await forecastWithModel(
      instances.map((instance) => ({
        values: instance.target,
        time: { startSeconds: instance.start, stepSeconds: options.intervalSeconds },
        ...(instance.state === undefined ? {} : { state: instance.state }),
      })),
      settings,
      {
        predictionLength,
        quantiles: options.quantiles,
        stateTag: `${this.identity.model}@${this.identity.modelVersion}`,
      },
      this.warm,
    );
    return forecasts.map((f) => ({
      mean: f.mean,
      quantiles: rearrangeQuantiles(
        Object.fromEntries(options.quantiles.map((q, i) => [quantileKey(q), f.quantiles[i] ?? []])),
      ),
      ...(f.state === undefined ? {} : { state: f.state }),
      ...(f.origin?.how === "resumed" ? { resumed: true } : {}),
    }));
  }
}
