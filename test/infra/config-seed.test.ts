import { Template } from "aws-cdk-lib/assertions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_WRITE_LIMIT,
  ConfigSeed,
  toAttributeValue,
} from "../../infra/constructs/config-seed.js";
import { parseConfig } from "../../layers/domain/config.js";
import { shardOf } from "../../layers/domain/sharding.js";
import { testConfigInput } from "../fixtures/config.js";
import { emptyStack, synthShaper, TEST_CONFIG_UPDATED_AT } from "./synth.js";

interface SdkCall {
  service: string;
  action: string;
  parameters: Record<string, unknown>;
  physicalResourceId: { id: string };
}

/** The SDK calls (create and update) of every AwsCustomResource in a template, in id order. */
function seedCalls(template: Template): Array<{ create: SdkCall; update: SdkCall }> {
  const resources = template.findResources("Custom::AWS");
  return Object.keys(resources)
    .sort()
    .map((id) => {
      const props = resources[id]?.Properties as { Create: unknown; Update: unknown };
      const render = (value: unknown) =>
        JSON.parse(
          typeof value === "string"
            ? value
            : (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1]
                .map((part) => (typeof part === "string" ? part : "REGISTRY_TABLE"))
                .join(""),
        ) as SdkCall;
      return { create: render(props.Create), update: render(props.Update) };
    });
}

describe("ConfigSeed", () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthShaper());
  });

  it("writes the validated config to CONFIG/CURRENT at deploy, on create and on every change", () => {
    const [config] = seedCalls(template);
    expect(config?.create).toMatchObject({ service: "DynamoDB", action: "PutItem" });
    expect(config?.update).toEqual(config?.create);
    const item = config!.create.parameters.Item as Record<string, unknown>;
    expect(item.pk).toEqual({ S: "CONFIG" });
    expect(item.sk).toEqual({ S: "CURRENT" });
    expect(item.updatedAt).toEqual({ N: String(TEST_CONFIG_UPDATED_AT) });
    const stored = item.config as { M: Record<string, unknown> };
    expect(stored.M.intervalSeconds).toEqual({ N: "300" });
    expect(stored.M.shardCount).toEqual({ N: "16" });
    // Defaults are filled in: the stored config is what parseConfig returned.
    expect(stored.M.forecast).toMatchObject({ M: { endpointName: { S: "shaper-forecaster" } } });
    expect(config!.create.parameters.TableName).toBe("REGISTRY_TABLE");
  });

  it("writes each configured user as USER#<id>/PROFILE with its shard key", () => {
    const users = seedCalls(template).slice(1);
    expect(users).toHaveLength(1);
    const requests = (users[0]!.create.parameters.RequestItems as Record<string, unknown[]>)
      .REGISTRY_TABLE as Array<{ PutRequest: { Item: Record<string, { S?: string }> } }>;
    const items = requests.map((r) => r.PutRequest.Item);
    expect(items.map((i) => i.pk?.S)).toEqual([
      "USER#acme",
      "USER#globex",
      "USER#initech",
      "USER#hooli",
    ]);
    for (const item of items) {
      const userId = item.userId?.S ?? "";
      expect(item.sk?.S).toBe("PROFILE");
      expect(item.shardKey?.S).toBe(`SHARD#16#${shardOf(userId, 16)}`);
    }
    expect(items[2]).toMatchObject({ tier: { S: "standard" }, pools: { L: [{ S: "cpu" }] } });
  });

  it("splits users into BatchWriteItem calls of at most 25", () => {
    const stack = emptyStack();
    const table = new dynamodb.Table(stack, "Registry", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
    });
    const input = testConfigInput();
    input.users = Array.from({ length: 60 }, (_, i) => ({ userId: `u${i}`, tier: "standard" }));
    const seed = new ConfigSeed(stack, "Seed", {
      table,
      config: parseConfig(input),
      updatedAt: 1,
    });
    expect(seed.userWriters).toHaveLength(3);
    const calls = seedCalls(Template.fromStack(stack)).slice(1);
    const sizes = calls.map(
      (c) =>
        (Object.values(c.create.parameters.RequestItems as Record<string, unknown[]>)[0] ?? [])
          .length,
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(BATCH_WRITE_LIMIT);
    const ids = calls.map((c) => c.create.physicalResourceId.id);
    expect(new Set(ids).size).toBe(3);
  });

  it("lets the seed's provider write only to the registry table", () => {
    const policy = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.startsWith("ConfigSeedProviderRole"),
    )?.[1];
    const statements = policy?.Properties.PolicyDocument.Statement as Array<{
      Action: string | string[];
      Resource: unknown;
    }>;
    const dynamo = statements.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamo).toEqual([
      {
        Effect: "Allow",
        Action: ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
        Resource: { "Fn::GetAtt": [expect.stringMatching(/^TablesRegistry/), "Arn"] },
      },
    ]);
  });
});

describe("toAttributeValue", () => {
  it("marshals JSON the way the DynamoDB document client would, dropping undefined members", () => {
    expect(
      toAttributeValue({
        s: "x",
        n: 1.5,
        b: false,
        z: null,
        l: [1, "a"],
        o: { u: undefined, k: 2 },
      }),
    ).toEqual({
      M: {
        s: { S: "x" },
        n: { N: "1.5" },
        b: { BOOL: false },
        z: { NULL: true },
        l: { L: [{ N: "1" }, { S: "a" }] },
        o: { M: { k: { N: "2" } } },
      },
    });
  });

  it("refuses numbers DynamoDB cannot store", () => {
    expect(() => toAttributeValue(Number.POSITIVE_INFINITY)).toThrow(/expected a finite number/);
  });
});
