import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { REPO_ROOT } from "../paths.js";
import { acknowledgeAll } from "./acknowledge.js";

/** Lambda runtime of every function: the newest Node.js the CDK offers. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Gives bundled ESM a working `require` for the CommonJS dependencies esbuild inlines (some AWS
 * SDK and Powertools internals still call it).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __shaperCreateRequire } from 'node:module'; const require = __shaperCreateRequire(import.meta.url);";

export interface ShaperFunctionProps {
  /** Handler module, relative to `projectRoot` (it exports `handler`). */
  readonly entry: string;
  /** `POWERTOOLS_SERVICE_NAME`: names the function in logs and metrics. */
  readonly serviceName: string;
  readonly description: string;
  /**
   * Function timeout.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Memory, in MB (also buys CPU: 1,769 MB is one vCPU).
   * @default 512
   */
  readonly memorySizeMb?: number;
  /** Environment shared by every function (table names, Powertools settings). */
  readonly baseEnvironment: Readonly<Record<string, string>>;
  /**
   * Environment of this function only.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Root the entry, the lock file and esbuild resolve from.
   * @default REPO_ROOT
   */
  readonly projectRoot?: string;
}

/**
 * One shaper Lambda function: bundled locally by esbuild (never Docker) as minified ESM with
 * source maps, on the newest Node.js runtime, with X-Ray tracing, its own log group with
 * retention, and its own role that starts with nothing but writing to that log group. The
 * construct that wires functions grants each one exactly what it uses.
 */
export class ShaperFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: ShaperFunctionProps) {
    super(scope, id);
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    this.serviceName = props.serviceName;

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the default one, which attaches the AWS managed
    // AWSLambdaBasicExecutionRole (logs on every log group in the account).
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `shaper ${props.serviceName} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, "Function", {
      entry: join(projectRoot, props.entry),
      handler: "handler",
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout ?? Duration.minutes(1),
      memorySize: props.memorySizeMb ?? 512,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      projectRoot,
      depsLockFilePath: join(projectRoot, "package-lock.json"),
      environment: {
        ...props.baseEnvironment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        banner: ESM_REQUIRE_BANNER,
        mainFields: ["module", "main"],
        target: "node22",
        minify: true,
        sourceMap: true,
        sourceMapMode: nodejs.SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Bundle the pinned SDK clients instead of the runtime's: the tests ran against these
        // versions (CloudWatch's wire protocol differs between releases).
        bundleAwsSDK: true,
        externalModules: [],
        forceDockerBundling: false,
        logLevel: nodejs.LogLevel.WARNING,
      },
    });

    acknowledgeAll(this.role, [
      {
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.",
      },
    ]);
  }

  /**
   * Allows actions that IAM cannot scope to a resource, recording why for cdk-nag.
   *
   * @param actions IAM actions without resource-level permissions
   * @param reason why the function needs them and why `*` is the only possible resource
   * @param conditions IAM conditions narrowing the grant
   */
  allowOnAnyResource(
    actions: readonly string[],
    reason: string,
    conditions?: Record<string, unknown>,
  ): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: ["*"],
        ...(conditions ? { conditions } : {}),
      }),
    );
    acknowledgeAll(this.role, [{ id: "AwsSolutions-IAM5[Resource::*]", reason }]);
  }

  /** Adds a statement to the function's role. */
  allow(actions: readonly string[], resources: readonly string[]): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: [...actions], resources: [...resources] }),
    );
  }
}
