import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthShaper } from "./synth.js";

describe("Observability", () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synthShaper({ context: { "shaper:alarmEmail": "ops@example.com" } }));
  });

  it("alarms on every shaper function's errors", () => {
    const functions = Object.entries(template.findResources("AWS::Lambda::Function"))
      .filter(([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map(([id]) => id);
    expect(functions).toHaveLength(11);
    for (const id of functions) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: id } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        AlarmActions: [{ Ref: Match.stringLikeRegexp("^ObservabilityAlarms") }],
      });
    }
  });

  it("alarms on failed executions of the pipeline and the retrain flow", () => {
    for (const machine of ["PipelineStateMachine", "RetrainStateMachine"]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/States",
        MetricName: "ExecutionsFailed",
        Dimensions: [
          { Name: "StateMachineArn", Value: { Ref: Match.stringLikeRegexp(`^${machine}`) } },
        ],
      });
    }
  });

  it("alarms when the forecast fallback answers several intervals in a row", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      EvaluationPeriods: 3,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(m0, 0) + FILL(m1, 0)" }),
        Match.objectLike({
          Id: "m0",
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: "Shaper",
              MetricName: "ForecastFallbacks",
              Dimensions: [{ Name: "service", Value: "forecast-shard" }],
            },
            Period: 300,
          }),
        }),
      ]),
    });
  });

  it("notifies an encrypted, SSL-only topic with the configured email subscribed", () => {
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("^ObservabilityTopicKey"), "Arn"] },
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: "cloudwatch.amazonaws.com" } }),
        ]),
      },
    });
  });

  it("adds a dashboard with the pipeline, the functions, the API and the fallbacks", () => {
    const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const metric of [
      "ExecutionsFailed",
      "Errors",
      "Duration",
      "5xx",
      "ForecastFallbacks",
      "ForecastWqlLastHour",
    ]) {
      expect(body, metric).toContain(metric);
    }
  });

  it("subscribes nobody when no alarm email is given", () => {
    synthShaper().template.resourceCountIs("AWS::SNS::Subscription", 0);
  });
});
