import type { ForecastInstance, ForecastModel } from "../../layers/ports/forecast-model.js";

/**
 * `model` with every call's instances recorded in `sent` (one array per call), to see what a
 * forecast run sent the endpoint.
 */
export function recordingModel(model: ForecastModel, sent: ForecastInstance[][]): ForecastModel {
  return {
    identity: model.identity,
    forecast: (instances, options) => {
      sent.push([...instances]);
      return model.forecast(instances, options);
    },
  };
}
