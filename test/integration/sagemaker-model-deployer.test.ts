import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeModelCommand,
} from "@aws-sdk/client-sagemaker";
import { beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import {
  SageMakerModelDeployer,
  type SageMakerModelDeployerOptions,
  sagemakerResourceName,
  VARIANT_NAME,
} from "../../layers/adapters/sagemaker/sagemaker-model-deployer.js";
import { NotFoundError } from "../../layers/domain/errors.js";
import type { ModelRecord } from "../../layers/domain/model-registry.js";
import { uniquePrefix } from "../helpers/tables.js";

/**
 * The SageMaker deployer against moto (UpdateEndpoint is added to moto by
 * test/helpers/moto_extensions.py; moto switches the endpoint at once, where AWS takes minutes).
 */

const aws = createAwsClients();
const sagemaker = aws.sagemaker();
const endpointName = `${uniquePrefix()}-forecaster`;
const role = "arn:aws:iam::123456789012:role/model";

function options(
  extra: Partial<SageMakerModelDeployerOptions> = {},
): SageMakerModelDeployerOptions {
  return {
    endpointName,
    imageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shaper-model:1",
    executionRoleArn: role,
    predictionLength: 12,
    seasonLength: 288,
    memorySizeMb: 3072,
    maxConcurrency: 7,
    ...extra,
  };
}

const record = (version: string): ModelRecord => ({
  modelName: "seasonal-naive",
  version,
  artifactUri: `s3://artefacts/models/seasonal-naive/${version}.json`,
  trainedAt: 1_795_000_000,
  status: "candidate",
});

beforeAll(async () => {
  const name = `${endpointName}-initial`;
  await sagemaker.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: role,
      PrimaryContainer: { Image: "x" },
    }),
  );
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: VARIANT_NAME,
          ModelName: name,
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
        },
      ],
    }),
  );
  await sagemaker.send(
    new CreateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: name }),
  );
});

describe("SageMakerModelDeployer", () => {
  it("creates the version's model and serverless config and switches the endpoint, then reports it serving", async () => {
    const deployer = new SageMakerModelDeployer(sagemaker, options());
    const version = record("v20261127-031700");
    expect((await deployer.status(version)).state).toBe("not-serving");
    await deployer.deploy(version);
    const endpoint = await sagemaker.send(
      new DescribeEndpointCommand({ EndpointName: endpointName }),
    );
    expect(endpoint.EndpointConfigName).toBe(`${endpointName}-v20261127-031700`);
    expect(endpoint.ProductionVariants?.[0]?.CurrentServerlessConfig).toEqual({
      MemorySizeInMB: 3072,
      MaxConcurrency: 7,
    });
    const model = await sagemaker.send(
      new DescribeModelCommand({ ModelName: `${endpointName}-v20261127-031700` }),
    );
    expect(model.PrimaryContainer?.Environment?.MODEL_VERSION).toBe("v20261127-031700");
    expect(model.PrimaryContainer?.Environment?.PREDICTION_LENGTH).toBe("12");
    // moto switches at once (AWS goes through "Updating" first, which status reports as such).
    expect(await deployer.status(version)).toEqual({ state: "serving" });
  });

  it("re-deploys an earlier version by reusing its model and config", async () => {
    const deployer = new SageMakerModelDeployer(sagemaker, options());
    await deployer.deploy(record("v20261128-031700"));
    await deployer.deploy(record("v20261127-031700"));
    await deployer.deploy(record("v20261127-031700"));
    const endpoint = await sagemaker.send(
      new DescribeEndpointCommand({ EndpointName: endpointName }),
    );
    expect(endpoint.EndpointConfigName).toBe(`${endpointName}-v20261127-031700`);
  });

  it("says NotFound for an endpoint that does not exist, creating nothing", async () => {
    const deployer = new SageMakerModelDeployer(
      sagemaker,
      options({ endpointName: `${endpointName}-x` }),
    );
    await expect(deployer.deploy(record("v1"))).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      sagemaker.send(new DescribeModelCommand({ ModelName: `${endpointName}-x-v1` })),
    ).rejects.toThrow(/Could not find model/);
  });

  it("names resources `<endpoint>-<version>` within SageMaker's 63 characters", () => {
    expect(sagemakerResourceName("shaper-forecaster", "v20261127-031700")).toBe(
      "shaper-forecaster-v20261127-031700",
    );
    const long = sagemakerResourceName("a".repeat(40), "v20261127-031700-extra-long");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
    expect(long).not.toBe(sagemakerResourceName("a".repeat(40), "v20261127-031700-extra-lonG"));
  });
});
