import { Match, Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { AdmissionApi } from "../../infra/constructs/admission-api.js";
import { emptyStack, synthShaper } from "./synth.js";

function apiWith(props: Partial<ConstructorParameters<typeof AdmissionApi>[2]> = {}): Template {
  const stack = emptyStack();
  const handler = new lambda.Function(stack, "Handler", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("export const handler = async () => ({});"),
  });
  new AdmissionApi(stack, "Api", { handler, ...props });
  return Template.fromStack(stack);
}

describe("AdmissionApi", () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthShaper());
  });

  it("routes POST /v1/requests and GET /v1/requests/{id} to the admission function with IAM authorization", () => {
    for (const routeKey of ["POST /v1/requests", "GET /v1/requests/{id}"]) {
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: routeKey,
        AuthorizationType: "AWS_IAM",
        Target: Match.anyValue(),
      });
    }
    template.resourceCountIs("AWS::ApiGatewayV2::Route", 2);
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: {
        "Fn::GetAtt": [Match.stringLikeRegexp("^FunctionsAdmissionFunction"), "Arn"],
      },
    });
  });

  it("throttles the default stage and writes JSON access logs to a log group with retention", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      AccessLogSettings: {
        DestinationArn: {
          "Fn::GetAtt": [Match.stringLikeRegexp("^AdmissionApiAccessLogs"), "Arn"],
        },
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("uses a JWT authorizer with the given issuer and audience instead of IAM", () => {
    const jwt = apiWith({
      jwt: { issuer: "https://issuer.example.com/pool", audience: ["client-a", "client-b"] },
    });
    jwt.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      JwtConfiguration: {
        Issuer: "https://issuer.example.com/pool",
        Audience: ["client-a", "client-b"],
      },
    });
    const routes = jwt.findResources("AWS::ApiGatewayV2::Route");
    expect(Object.values(routes).map((r) => r.Properties.AuthorizationType)).toEqual([
      "JWT",
      "JWT",
    ]);
  });

  it("takes the throttle limits from props", () => {
    apiWith({ throttleRatePerSecond: 10, throttleBurst: 20 }).hasResourceProperties(
      "AWS::ApiGatewayV2::Stage",
      { DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } },
    );
  });
});
