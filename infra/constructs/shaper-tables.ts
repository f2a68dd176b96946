import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

/** The five tables of docs/data-model.md, by their role. */
export type TableRole = "registry" | "usage" | "forecasts" | "plans" | "admission";

/** Environment variable the stack sets on every function for each table (see functions/shared/runtime.ts). */
export const TABLE_ENV: Readonly<Record<TableRole, string>> = {
  registry: "REGISTRY_TABLE",
  usage: "USAGE_TABLE",
  forecasts: "FORECASTS_TABLE",
  plans: "PLANS_TABLE",
  admission: "ADMISSION_TABLE",
};

/** Registry GSI listing users by shard (layers/adapters/dynamodb/tables.ts `USERS_BY_SHARD_INDEX`). */
export const USERS_BY_SHARD_INDEX = "usersByShard";
/** Admission GSI over decision records by time (`REQUEST_LOG_INDEX`). */
export const REQUEST_LOG_INDEX = "requestLog";
/** TTL attribute of the tables whose items age out (`TTL_ATTRIBUTE`). */
export const TTL_ATTRIBUTE = "expiresAt";

/** What a function may do with a table. */
export type TableAccess = "read" | "write" | "readWrite";

// No Scan: every access pattern in docs/data-model.md is a GetItem or a Query.
const READ_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:ConditionCheckItem",
];
// TransactWriteItems is authorised per item action (Put/Update/ConditionCheck), not by its own name.
const WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
];

export interface ShaperTablesProps {
  /**
   * Customer managed key for all five tables.
   * @default - AWS managed key (`alias/aws/dynamodb`)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Removal policy of the tables that hold state nobody can recompute: registry (config, users,
   * policies, model registry) and admission (ledgers, decisions).
   * @default RemovalPolicy.RETAIN
   */
  readonly stateRemovalPolicy?: RemovalPolicy;
  /**
   * Removal policy of the tables whose items age out by TTL: usage, forecasts, plans.
   * @default RemovalPolicy.DESTROY
   */
  readonly derivedRemovalPolicy?: RemovalPolicy;
  /**
   * Point-in-time recovery on every table.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * shaper's DynamoDB tables, exactly as docs/data-model.md and test/helpers/tables.ts lay them out:
 * string `pk`/`sk` on every table, on-demand billing, encryption at rest, point-in-time recovery,
 * TTL on `expiresAt` where items age out, GSI `usersByShard` on the registry and `requestLog` on
 * admission. Grants are per action and per index, never `index/*`.
 */
export class ShaperTables extends Construct {
  readonly registry: dynamodb.Table;
  readonly usage: dynamodb.Table;
  readonly forecasts: dynamodb.Table;
  readonly plans: dynamodb.Table;
  readonly admission: dynamodb.Table;
  private readonly encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: ShaperTablesProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const stateRemoval = props.stateRemovalPolicy ?? RemovalPolicy.RETAIN;
    const derivedRemoval = props.derivedRemovalPolicy ?? RemovalPolicy.DESTROY;
    const pitr = props.pointInTimeRecovery ?? true;
    const table = (name: string, removalPolicy: RemovalPolicy, ttl: boolean) =>
      new dynamodb.Table(this, name, {
        partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
        sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        ...(props.encryptionKey
          ? {
              encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
              encryptionKey: props.encryptionKey,
            }
          : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pitr },
        ...(ttl ? { timeToLiveAttribute: TTL_ATTRIBUTE } : {}),
        removalPolicy,
      });

    this.registry = table("Registry", stateRemoval, false);
    this.registry.addGlobalSecondaryIndex({
      indexName: USERS_BY_SHARD_INDEX,
      partitionKey: { name: "shardKey", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "userId", type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    this.usage = table("Usage", derivedRemoval, true);
    this.forecasts = table("Forecasts", derivedRemoval, true);
    this.plans = table("Plans", derivedRemoval, true);
    this.admission = table("Admission", stateRemoval, true);
    this.admission.addGlobalSecondaryIndex({
      indexName: REQUEST_LOG_INDEX,
      partitionKey: { name: "logPk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "logSk", type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The table playing `role`. */
  table(role: TableRole): dynamodb.Table {
    return this[role];
  }

  /** Table names as the functions read them from their environment. */
  environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [role, name] of Object.entries(TABLE_ENV) as Array<[TableRole, string]>) {
      env[name] = this.table(role).tableName;
    }
    return env;
  }

  /**
   * Grants `access` to one table: item actions on the table and, for reads, Query on the named
   * indexes only.
   *
   * @param grantee the function role
   * @param role which table
   * @param access read, write or both
   * @param indexes GSIs the grantee queries (e.g. `usersByShard`)
   */
  grant(
    grantee: iam.IGrantable,
    role: TableRole,
    access: TableAccess,
    indexes: readonly string[] = [],
  ): void {
    const table = this.table(role);
    const actions = new Set<string>();
    if (access !== "write") for (const a of READ_ACTIONS) actions.add(a);
    if (access !== "read") for (const a of WRITE_ACTIONS) actions.add(a);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }),
    );
    if (indexes.length > 0) this.grantIndexQuery(grantee, role, indexes);
    if (this.encryptionKey) {
      if (access === "read") this.encryptionKey.grantDecrypt(grantee);
      else this.encryptionKey.grantEncryptDecrypt(grantee);
    }
  }

  /**
   * Grants Query on named indexes of a table, and nothing on the table itself.
   *
   * @param grantee the function role
   * @param role which table
   * @param indexes the GSI names
   */
  grantIndexQuery(grantee: iam.IGrantable, role: TableRole, indexes: readonly string[]): void {
    const table = this.table(role);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: indexes.map((index) => `${table.tableArn}/index/${index}`),
      }),
    );
    this.encryptionKey?.grantDecrypt(grantee);
  }
}
