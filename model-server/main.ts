import { z } from "zod";
import { createAwsClients } from "../layers/adapters/aws-clients.js";
import { toFieldIssues } from "../layers/domain/config.js";
import { ConfigError } from "../layers/domain/errors.js";
import { DeepArConfigurationSchema } from "../layers/domain/forecasting/deepar.js";
import { loadModelArtifact } from "./artifact-loader.js";
import { startModelServer } from "./server.js";

/**
 * The container's entry point. SageMaker starts inference containers as `docker run <image> serve`,
 * so a `serve` argument is accepted (and is the only mode). Configuration comes from the
 * environment, as DeepAR's hyperparameters do:
 *
 * - `PREDICTION_LENGTH` (required): steps forecast per instance.
 * - `SEASON_LENGTH` (default 288): steps per season, unless the artefact says otherwise.
 * - `MODEL_ARTIFACT_URI` (optional): s3://bucket/key or a file path of the fitted parameters.
 * - `MODEL_VERSION` (optional): reported when the artefact names none.
 * - `DEEPAR_INFERENCE_CONFIG` (optional): JSON configuration for JSON Lines requests.
 * - `SAGEMAKER_BIND_TO_PORT` or `PORT` (default 8080).
 */

const EnvSchema = z.object({
  PREDICTION_LENGTH: z.coerce
    .number({ error: "must be set to the number of steps to forecast, e.g. 12" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(100_000, { error: "must be at most 100000" }),
  SEASON_LENGTH: z.coerce.number().int().min(1).max(100_000).default(288),
  MODEL_ARTIFACT_URI: z.string().min(1).optional(),
  MODEL_VERSION: z.string().min(1).optional(),
  DEEPAR_INFERENCE_CONFIG: z.string().min(1).optional(),
  SAGEMAKER_BIND_TO_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).optional(),
});

function log(entry: Readonly<Record<string, unknown>>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

function readEnv(env: NodeJS.ProcessEnv) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error).map((i) => `${i.field} ${i.message}`);
    throw new ConfigError(`Model server environment is invalid: ${issues.join("; ")}.`);
  }
  return parsed.data;
}

function inferenceConfig(text: string | undefined) {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`DEEPAR_INFERENCE_CONFIG is not JSON: ${(error as Error).message}.`);
  }
  const parsed = DeepArConfigurationSchema.safeParse(json);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error).map((i) => `${i.field} ${i.message}`);
    throw new ConfigError(`DEEPAR_INFERENCE_CONFIG is invalid: ${issues.join("; ")}.`);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode !== undefined && mode !== "serve") {
    throw new ConfigError(
      `Unknown mode "${mode}". This container only serves ("serve"); training runs in shaper's retrain flow.`,
    );
  }
  const env = readEnv(process.env);
  const config = inferenceConfig(env.DEEPAR_INFERENCE_CONFIG);
  const artifactUri = env.MODEL_ARTIFACT_URI;
  const server = await startModelServer({
    port: env.SAGEMAKER_BIND_TO_PORT ?? env.PORT ?? 8080,
    predictionLength: env.PREDICTION_LENGTH,
    seasonLength: env.SEASON_LENGTH,
    ...(env.MODEL_VERSION ? { modelVersion: env.MODEL_VERSION } : {}),
    ...(config ? { inferenceConfig: config } : {}),
    ...(artifactUri
      ? { loadArtifact: () => loadModelArtifact(artifactUri, () => createAwsClients().s3()) }
      : {}),
    log,
  });
  const stop = (signal: string) => {
    log({ event: "stopping", signal });
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  try {
    await server.ready;
  } catch {
    // A model that cannot load makes the container unhealthy for good: exit so SageMaker (or
    // Docker) reports the failure instead of serving 500s from /ping forever.
    await server.close();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  log({ event: "fatal", error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
