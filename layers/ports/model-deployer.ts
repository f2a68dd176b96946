import type { ModelRecord } from "../domain/model-registry.js";

/** Puts a promoted model behind the forecasting endpoint (SageMaker UpdateEndpoint in AWS). */
export interface ModelDeployer {
  deploy(record: ModelRecord): Promise<void>;
}
