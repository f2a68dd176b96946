import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ValidationError } from "../../domain/errors.js";
import type { ForecastStateStore, SeriesStates } from "../../ports/forecast-state-store.js";
import { dependencyError } from "../dynamodb/errors.js";

export interface S3ForecastStateStoreOptions {
  /** Key prefix. @default "forecast-state/" */
  readonly prefix?: string;
  /** A KMS key for SSE-KMS; without it objects are encrypted with SSE-S3 (AES256). */
  readonly kmsKeyId?: string;
}

/**
 * Forecast states in S3, one JSON object per subject and pool:
 * `<prefix><encoded subject>/<encoded pool>.json` (a user's three resources together, 20–130 KB).
 * S3 rather than DynamoDB: states are tens of kilobytes (a DynamoDB write costs one WCU per KB)
 * and may grow past DynamoDB's 400 KB item limit at long horizons. Each put replaces the whole
 * object, so a reader sees either the old states or the new ones.
 */
export class S3ForecastStateStore implements ForecastStateStore {
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly options: S3ForecastStateStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? "forecast-state/";
  }

  async getStates(subject: string, pool: string): Promise<SeriesStates | undefined> {
    const key = this.keyOf(subject, pool);
    let text: string;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      text = (await response.Body?.transformToString("utf-8")) ?? "";
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw dependencyError("S3", `reading forecast states s3://${this.bucket}/${key}`, error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        `Forecast states s3://${this.bucket}/${key} are not JSON (${(error as Error).message}); the next run refits the series and overwrites them.`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ValidationError(
        `Forecast states s3://${this.bucket}/${key} are not an object of states by resource; the next run refits the series and overwrites them.`,
      );
    }
    return parsed as SeriesStates;
  }

  async putStates(subject: string, pool: string, states: SeriesStates): Promise<void> {
    const key = this.keyOf(subject, pool);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(states),
          ContentType: "application/json",
          ...(this.options.kmsKeyId
            ? { ServerSideEncryption: "aws:kms", SSEKMSKeyId: this.options.kmsKeyId }
            : { ServerSideEncryption: "AES256" }),
        }),
      );
    } catch (error) {
      throw dependencyError("S3", `writing forecast states s3://${this.bucket}/${key}`, error);
    }
  }

  private keyOf(subject: string, pool: string): string {
    return `${this.prefix}${encodeURIComponent(subject)}/${encodeURIComponent(pool)}.json`;
  }
}
