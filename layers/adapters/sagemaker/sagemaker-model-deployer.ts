import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
} from "@aws-sdk/client-sagemaker";
import { DependencyError, NotFoundError } from "../../domain/errors.js";
import type { ModelRecord } from "../../domain/model-registry.js";
import type { DeploymentStatus, ModelDeployer } from "../../ports/model-deployer.js";
import { dependencyError } from "../dynamodb/errors.js";

export interface SageMakerModelDeployerOptions {
  /** The endpoint the forecast function invokes (config.forecast.endpointName). */
  readonly endpointName: string;
  /** The model server's container image, the same for every version (MODEL_IMAGE_URI). */
  readonly imageUri: string;
  /** Role SageMaker assumes to pull the image and read the artefact (MODEL_EXECUTION_ROLE_ARN). */
  readonly executionRoleArn: string;
  /** Forecast length in intervals, passed as PREDICTION_LENGTH (DeepAR takes it from the model, not the request). */
  readonly predictionLength: number;
  /** Default season length in intervals, passed as SEASON_LENGTH (the artefact may choose another). */
  readonly seasonLength: number;
  /** Serverless inference memory, in MB (1024–6144 in steps of 1024). */
  readonly memorySizeMb: number;
  /** Serverless inference concurrent invocations (1–200). */
  readonly maxConcurrency: number;
}

/** Variant name of the single production variant; the CDK stack's endpoint config uses the same. */
export const VARIANT_NAME = "AllTraffic";

/** SageMaker states in which UpdateEndpoint is refused until the operation in flight ends. */
const BUSY = new Set(["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"]);

/**
 * Puts a promoted model behind the forecasting endpoint: a SageMaker model named
 * `<endpoint>-<version>` (the same container image, with MODEL_ARTIFACT_URI and MODEL_VERSION
 * naming the artefact), a serverless endpoint config of the same name, then UpdateEndpoint.
 * Re-running for the same version reuses the model and config and does not update an endpoint
 * that already serves it.
 */
export class SageMakerModelDeployer implements ModelDeployer {
  constructor(
    private readonly client: SageMakerClient,
    private readonly options: SageMakerModelDeployerOptions,
  ) {}

  async deploy(record: ModelRecord): Promise<void> {
    const { endpointName } = this.options;
    const name = sagemakerResourceName(endpointName, record.version);
    const endpoint = await this.describeEndpoint();
    if (endpoint.EndpointConfigName === name && endpoint.EndpointStatus === "InService") return;
    if (BUSY.has(endpoint.EndpointStatus ?? "")) {
      throw new DependencyError(
        "SageMaker",
        `Endpoint ${endpointName} is ${endpoint.EndpointStatus}; UpdateEndpoint is refused until that ends. Retry later (the retrain flow retries this step).`,
        { retryable: true, details: { endpointName, status: endpoint.EndpointStatus } },
      );
    }
    await this.ensureModel(name, record);
    await this.ensureEndpointConfig(name);
    if (endpoint.EndpointConfigName !== name) {
      try {
        await this.client.send(
          new UpdateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: name }),
        );
      } catch (error) {
        throw dependencyError(
          "SageMaker",
          `updating endpoint ${endpointName} to config ${name}`,
          error,
        );
      }
    }
  }

  /**
   * Whether the endpoint serves `record`'s config: updating while SageMaker works on it;
   * not serving when it is in service on another config (never switched, or rolled back after the
   * new model failed to start — the failure reason is in `detail`) or has failed.
   */
  async status(record: ModelRecord): Promise<DeploymentStatus> {
    const name = sagemakerResourceName(this.options.endpointName, record.version);
    const endpoint = await this.describeEndpoint();
    const status = endpoint.EndpointStatus ?? "unknown";
    if (status === "InService" && endpoint.EndpointConfigName === name) return { state: "serving" };
    const reason = endpoint.FailureReason ? `; reason: ${endpoint.FailureReason}` : "";
    if (BUSY.has(status) && status !== "Deleting") {
      return {
        state: "updating",
        detail: `endpoint ${this.options.endpointName} is ${status}${reason}`,
      };
    }
    return {
      state: "not-serving",
      detail: `endpoint ${this.options.endpointName} is ${status} on config ${endpoint.EndpointConfigName ?? "none"}, not ${name}${reason}`,
    };
  }

  private async describeEndpoint(): Promise<DescribeEndpointCommandOutput> {
    const { endpointName } = this.options;
    try {
      return await this.client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    } catch (error) {
      if (isNotFound(error)) {
        throw new NotFoundError(
          `SageMaker endpoint ${endpointName} does not exist. Expected the endpoint the stack creates (config.forecast.endpointName); deploy the stack or fix the name.`,
          { details: { endpointName } },
        );
      }
      throw dependencyError("SageMaker", `describing endpoint ${endpointName}`, error);
    }
  }

  private async ensureModel(name: string, record: ModelRecord): Promise<void> {
    const describe = () => this.client.send(new DescribeModelCommand({ ModelName: name }));
    if (await this.exists(describe, `model ${name}`)) return;
    try {
      await this.client.send(
        new CreateModelCommand({
          ModelName: name,
          ExecutionRoleArn: this.options.executionRoleArn,
          PrimaryContainer: {
            Image: this.options.imageUri,
            Environment: {
              MODEL_ARTIFACT_URI: record.artifactUri,
              MODEL_VERSION: record.version,
              PREDICTION_LENGTH: String(this.options.predictionLength),
              SEASON_LENGTH: String(this.options.seasonLength),
            },
          },
        }),
      );
    } catch (error) {
      // Another run created it between our Describe and Create: reuse it.
      if (!isAlreadyExisting(error))
        throw dependencyError("SageMaker", `creating model ${name}`, error);
    }
  }

  private async ensureEndpointConfig(name: string): Promise<void> {
    const what = `endpoint config ${name}`;
    const describe = () =>
      this.client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
    if (await this.exists(describe, what)) return;
    try {
      await this.client.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: name,
          ProductionVariants: [
            {
              VariantName: VARIANT_NAME,
              ModelName: name,
              ServerlessConfig: {
                MemorySizeInMB: this.options.memorySizeMb,
                MaxConcurrency: this.options.maxConcurrency,
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (!isAlreadyExisting(error)) throw dependencyError("SageMaker", `creating ${what}`, error);
    }
  }

  private async exists(describe: () => Promise<unknown>, what: string): Promise<boolean> {
    try {
      await describe();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw dependencyError("SageMaker", `describing ${what}`, error);
    }
  }
}

/**
 * `<endpoint>-<version>` as a SageMaker resource name (letters, digits, hyphens, at most 63
 * characters); longer names are cut and end in a hash of the full name so they stay distinct.
 */
export function sagemakerResourceName(endpointName: string, version: string): string {
  const full = `${endpointName}-${version}`.replace(/[^A-Za-z0-9-]/g, "-").replace(/-+/g, "-");
  if (full.length <= 63) return full;
  let hash = 0x811c9dc5;
  for (let i = 0; i < full.length; i++) {
    hash ^= full.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `${full.slice(0, 54).replace(/-+$/, "")}-${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

/** SageMaker answers a Describe of a missing resource with a ValidationException "Could not find …". */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return (
    e?.name === "ResourceNotFound" ||
    (e?.name === "ValidationException" && /could not find/i.test(e.message ?? ""))
  );
}

/** "Cannot create already existing model/endpoint configuration …". */
function isAlreadyExisting(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === "ValidationException" && /already exist/i.test(e.message ?? "");
}
