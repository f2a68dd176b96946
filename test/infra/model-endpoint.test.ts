import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_IMAGE_EXCLUDES } from "../../infra/constructs/model-endpoint.js";
import { type SynthResult, synthShaper } from "./synth.js";

describe("ModelEndpoint", () => {
  let synth: SynthResult;
  let template: Template;

  beforeAll(() => {
    synth = synthShaper();
    template = synth.template;
  });

  it("serves the forecasting model from a serverless endpoint config (2048 MB, concurrency 5)", () => {
    template.hasResourceProperties("AWS::SageMaker::EndpointConfig", {
      ProductionVariants: [
        {
          ModelName: { "Fn::GetAtt": [Match.stringLikeRegexp("^ModelEndpointModel"), "ModelName"] },
          VariantName: "AllTraffic",
          ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 },
        },
      ],
    });
    const variants = Object.values(template.findResources("AWS::SageMaker::EndpointConfig"))[0]
      ?.Properties.ProductionVariants as Array<Record<string, unknown>>;
    expect(variants[0]).not.toHaveProperty("InstanceType");
  });

  it("names the endpoint after the config and points it at the endpoint config", () => {
    template.hasResourceProperties("AWS::SageMaker::Endpoint", {
      EndpointName: "shaper-forecaster",
      EndpointConfigName: {
        "Fn::GetAtt": [
          Match.stringLikeRegexp("^ModelEndpointEndpointConfig"),
          "EndpointConfigName",
        ],
      },
    });
  });

  it("configures the model container from the config: horizon, one-day season, initial version", () => {
    template.hasResourceProperties("AWS::SageMaker::Model", {
      ExecutionRoleArn: {
        "Fn::GetAtt": [Match.stringLikeRegexp("^ModelEndpointExecutionRole"), "Arn"],
      },
      PrimaryContainer: {
        Image: Match.anyValue(),
        Environment: { PREDICTION_LENGTH: "12", SEASON_LENGTH: "288", MODEL_VERSION: "initial" },
      },
    });
  });

  it("builds the image from model-server/Dockerfile at deploy time, not at synth", () => {
    // The asset manifest describes the image; nothing was built to get here (no Docker here).
    const assembly = synth.app.synth();
    const assets = JSON.parse(
      readFileSync(join(assembly.directory, `${synth.stack.artifactId}.assets.json`), "utf8"),
    ) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string } }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]?.source.dockerFile).toBe("model-server/Dockerfile");
    const staged = join(assembly.directory, images[0]!.source.directory);
    expect(existsSync(join(staged, "model-server", "Dockerfile"))).toBe(true);
    expect(existsSync(join(staged, "node_modules"))).toBe(false);
    expect(existsSync(join(staged, ".cache"))).toBe(false);
    expect(DEFAULT_IMAGE_EXCLUDES).toEqual(
      expect.arrayContaining(["node_modules", "cdk.out", ".cache", ".git", "test"]),
    );
  });

  it("lets the execution role pull the image, read artefacts and write its own logs", () => {
    const role = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.startsWith("ModelEndpointExecutionRole"),
    )?.[1];
    const statements = JSON.stringify(role?.Properties.PolicyDocument.Statement);
    expect(statements).toContain("ecr:BatchGetImage");
    expect(statements).toContain('"s3:GetObject"');
    expect(statements).not.toContain("s3:PutObject");
    expect(statements).toContain("/aws/sagemaker/Endpoints/*");
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: "sagemaker.amazonaws.com" } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });
});
