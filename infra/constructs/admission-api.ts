import { RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as authorizers from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import * as integrations from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** A JWT authorizer in front of the API instead of IAM. */
export interface JwtAuthorizerSettings {
  /** Token issuer URL, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
  readonly issuer: string;
  /** Accepted `aud` values (client ids). */
  readonly audience: readonly string[];
}

/** Routes of the admission API (docs/openapi.yaml). */
export const ADMISSION_ROUTES = {
  submit: { method: apigwv2.HttpMethod.POST, path: "/v1/requests" },
  get: { method: apigwv2.HttpMethod.GET, path: "/v1/requests/{id}" },
} as const;

export interface AdmissionApiProps {
  /** The admission function (shape/admission). */
  readonly handler: lambda.IFunction;
  /**
   * JWT authorizer settings; without them every route requires IAM (SigV4) authorization.
   * @default - IAM authorization
   */
  readonly jwt?: JwtAuthorizerSettings;
  /**
   * Steady-state request rate of the stage, in requests per second.
   * @default 200
   */
  readonly throttleRatePerSecond?: number;
  /**
   * Burst capacity of the stage, in requests.
   * @default 400
   */
  readonly throttleBurst?: number;
  /**
   * Retention of the access log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
}

/**
 * The admission API: an API Gateway HTTP API with `POST /v1/requests` and
 * `GET /v1/requests/{id}` on the admission function, IAM authorization by default (a JWT
 * authorizer when configured), a throttled default stage and JSON access logs.
 */
export class AdmissionApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AdmissionApiProps) {
    super(scope, id);
    const authorizer: apigwv2.IHttpRouteAuthorizer = props.jwt
      ? new authorizers.HttpJwtAuthorizer("Jwt", props.jwt.issuer, {
          jwtAudience: [...props.jwt.audience],
        })
      : new authorizers.HttpIamAuthorizer();

    this.api = new apigwv2.HttpApi(this, "Api", {
      description: "shaper admission: capacity requests → grant / delay / offer / reject",
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });
    const integration = new integrations.HttpLambdaIntegration("Admission", props.handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of Object.values(ADMISSION_ROUTES)) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration });
    }

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttleRatePerSecond ?? 200,
        burstLimit: props.throttleBurst ?? 400,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            caller: "$context.identity.caller",
            user: "$context.identity.user",
            requestTime: "$context.requestTime",
            httpMethod: "$context.httpMethod",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
          }),
        ),
      },
    });
  }

  /** The API's base URL (the `$default` stage serves at the root). */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
