import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeAll, arnWildcardFinding } from "./acknowledge.js";

export interface ArtifactStoreProps {
  /**
   * How long a replaced object version (an overwritten model artefact) is kept.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * How many replaced versions of each object are kept even after `noncurrentVersionRetention`.
   * @default 3
   */
  readonly noncurrentVersionsToRetain?: number;
  /**
   * How long server access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /**
   * Removal policy of the artefact bucket (the model registry in DynamoDB points into it).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The S3 bucket for model artefacts (retrain writes candidates, the endpoint reads the promoted
 * one): encrypted, SSL only, no public access, versioned, with server access logs in a second
 * bucket and a lifecycle that expires old model versions.
 */
export class ArtifactStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactStoreProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // S3 server access logging can deliver only to SSE-S3 encrypted buckets. (cdk-nag does not
    // ask this bucket to log its own access: it recognises it as the log destination.)
    this.accessLogBucket = new s3.Bucket(this, "AccessLogs", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: props.accessLogRetention ?? Duration.days(90) }],
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // Bucket is an IBucket; the cast only bridges exactOptionalPropertyTypes, which the CDK
      // typings were not written for.
      serverAccessLogsBucket: this.accessLogBucket as s3.IBucket,
      serverAccessLogsPrefix: "artifacts/",
      lifecycleRules: [
        {
          id: "expire-old-model-versions",
          noncurrentVersionExpiration: props.noncurrentVersionRetention ?? Duration.days(90),
          noncurrentVersionsToRetain: props.noncurrentVersionsToRetain ?? 3,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
    });
  }

  /**
   * Lets a role read artefacts (GetObject on the bucket's objects, ListBucket so that a missing
   * key answers NoSuchKey rather than AccessDenied) and, with `write`, store them (PutObject).
   * No delete: old versions expire by the bucket's lifecycle.
   *
   * @param role the role
   * @param access "read" or "readWrite"
   */
  grantArtifacts(role: iam.Role, access: "read" | "readWrite"): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: access === "read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"],
        resources: [this.bucket.arnForObjects("*")],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }),
    );
    acknowledgeAll(role, [
      {
        id: arnWildcardFinding(this.bucket, "/*"),
        reason:
          "Model artefacts are objects whose keys (model name and version) are chosen at run time; the grant covers this bucket's objects only.",
      },
    ]);
  }

  /**
   * Lets a role read and replace the forecasting model's per-series states, the objects under
   * `forecast-state/` (one per user and pool); nothing else in the bucket.
   *
   * @param role the forecast function's role
   */
  grantForecastStates(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: [this.bucket.arnForObjects(`${FORECAST_STATE_PREFIX}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { "s3:prefix": [`${FORECAST_STATE_PREFIX}*`] } },
      }),
    );
    acknowledgeAll(role, [
      {
        id: arnWildcardFinding(this.bucket, `/${FORECAST_STATE_PREFIX}*`),
        reason:
          "Forecast states are one object per user and pool, named at run time; the grant covers the forecast-state/ prefix of this bucket only.",
      },
    ]);
  }
}

/** Key prefix of the forecasting model's per-series states (S3ForecastStateStore's default). */
export const FORECAST_STATE_PREFIX = "forecast-state/";
