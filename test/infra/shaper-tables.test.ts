import type { CreateTableCommandInput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { RemovalPolicy } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { beforeAll, describe, expect, it } from "vitest";
import {
  REQUEST_LOG_INDEX,
  ShaperTables,
  TABLE_ENV,
  TTL_ATTRIBUTE,
  USERS_BY_SHARD_INDEX,
} from "../../infra/constructs/shaper-tables.js";
import * as adapterTables from "../../layers/adapters/dynamodb/tables.js";
import { createTables } from "../helpers/tables.js";
import { emptyStack } from "./synth.js";

interface TableProps {
  KeySchema: Array<{ AttributeName: string; KeyType: string }>;
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
  GlobalSecondaryIndexes?: Array<{
    IndexName: string;
    KeySchema: Array<{ AttributeName: string; KeyType: string }>;
    Projection: { ProjectionType: string };
  }>;
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
}

/** The CreateTable / UpdateTimeToLive inputs test/helpers/tables.ts sends, captured without a server. */
async function helperTableLayouts() {
  const creates: CreateTableCommandInput[] = [];
  const ttl: Record<string, string> = {};
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      const input = command.input;
      if ("KeySchema" in input) creates.push(input as unknown as CreateTableCommandInput);
      if ("TimeToLiveSpecification" in input) {
        const spec = input.TimeToLiveSpecification as { AttributeName: string };
        ttl[String(input.TableName)] = spec.AttributeName;
      }
      return {};
    },
  } as unknown as DynamoDBClient;
  const names = await createTables(client, "p");
  return { names, creates, ttl };
}

describe("ShaperTables", () => {
  let template: Template;
  let tables: ShaperTables;

  beforeAll(() => {
    const stack = emptyStack();
    tables = new ShaperTables(stack, "Tables");
    const reader = new iam.Role(stack, "Reader", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    tables.grant(reader, "registry", "read", [USERS_BY_SHARD_INDEX]);
    tables.grant(reader, "admission", "readWrite");
    template = Template.fromStack(stack);
  });

  it("uses the index and TTL names the DynamoDB adapters use", () => {
    expect(USERS_BY_SHARD_INDEX).toBe(adapterTables.USERS_BY_SHARD_INDEX);
    expect(REQUEST_LOG_INDEX).toBe(adapterTables.REQUEST_LOG_INDEX);
    expect(TTL_ATTRIBUTE).toBe(adapterTables.TTL_ATTRIBUTE);
    expect(Object.values(TABLE_ENV).sort()).toEqual(
      ["ADMISSION_TABLE", "FORECASTS_TABLE", "PLANS_TABLE", "REGISTRY_TABLE", "USAGE_TABLE"].sort(),
    );
  });

  it("creates five on-demand, encrypted tables with point-in-time recovery and pk/sk string keys", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 5);
    template.allResourcesProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    });
  });

  it("lays out keys, indexes and TTL exactly as the test helper that the integration tests use", async () => {
    const helper = await helperTableLayouts();
    const synthesised = template.findResources("AWS::DynamoDB::Table") as Record<
      string,
      { Properties: TableProps }
    >;
    const byRole = (role: keyof typeof helper.names) => {
      const id = Object.keys(synthesised).find((logicalId) =>
        logicalId.toLowerCase().startsWith(`tables${role}`),
      );
      return synthesised[id!]!.Properties;
    };
    for (const role of ["registry", "usage", "forecasts", "plans", "admission"] as const) {
      const expected = helper.creates.find((c) => c.TableName === helper.names[role])!;
      const actual = byRole(role);
      expect(actual.KeySchema, role).toEqual(expected.KeySchema);
      expect(
        [...actual.AttributeDefinitions].sort((a, b) =>
          a.AttributeName.localeCompare(b.AttributeName),
        ),
        role,
      ).toEqual(
        [...(expected.AttributeDefinitions ?? [])].sort((a, b) =>
          String(a.AttributeName).localeCompare(String(b.AttributeName)),
        ),
      );
      expect(
        (actual.GlobalSecondaryIndexes ?? []).map((gsi) => ({
          IndexName: gsi.IndexName,
          KeySchema: gsi.KeySchema,
          Projection: gsi.Projection,
        })),
        role,
      ).toEqual(expected.GlobalSecondaryIndexes ?? []);
      expect(actual.TimeToLiveSpecification?.AttributeName, role).toBe(
        helper.ttl[helper.names[role]],
      );
    }
  });

  it("expires items by TTL on usage, forecasts, plans and admission but never on the registry", () => {
    const withTtl = template.findResources("AWS::DynamoDB::Table", {
      Properties: { TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true } },
    });
    expect(Object.keys(withTtl).sort()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^TablesUsage/),
        expect.stringMatching(/^TablesForecasts/),
        expect.stringMatching(/^TablesPlans/),
        expect.stringMatching(/^TablesAdmission/),
      ]),
    );
    expect(Object.keys(withTtl).some((id) => id.startsWith("TablesRegistry"))).toBe(false);
  });

  it("retains the registry and admission tables and lets the derived tables go with the stack", () => {
    const retained = Object.keys(
      template.findResources("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" }),
    );
    expect(retained.sort()).toEqual([
      expect.stringMatching(/^TablesAdmission/),
      expect.stringMatching(/^TablesRegistry/),
    ]);
  });

  it("grants reads on the table and Query on the named index only, never index/*", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "dynamodb:Query",
            Resource: {
              "Fn::Join": [
                "",
                [
                  { "Fn::GetAtt": [Match.stringLikeRegexp("^TablesRegistry"), "Arn"] },
                  "/index/usersByShard",
                ],
              ],
            },
          }),
        ]),
      },
    });
    const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
    expect(policies).not.toContain("/index/*");
    expect(policies).not.toContain("dynamodb:Scan");
  });

  it("authorises TransactWriteItems on a readWrite table through its item actions", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith([
              "dynamodb:ConditionCheckItem",
              "dynamodb:PutItem",
              "dynamodb:UpdateItem",
            ]),
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^TablesAdmission"), "Arn"] },
          }),
        ]),
      },
    });
  });

  it("encrypts with a customer key, and grants it, when one is given", () => {
    const stack = emptyStack();
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    const withKey = new ShaperTables(stack, "Tables", {
      encryptionKey: key,
      stateRemovalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(stack, "Reader", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    withKey.grant(role, "usage", "read");
    const keyed = Template.fromStack(stack);
    keyed.allResourcesProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: Match.anyValue() },
    });
    expect(
      Object.keys(keyed.findResources("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" })),
    ).toEqual([]);
    keyed.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "kms:Decrypt",
            Resource: { "Fn::GetAtt": ["Key961B73FD", "Arn"] },
          }),
        ]),
      },
    });
  });
});
