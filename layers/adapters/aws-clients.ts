import { ApplicationAutoScalingClient } from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * The one place AWS SDK clients are built. Everything else receives clients from here.
 *
 * Endpoints follow the SDK's standard variables, so the same code runs against AWS, LocalStack or
 * moto: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`) wins over
 * `AWS_ENDPOINT_URL`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns both off. Region comes from
 * `AWS_REGION` / `AWS_DEFAULT_REGION`. Credentials come from the SDK's default chain; when an
 * endpoint override is set and no credentials are in the environment, dummy credentials are used
 * (emulators accept any), so local runs need no AWS account.
 */

export const AWS_SERVICES = [
  "dynamodb",
  "cloudwatch",
  "ecs",
  "application-auto-scaling",
  "sagemaker-runtime",
  "sagemaker",
  "s3",
  "eventbridge",
] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

/** The SDK's service id, upper-cased with spaces as underscores, as used in AWS_ENDPOINT_URL_<ID>. */
const ENDPOINT_ENV_ID: Record<AwsService, string> = {
  dynamodb: "DYNAMODB",
  cloudwatch: "CLOUDWATCH",
  ecs: "ECS",
  "application-auto-scaling": "APPLICATION_AUTO_SCALING",
  "sagemaker-runtime": "SAGEMAKER_RUNTIME",
  sagemaker: "SAGEMAKER",
  s3: "S3",
  eventbridge: "EVENTBRIDGE",
};

/** Region used when none is configured and an endpoint override is set (local runs). */
export const LOCAL_DEFAULT_REGION = "us-east-1";

export interface AwsClientSettings {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly credentials:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
    | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Endpoint, region and credentials for one service, from the environment. */
export function resolveAwsSettings(service: AwsService, env: Env = process.env): AwsClientSettings {
  const ignore = (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "").toLowerCase() === "true";
  const endpoint = ignore
    ? undefined
    : (nonEmpty(env[`AWS_ENDPOINT_URL_${ENDPOINT_ENV_ID[service]}`]) ??
      nonEmpty(env.AWS_ENDPOINT_URL));
  const configuredRegion = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const region = configuredRegion ?? (endpoint ? LOCAL_DEFAULT_REGION : undefined);
  const hasEnvCredentials = nonEmpty(env.AWS_ACCESS_KEY_ID) !== undefined;
  const hasProfile = nonEmpty(env.AWS_PROFILE) !== undefined;
  const credentials =
    endpoint && !hasEnvCredentials && !hasProfile
      ? { accessKeyId: "test", secretAccessKey: "test" }
      : undefined;
  return { region, endpoint, credentials };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export interface AwsClientOptions {
  /** Environment to read; defaults to `process.env`. */
  readonly env?: Env;
  /** Per-request socket timeout, in milliseconds. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Time allowed to establish a connection, in milliseconds. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** Attempts per call including retries (the SDK retries throttling with backoff and jitter). @default 3 */
  readonly maxAttempts?: number;
}

function baseConfig(service: AwsService, options: AwsClientOptions) {
  const settings = resolveAwsSettings(service, options.env);
  return {
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
    }),
  };
}

/**
 * Builds SDK clients lazily, once each.
 *
 * @example
 * const aws = createAwsClients();
 * const ddb = aws.documentClient();
 */
export function createAwsClients(options: AwsClientOptions = {}) {
  const cache = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    dynamodb: () => once("dynamodb", () => new DynamoDBClient(baseConfig("dynamodb", options))),
    /** Document client over `dynamodb()`; removes undefined values, keeps numbers as JS numbers. */
    documentClient: () =>
      once("documentClient", () =>
        DynamoDBDocumentClient.from(new DynamoDBClient(baseConfig("dynamodb", options)), {
          marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
        }),
      ),
    cloudwatch: () =>
      once("cloudwatch", () => new CloudWatchClient(baseConfig("cloudwatch", options))),
    ecs: () => once("ecs", () => new ECSClient(baseConfig("ecs", options))),
    applicationAutoScaling: () =>
      once(
        "aas",
        () => new ApplicationAutoScalingClient(baseConfig("application-auto-scaling", options)),
      ),
    sagemakerRuntime: () =>
      once("smr", () => new SageMakerRuntimeClient(baseConfig("sagemaker-runtime", options))),
    sagemaker: () => once("sagemaker", () => new SageMakerClient(baseConfig("sagemaker", options))),
    s3: () =>
      once("s3", () => {
        const config = baseConfig("s3", options);
        // Emulators serve buckets by path, not by virtual host.
        return new S3Client({ ...config, forcePathStyle: "endpoint" in config });
      }),
    eventBridge: () =>
      once("eventbridge", () => new EventBridgeClient(baseConfig("eventbridge", options))),
  };
}

export type AwsClients = ReturnType<typeof createAwsClients>;
