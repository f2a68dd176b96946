import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { tableNamesFromEnv } from "../../layers/adapters/dynamodb/tables.js";
import { ConfigError } from "../../layers/domain/errors.js";

/**
 * What every function builds once per cold start: SDK clients, table names, the clock and the
 * config source. Missing environment is a ConfigError at cold start, naming the variable.
 */
export function awsRuntime(env: Readonly<Record<string, string | undefined>> = process.env) {
  let tables: ReturnType<typeof tableNamesFromEnv>;
  try {
    tables = tableNamesFromEnv(env);
  } catch (error) {
    throw new ConfigError(
      `${(error as Error).message}. The stack sets it on every function; set it when running a handler by hand.`,
    );
  }
  const aws = createAwsClients({ env });
  const clock = systemClock;
  const documentClient = aws.documentClient();
  const configSource = new DynamoDbConfigSource(documentClient, tables.registry, clock);
  return { aws, tables, clock, documentClient, configSource, env };
}

export type AwsRuntime = ReturnType<typeof awsRuntime>;

/** Reads a required environment variable or fails the cold start with a ConfigError. */
export function requireEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string {
  const value = env[name];
  if (!value)
    throw new ConfigError(
      `Environment variable ${name} is not set. The stack sets it; set it when running the handler by hand.`,
    );
  return value;
}
