import { ArnFormat, Stack } from "aws-cdk-lib";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sagemaker from "aws-cdk-lib/aws-sagemaker";
import { Construct } from "constructs";
import { acknowledgeAll } from "./acknowledge.js";
import type { ArtifactStore } from "./artifact-store.js";

/** Files outside the model server's needs, kept out of the image build context and its hash. */
export const DEFAULT_IMAGE_EXCLUDES: readonly string[] = [
  "node_modules",
  "**/node_modules",
  "cdk.out",
  ".cache",
  ".git",
  ".ci",
  "test",
  "docs",
  "infra",
  "coverage",
  "out",
  ".shaper",
  "*.log",
];

export interface ModelEndpointProps {
  /** SageMaker endpoint name; the forecast functions call it, retrain updates it. */
  readonly endpointName: string;
  /** Artefact store the container may read models from. */
  readonly artifacts: ArtifactStore;
  /** `PREDICTION_LENGTH` of the model, in intervals (the config's `horizonIntervals`). */
  readonly predictionLength: number;
  /** `SEASON_LENGTH` of the model, in intervals (one day: 86,400 s / `intervalSeconds`). */
  readonly seasonLength: number;
  /** Directory of the image build context. */
  readonly imageDirectory: string;
  /**
   * Dockerfile, relative to `imageDirectory`.
   * @default "model-server/Dockerfile"
   */
  readonly dockerfile?: string;
  /**
   * Paths excluded from the build context (and from the asset hash, so editing them does not
   * rebuild the image).
   * @default DEFAULT_IMAGE_EXCLUDES
   */
  readonly exclude?: readonly string[];
  /**
   * Memory of the serverless endpoint, in MB (1024–6144, steps of 1024).
   * @default 2048
   */
  readonly memorySizeMb?: number;
  /**
   * Concurrent invocations the serverless endpoint serves before throttling.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * `MODEL_VERSION` the deployed container reports until retrain promotes another.
   * @default "initial"
   */
  readonly initialModelVersion?: string;
}

/**
 * The forecasting endpoint: the project's model server (model-server/Dockerfile) built as a
 * container image asset at deploy time (synth needs no Docker), a SageMaker model, a serverless
 * endpoint config and the endpoint named in the config. Retrain creates further models and
 * endpoint configs named `<endpointName>-*` and points the endpoint at them.
 */
export class ModelEndpoint extends Construct {
  readonly image: ecrAssets.DockerImageAsset;
  readonly executionRole: iam.Role;
  readonly endpointName: string;
  readonly endpointArn: string;
  readonly memorySizeMb: number;
  readonly maxConcurrency: number;
  readonly model: sagemaker.CfnModel;
  readonly endpointConfig: sagemaker.CfnEndpointConfig;
  readonly endpoint: sagemaker.CfnEndpoint;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.endpointName = props.endpointName;
    this.memorySizeMb = props.memorySizeMb ?? 2048;
    this.maxConcurrency = props.maxConcurrency ?? 5;
    // SageMaker lower-cases names in ARNs.
    this.endpointArn = stack.formatArn({
      service: "sagemaker",
      resource: "endpoint",
      resourceName: props.endpointName.toLowerCase(),
    });

    this.image = new ecrAssets.DockerImageAsset(this, "Image", {
      directory: props.imageDirectory,
      file: props.dockerfile ?? "model-server/Dockerfile",
      exclude: [...(props.exclude ?? DEFAULT_IMAGE_EXCLUDES)],
      platform: ecrAssets.Platform.LINUX_AMD64,
    });

    this.executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("sagemaker.amazonaws.com"),
      description: "Runs shaper's forecasting model server on SageMaker",
    });
    this.image.repository.grantPull(this.executionRole);
    props.artifacts.grantArtifacts(this.executionRole, "read");
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [
          stack.formatArn({
            service: "logs",
            resource: "log-group",
            resourceName: "/aws/sagemaker/Endpoints/*",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: { StringEquals: { "cloudwatch:namespace": "/aws/sagemaker/Endpoints" } },
      }),
    );
    const policy = this.executionRole.node.tryFindChild("DefaultPolicy");
    if (policy) {
      acknowledgeAll(policy, [
        {
          id: "AwsSolutions-IAM5[Resource::*]",
          reason:
            "ecr:GetAuthorizationToken has no resource-level permission; cloudwatch:PutMetricData has none either and is limited by the cloudwatch:namespace condition to SageMaker's endpoint namespace.",
        },
        {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*]`,
          reason:
            "SageMaker names the endpoint's log group and streams at run time under /aws/sagemaker/Endpoints/; the role may write only there.",
        },
      ]);
    }

    const environment = {
      PREDICTION_LENGTH: String(props.predictionLength),
      SEASON_LENGTH: String(props.seasonLength),
      MODEL_VERSION: props.initialModelVersion ?? "initial",
    };
    this.model = new sagemaker.CfnModel(this, "Model", {
      executionRoleArn: this.executionRole.roleArn,
      primaryContainer: { image: this.image.imageUri, environment },
    });
    // The role's policy (ECR pull) must exist before SageMaker validates the image.
    const rolePolicy = this.executionRole.node.tryFindChild("DefaultPolicy");
    if (rolePolicy) this.model.node.addDependency(rolePolicy);

    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, "EndpointConfig", {
      productionVariants: [
        {
          modelName: this.model.attrModelName,
          variantName: "AllTraffic",
          serverlessConfig: {
            memorySizeInMb: this.memorySizeMb,
            maxConcurrency: this.maxConcurrency,
          },
        },
      ],
    });
    this.endpoint = new sagemaker.CfnEndpoint(this, "Endpoint", {
      endpointName: props.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
    });
  }

  /** ARN pattern of a SageMaker resource type that retrain creates, e.g. `model` → `…:model/<endpoint>-*`. */
  resourceArnPattern(resource: "model" | "endpoint-config"): string {
    return Stack.of(this).formatArn({
      service: "sagemaker",
      resource,
      resourceName: `${this.endpointName.toLowerCase()}-*`,
    });
  }
}
