import {
  CreateTableCommand,
  DeleteTableCommand,
  ListTablesCommand,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { createAwsClients, resolveAwsSettings } from "../../layers/adapters/aws-clients.js";

describe("AWS client factory", () => {
  it("prefers the service-specific endpoint over AWS_ENDPOINT_URL", () => {
    const settings = resolveAwsSettings("sagemaker-runtime", {
      AWS_ENDPOINT_URL: "http://a:1",
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: "http://b:2",
    });
    expect(settings.endpoint).toBe("http://b:2");
    expect(resolveAwsSettings("dynamodb", { AWS_ENDPOINT_URL: "http://a:1" }).endpoint).toBe(
      "http://a:1",
    );
  });

  it("gives local defaults only when an endpoint override is set", () => {
    const local = resolveAwsSettings("dynamodb", { AWS_ENDPOINT_URL: "http://a:1" });
    expect(local.region).toBe("us-east-1");
    expect(local.credentials?.accessKeyId).toBe("test");
    const aws = resolveAwsSettings("dynamodb", {});
    expect(aws.endpoint).toBeUndefined();
    expect(aws.region).toBeUndefined();
    expect(aws.credentials).toBeUndefined();
  });

  it("turns overrides off with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", () => {
    const settings = resolveAwsSettings("s3", {
      AWS_ENDPOINT_URL: "http://a:1",
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
      AWS_REGION: "eu-west-1",
    });
    expect(settings.endpoint).toBeUndefined();
    expect(settings.region).toBe("eu-west-1");
  });

  it("reaches the test server with real SDK clients", async () => {
    const ddb = createAwsClients().dynamodb();
    const name = `factory-probe-${Date.now()}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      }),
    );
    const tables = await ddb.send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain(name);
    await ddb.send(new DeleteTableCommand({ TableName: name }));
  });
});
