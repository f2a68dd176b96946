import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { NotFoundError, ValidationError } from "../../domain/errors.js";
import type { ArtifactStore } from "../../ports/artifact-store.js";
import { dependencyError } from "../dynamodb/errors.js";

export interface S3ArtifactStoreOptions {
  /** Key prefix under which artefacts are written (no leading slash). @default "" */
  readonly prefix?: string;
  /** A KMS key for SSE-KMS; without it objects are encrypted with SSE-S3 (AES256). */
  readonly kmsKeyId?: string;
}

/**
 * Model artefacts as JSON objects in S3, encrypted at rest (SSE-S3, or SSE-KMS when a key is
 * given). `putJson` returns the object's `s3://bucket/key` URI, which is what the model server
 * reads from `MODEL_ARTIFACT_URI`.
 */
export class S3ArtifactStore implements ArtifactStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly options: S3ArtifactStoreOptions = {},
  ) {}

  async putJson(key: string, value: unknown): Promise<string> {
    const objectKey = `${this.options.prefix ?? ""}${key}`;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: JSON.stringify(value),
          ContentType: "application/json",
          ...(this.options.kmsKeyId
            ? { ServerSideEncryption: "aws:kms", SSEKMSKeyId: this.options.kmsKeyId }
            : { ServerSideEncryption: "AES256" }),
        }),
      );
    } catch (error) {
      throw dependencyError("S3", `writing artefact s3://${this.bucket}/${objectKey}`, error);
    }
    return `s3://${this.bucket}/${objectKey}`;
  }

  async getJson(uri: string): Promise<unknown> {
    const { bucket, key } = parseS3Uri(uri);
    let text: string;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = (await response.Body?.transformToString("utf-8")) ?? "";
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound" || name === "NoSuchBucket") {
        throw new NotFoundError(
          `Artefact ${uri} does not exist (${name}). Expected an object written by the retrain flow; check the registry's artifactUri.`,
          { details: { uri } },
        );
      }
      throw dependencyError("S3", `reading artefact ${uri}`, error);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        `Artefact ${uri} is not valid JSON: ${(error as Error).message}. Expected a JSON document written by putJson.`,
      );
    }
  }
}

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) {
    throw new ValidationError(
      `Artefact URI "${uri}" is not an S3 URI. Expected s3://<bucket>/<key>.`,
      [{ field: "artifactUri", message: "expected s3://<bucket>/<key>" }],
    );
  }
  return { bucket: match[1], key: match[2] };
}
