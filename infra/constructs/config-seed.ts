import { RemovalPolicy } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import type { ShaperConfig } from "../../layers/domain/config.js";
import { shardOf } from "../../layers/domain/sharding.js";

/** BatchWriteItem takes at most 25 items per call. */
export const BATCH_WRITE_LIMIT = 25;

/** A DynamoDB attribute value in the low-level wire format (what AwsCustomResource sends). */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };

/**
 * Marshals a JSON value into DynamoDB's attribute-value format, as `@aws-sdk/util-dynamodb`
 * would (undefined members are dropped, like `removeUndefinedValues`).
 *
 * @param value a JSON value (the parsed config)
 * @returns its attribute value
 * @throws Error for values JSON cannot hold (functions, non-finite numbers)
 */
export function toAttributeValue(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case "string":
      return { S: value };
    case "boolean":
      return { BOOL: value };
    case "number":
      if (!Number.isFinite(value)) {
        throw new Error(`Cannot store ${value} in DynamoDB: expected a finite number.`);
      }
      return { N: String(value) };
    case "object": {
      if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
      const map: Record<string, AttributeValue> = {};
      for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
        if (member !== undefined) map[key] = toAttributeValue(member);
      }
      return { M: map };
    }
    default:
      throw new Error(`Cannot store a ${typeof value} in DynamoDB: expected JSON data.`);
  }
}

/** Marshals a JSON object into a DynamoDB item. */
export function toItem(value: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const av = toAttributeValue(value);
  if (!("M" in av)) throw new Error("A DynamoDB item must be an object.");
  return av.M;
}

/** The registry items the seed writes: the config, then one profile per configured user. */
export function seedItems(
  config: ShaperConfig,
  updatedAt: number,
): { config: Record<string, unknown>; users: Array<Record<string, unknown>> } {
  return {
    config: { pk: "CONFIG", sk: "CURRENT", config, updatedAt },
    users: config.users.map((user) => ({
      pk: `USER#${user.userId}`,
      sk: "PROFILE",
      shardKey: `SHARD#${config.shardCount}#${shardOf(user.userId, config.shardCount)}`,
      ...user,
    })),
  };
}

export interface ConfigSeedProps {
  /** The registry table. */
  readonly table: dynamodb.Table;
  /** The validated config. */
  readonly config: ShaperConfig;
  /** `updatedAt` of the stored config, in epoch seconds. */
  readonly updatedAt: number;
  /**
   * Retention of the custom resource provider's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Writes the deployment's config into the registry at deploy time: `CONFIG/CURRENT` (the whole
 * validated config and `updatedAt`) with PutItem, and the config's users as `USER#<id>/PROFILE`
 * items (with their `shardKey` for the `usersByShard` index) with BatchWriteItem, 25 per call.
 * The calls' parameters are the items, so CloudFormation re-runs them whenever the config
 * changes. Deleting the stack leaves the items (the registry is retained).
 */
export class ConfigSeed extends Construct {
  readonly configWriter: cr.AwsCustomResource;
  readonly userWriters: cr.AwsCustomResource[];

  constructor(scope: Construct, id: string, props: ConfigSeedProps) {
    super(scope, id);
    const items = seedItems(props.config, props.updatedAt);
    const tableName = props.table.tableName;

    const logGroup = new logs.LogGroup(this, "ProviderLogs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, "ProviderRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "Writes shaper's config and users into the registry at deploy",
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:PutItem", "dynamodb:BatchWriteItem"],
        resources: [props.table.tableArn],
      }),
    );
    props.table.encryptionKey?.grantEncryptDecrypt(role);

    const common = {
      role,
      logGroup,
      installLatestAwsSdk: false,
    };
    const physicalResourceId = (name: string) => cr.PhysicalResourceId.of(`${tableName}:${name}`);
    const putConfig: cr.AwsSdkCall = {
      service: "DynamoDB",
      action: "PutItem",
      parameters: { TableName: tableName, Item: toItem(items.config) },
      physicalResourceId: physicalResourceId("CONFIG"),
    };
    this.configWriter = new cr.AwsCustomResource(this, "Config", {
      ...common,
      onCreate: putConfig,
      onUpdate: putConfig,
    });

    this.userWriters = [];
    for (let start = 0; start < items.users.length; start += BATCH_WRITE_LIMIT) {
      const batch = items.users.slice(start, start + BATCH_WRITE_LIMIT);
      const call: cr.AwsSdkCall = {
        service: "DynamoDB",
        action: "BatchWriteItem",
        parameters: {
          RequestItems: {
            [tableName]: batch.map((user) => ({ PutRequest: { Item: toItem(user) } })),
          },
        },
        physicalResourceId: physicalResourceId(`USERS#${start / BATCH_WRITE_LIMIT}`),
      };
      const writer = new cr.AwsCustomResource(this, `Users${start / BATCH_WRITE_LIMIT}`, {
        ...common,
        onCreate: call,
        onUpdate: call,
      });
      this.userWriters.push(writer);
    }
  }
}
