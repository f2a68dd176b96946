import type { ModelRecord } from "../domain/model-registry.js";

/** Whether the forecasting endpoint serves a model version. */
export type DeploymentStatus =
  /** The endpoint serves this version. */
  | { readonly state: "serving" }
  /** An update is in progress; ask again later. */
  | { readonly state: "updating"; readonly detail: string }
  /** It serves another version (never deployed, or rolled back) or has failed; `detail` says which. */
  | { readonly state: "not-serving"; readonly detail: string };

/** Puts a promoted model behind the forecasting endpoint (SageMaker UpdateEndpoint in AWS). */
export interface ModelDeployer {
  /**
   * Starts serving `record`. Returns once the change was accepted, which may be before it serves
   * (SageMaker updates an endpoint over minutes and rolls back by itself when the new model fails
   * to start); `status` says when it does.
   * @throws DependencyError when the change is refused (retryable while the endpoint is busy)
   */
  deploy(record: ModelRecord): Promise<void>;
  status(record: ModelRecord): Promise<DeploymentStatus>;
}
