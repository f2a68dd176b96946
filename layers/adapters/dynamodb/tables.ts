/**
 * Names and key layout of shaper's DynamoDB tables (see docs/data-model.md, which this file
 * must match). Every table has a string partition key `pk` and sort key `sk`; tables with data
 * that ages out carry a TTL attribute `expiresAt` (epoch seconds).
 */

export interface TableNames {
  /** Config, users, policies, model registry. */
  readonly registry: string;
  /** Usage per user/pool/interval, pool partial sums, pool load. TTL. */
  readonly usage: string;
  /** Latest forecast per user, pool forecasts, forecast error summaries. TTL. */
  readonly forecasts: string;
  /** Plans per pool. TTL. */
  readonly plans: string;
  /** Pool ledgers (reservation books) and decision records (the request log). TTL on decisions. */
  readonly admission: string;
}

/** Attribute names shared by every table. */
export const PK = "pk";
export const SK = "sk";
export const TTL_ATTRIBUTE = "expiresAt";

/** Registry GSI listing users by shard: partition `shardKey`, sort `userId`. */
export const USERS_BY_SHARD_INDEX = "usersByShard";
/** Admission GSI over decision records by time: partition `logPk`, sort `logSk`. */
export const REQUEST_LOG_INDEX = "requestLog";

/** Zero-padded epoch seconds so that string order is time order (good until year 33658). */
export function timeKey(epochSeconds: number): string {
  return Math.floor(epochSeconds).toString().padStart(12, "0");
}

export function shardKeyOf(shard: number, shardCount: number): string {
  return `SHARD#${shardCount}#${shard}`;
}

export const keys = {
  config: () => ({ pk: "CONFIG", sk: "CURRENT" }),
  user: (userId: string) => ({ pk: `USER#${userId}`, sk: "PROFILE" }),
  policies: () => ({ pk: "POLICY", sk: "CURRENT" }),
  policyChange: (at: number, changeId: string) => ({
    pk: "POLICY",
    sk: `CHANGE#${timeKey(at)}#${changeId}`,
  }),
  modelCurrent: (modelName: string) => ({ pk: `MODEL#${modelName}`, sk: "CURRENT" }),
  modelVersion: (modelName: string, version: string) => ({
    pk: `MODEL#${modelName}`,
    sk: `VERSION#${version}`,
  }),

  usage: (pool: string, userId: string, intervalStart: number) => ({
    pk: `U#${pool}#${userId}`,
    sk: timeKey(intervalStart),
  }),
  poolUsagePartial: (pool: string, intervalStart: number, shard: number) => ({
    pk: `PU#${pool}`,
    sk: `${timeKey(intervalStart)}#${shard.toString().padStart(5, "0")}`,
  }),
  poolLoad: (pool: string, intervalStart: number) => ({
    pk: `PL#${pool}`,
    sk: timeKey(intervalStart),
  }),

  userForecast: (pool: string, shard: number, userId: string) => ({
    pk: `F#${pool}#${shard}`,
    sk: userId,
  }),
  poolForecast: (pool: string, issuedAt: number) => ({ pk: `FP#${pool}`, sk: timeKey(issuedAt) }),
  errorSummary: (runId: string, shard: number) => ({
    pk: "FE",
    sk: `${runId}#${shard.toString().padStart(5, "0")}`,
  }),

  plan: (pool: string, issuedAt: number) => ({ pk: `PLAN#${pool}`, sk: timeKey(issuedAt) }),

  ledger: (pool: string) => ({ pk: `LEDGER#${pool}`, sk: "LEDGER" }),
  /** A request lease of a pool's ledger: its own item in the ledger's partition. */
  ledgerLease: (pool: string, leaseId: string) => ({
    pk: `LEDGER#${pool}`,
    sk: `LEASE#${leaseId}`,
  }),
  decision: (requestId: string) => ({ pk: `REQ#${requestId}`, sk: "DECISION" }),
  /** Request-log GSI keys of a decision: one partition per shard and UTC day. */
  requestLog: (shard: number, shardCount: number, receivedAt: number, requestId: string) => ({
    logPk: `RL#${shardCount}#${shard}#${timeKey(Math.floor(receivedAt / 86_400) * 86_400)}`,
    logSk: `${timeKey(receivedAt)}#${requestId}`,
  }),
} as const;

/** Reads table names from the environment the CDK stack sets on every function. */
export function tableNamesFromEnv(env: Readonly<Record<string, string | undefined>>): TableNames {
  const read = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set`);
    return value;
  };
  return {
    registry: read("REGISTRY_TABLE"),
    usage: read("USAGE_TABLE"),
    forecasts: read("FORECASTS_TABLE"),
    plans: read("PLANS_TABLE"),
    admission: read("ADMISSION_TABLE"),
  };
}
