import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import {
  REQUEST_LOG_INDEX,
  TTL_ATTRIBUTE,
  USERS_BY_SHARD_INDEX,
} from "../../layers/adapters/dynamodb/tables.js";

/**
 * Creates shaper's five tables with a unique prefix, laid out as infra/ defines them (the infra
 * tests check the same keys and indexes). Each test file makes its own tables.
 */
export async function createTables(
  client: DynamoDBClient,
  prefix = uniquePrefix(),
): Promise<TableNames> {
  const names: TableNames = {
    registry: `${prefix}-registry`,
    usage: `${prefix}-usage`,
    forecasts: `${prefix}-forecasts`,
    plans: `${prefix}-plans`,
    admission: `${prefix}-admission`,
  };
  const base = (TableName: string): CreateTableCommandInput => ({
    TableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  });
  const registry = base(names.registry);
  registry.AttributeDefinitions?.push(
    { AttributeName: "shardKey", AttributeType: "S" },
    { AttributeName: "userId", AttributeType: "S" },
  );
  registry.GlobalSecondaryIndexes = [
    {
      IndexName: USERS_BY_SHARD_INDEX,
      KeySchema: [
        { AttributeName: "shardKey", KeyType: "HASH" },
        { AttributeName: "userId", KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    },
  ];
  const admission = base(names.admission);
  admission.AttributeDefinitions?.push(
    { AttributeName: "logPk", AttributeType: "S" },
    { AttributeName: "logSk", AttributeType: "S" },
  );
  admission.GlobalSecondaryIndexes = [
    {
      IndexName: REQUEST_LOG_INDEX,
      KeySchema: [
        { AttributeName: "logPk", KeyType: "HASH" },
        { AttributeName: "logSk", KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    },
  ];
  const inputs = [registry, base(names.usage), base(names.forecasts), base(names.plans), admission];
  await Promise.all(inputs.map((input) => client.send(new CreateTableCommand(input))));
  await Promise.all(
    [names.usage, names.forecasts, names.plans, names.admission].map((TableName) =>
      client.send(
        new UpdateTimeToLiveCommand({
          TableName,
          TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
        }),
      ),
    ),
  );
  return names;
}

export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    Object.values(names).map((TableName) => client.send(new DeleteTableCommand({ TableName }))),
  );
}

export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Environment for a handler under test: the table names as the stack would set them. */
export function tableEnv(names: TableNames): Record<string, string> {
  return {
    REGISTRY_TABLE: names.registry,
    USAGE_TABLE: names.usage,
    FORECASTS_TABLE: names.forecasts,
    PLANS_TABLE: names.plans,
    ADMISSION_TABLE: names.admission,
  };
}
