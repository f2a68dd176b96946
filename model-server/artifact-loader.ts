import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { dependencyError } from "../layers/adapters/dynamodb/errors.js";
import { ConfigError } from "../layers/domain/errors.js";
import {
  type ModelArtifact,
  parseModelArtifact,
} from "../layers/domain/forecasting/model-artifact.js";

/**
 * Loads the model artefact the retrain flow wrote: `s3://bucket/key` through the S3 client, or a
 * local file (`file:///path` or a plain path) for local runs.
 *
 * @param uri where the artefact is
 * @param s3 builds the S3 client (only called for s3:// URIs)
 * @returns the validated artefact
 * @throws ConfigError when the URI or the file cannot be read as JSON
 * @throws DependencyError when S3 fails
 * @throws ValidationError when the JSON is not a model artefact
 */
export async function loadModelArtifact(uri: string, s3: () => S3Client): Promise<ModelArtifact> {
  const text = uri.startsWith("s3://") ? await readS3(uri, s3()) : await readLocal(uri);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `Model artefact ${uri} is not JSON (${(error as Error).message}). Point MODEL_ARTIFACT_URI at the artefact the retrain flow wrote.`,
    );
  }
  return parseModelArtifact(json, uri);
}

async function readS3(uri: string, client: S3Client): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) {
    throw new ConfigError(
      `Model artefact URI ${uri} is not s3://<bucket>/<key>. Fix MODEL_ARTIFACT_URI.`,
    );
  }
  const [, bucket, key] = match as unknown as [string, string, string];
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) throw new Error("the object has no body");
    return await object.Body.transformToString("utf8");
  } catch (error) {
    throw dependencyError("S3", `reading the model artefact ${uri}`, error);
  }
}

async function readLocal(uri: string): Promise<string> {
  const path = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `Cannot read the model artefact ${path}: ${(error as Error).message}. Fix MODEL_ARTIFACT_URI.`,
    );
  }
}
