import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthShaper } from "./synth.js";

interface FunctionResource {
  Properties: {
    Runtime: string;
    Timeout: number;
    MemorySize: number;
    Handler: string;
    Role: { "Fn::GetAtt": [string, string] };
    TracingConfig?: { Mode: string };
    LoggingConfig?: { LogGroup: { Ref: string } };
    ReservedConcurrentExecutions?: number;
    Environment: { Variables: Record<string, unknown> };
  };
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const SERVICES = [
  "collect-shard",
  "collect-pools",
  "forecast-shard",
  "forecast-pools",
  "shape-plan",
  "shape-admission",
  "retrain-evaluate",
  "retrain-train",
  "retrain-validate",
  "retrain-promote",
  "retrain-adapt",
];

describe("ShaperFunctions in the stack", () => {
  let template: Template;
  let functions: Record<string, FunctionResource>;
  let statementsByService: Record<string, Statement[]>;

  beforeAll(() => {
    ({ template } = synthShaper());
    const all = template.findResources("AWS::Lambda::Function") as Record<string, FunctionResource>;
    functions = {};
    for (const fn of Object.values(all)) {
      const service = fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
      if (typeof service === "string") functions[service] = fn;
    }
    const policies = template.findResources("AWS::IAM::Policy") as Record<
      string,
      {
        Properties: {
          PolicyDocument: { Statement: Statement[] };
          Roles: Array<{ Ref: string }>;
        };
      }
    >;
    statementsByService = {};
    for (const [service, fn] of Object.entries(functions)) {
      const roleId = fn.Properties.Role["Fn::GetAtt"][0];
      statementsByService[service] = Object.values(policies)
        .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
    }
  });

  const actionsOn = (service: string, match: (resource: string) => boolean): string[] =>
    (statementsByService[service] ?? [])
      .filter((s) => [s.Resource].flat().some((r) => match(JSON.stringify(r))))
      .flatMap((s) => [s.Action].flat())
      .sort();

  const allActions = (service: string): string[] =>
    (statementsByService[service] ?? []).flatMap((s) => [s.Action].flat());

  it("defines one function per handler, each named by its service", () => {
    expect(Object.keys(functions).sort()).toEqual([...SERVICES].sort());
  });

  it("runs every function on Node.js 24 with X-Ray tracing, its own log group and no reserved concurrency", () => {
    for (const service of SERVICES) {
      const props = functions[service]!.Properties;
      expect(props.Runtime, service).toBe("nodejs24.x");
      expect(props.Handler, service).toBe("index.handler");
      expect(props.TracingConfig?.Mode, service).toBe("Active");
      expect(props.LoggingConfig?.LogGroup.Ref, service).toMatch(/Logs/);
      expect(props.ReservedConcurrentExecutions, service).toBeUndefined();
    }
  });

  it("gives every function its own log group with a retention", () => {
    const logGroups = template.findResources("AWS::Logs::LogGroup");
    for (const service of SERVICES) {
      const id = functions[service]!.Properties.LoggingConfig!.LogGroup.Ref;
      expect(logGroups[id]?.Properties?.RetentionInDays, service).toBeGreaterThan(0);
    }
  });

  it("sets the table names and Powertools settings on every function", () => {
    for (const service of SERVICES) {
      const env = functions[service]!.Properties.Environment.Variables;
      expect(env, service).toMatchObject({
        REGISTRY_TABLE: { Ref: expect.stringMatching(/^TablesRegistry/) },
        USAGE_TABLE: { Ref: expect.stringMatching(/^TablesUsage/) },
        FORECASTS_TABLE: { Ref: expect.stringMatching(/^TablesForecasts/) },
        PLANS_TABLE: { Ref: expect.stringMatching(/^TablesPlans/) },
        ADMISSION_TABLE: { Ref: expect.stringMatching(/^TablesAdmission/) },
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_METRICS_NAMESPACE: "Shaper",
        POWERTOOLS_LOG_LEVEL: "INFO",
        NODE_OPTIONS: "--enable-source-maps",
      });
    }
  });

  it("sizes shard functions at 5 minutes / 1024 MB and the admission function at 10 s / 512 MB", () => {
    for (const service of ["collect-shard", "forecast-shard"]) {
      expect(functions[service]!.Properties, service).toMatchObject({
        Timeout: 300,
        MemorySize: 1024,
      });
    }
    expect(functions["shape-admission"]!.Properties).toMatchObject({
      Timeout: 10,
      MemorySize: 512,
    });
  });

  it("gives each stage the environment only it needs", () => {
    const env = (service: string) => functions[service]!.Properties.Environment.Variables;
    expect(env("forecast-shard").EVENT_BUS_NAME).toBe("default");
    expect(env("forecast-pools").EVENT_BUS_NAME).toBe("default");
    expect(env("shape-admission").MAX_BODY_BYTES).toBe("65536");
    for (const service of SERVICES.filter((s) => s.startsWith("retrain-"))) {
      expect(env(service), service).toMatchObject({
        ARTIFACT_BUCKET: { Ref: expect.stringMatching(/^ArtifactsBucket/) },
        MODEL_IMAGE_URI: expect.anything(),
        MODEL_EXECUTION_ROLE_ARN: {
          "Fn::GetAtt": [expect.stringMatching(/^ModelEndpointExecutionRole/), "Arn"],
        },
        FORECAST_ENDPOINT_NAME: "shaper-forecaster",
        SERVERLESS_MEMORY_MB: "2048",
        SERVERLESS_MAX_CONCURRENCY: "5",
      });
    }
    expect(env("collect-shard").ARTIFACT_BUCKET).toBeUndefined();
    expect(env("shape-admission").EVENT_BUS_NAME).toBeUndefined();
  });

  it("lets the forecast functions invoke the forecasting endpoint and nothing else in SageMaker", () => {
    for (const service of ["forecast-shard", "forecast-pools"]) {
      const sagemaker = (statementsByService[service] ?? []).filter((s) =>
        [s.Action].flat().some((a) => a.startsWith("sagemaker:")),
      );
      expect(sagemaker, service).toHaveLength(1);
      expect(sagemaker[0]!.Action).toBe("sagemaker:InvokeEndpoint");
      expect(JSON.stringify(sagemaker[0]!.Resource)).toContain(":endpoint/shaper-forecaster");
      expect(JSON.stringify(sagemaker[0]!.Resource)).not.toContain("*");
      expect(actionsOn(service, (r) => r.includes("event-bus/default"))).toEqual([
        "events:PutEvents",
      ]);
    }
    for (const service of SERVICES.filter((s) => !s.startsWith("forecast-"))) {
      expect(allActions(service), service).not.toContain("sagemaker:InvokeEndpoint");
    }
  });

  it("lets the admission function write decisions and ledgers atomically but only read the registry and forecasts", () => {
    expect(actionsOn("shape-admission", (r) => r.includes("TablesAdmission"))).toEqual(
      expect.arrayContaining([
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]),
    );
    for (const table of ["TablesRegistry", "TablesForecasts"]) {
      const actions = actionsOn("shape-admission", (r) => r.includes(table));
      expect(actions, table).toContain("dynamodb:GetItem");
      expect(actions, table).not.toContain("dynamodb:PutItem");
    }
    expect(actionsOn("shape-admission", (r) => r.includes("TablesUsage"))).toEqual([]);
  });

  it("lets collect read CloudWatch on * (no resource-level permission), write usage and query only the request-log index", () => {
    const anyResource = (statementsByService["collect-shard"] ?? []).filter(
      (s) => s.Resource === "*",
    );
    expect(anyResource.flatMap((s) => [s.Action].flat())).toContain("cloudwatch:GetMetricData");
    expect(actionsOn("collect-shard", (r) => r.includes("TablesUsage"))).toContain(
      "dynamodb:BatchWriteItem",
    );
    expect(actionsOn("collect-shard", (r) => r.includes("/index/requestLog"))).toEqual([
      "dynamodb:Query",
    ]);
    expect(
      actionsOn("collect-shard", (r) => r.includes("TablesAdmission") && !r.includes("/index/")),
    ).toEqual([]);
  });

  it("lets the plan function change only the configured ECS services and create only the ECS auto scaling service-linked role", () => {
    const ecs = (statementsByService["shape-plan"] ?? []).find((s) =>
      [s.Action].flat().includes("ecs:UpdateService"),
    );
    const resources = JSON.stringify(ecs?.Resource);
    expect(resources).toContain(":service/shaper-workers/cpu-pool");
    expect(resources).toContain(":service/shaper-workers/gpu-pool");
    expect(resources).not.toContain("*");
    const slr = (statementsByService["shape-plan"] ?? []).find((s) =>
      [s.Action].flat().includes("iam:CreateServiceLinkedRole"),
    );
    expect(slr?.Condition).toEqual({
      StringLike: { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" },
    });
    expect(allActions("shape-plan")).toEqual(
      expect.arrayContaining([
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScheduledAction",
        "application-autoscaling:DescribeScheduledActions",
      ]),
    );
  });

  it("lets only the promote step manage SageMaker models, endpoint configs and pass the model role", () => {
    const promote = statementsByService["retrain-promote"] ?? [];
    const passRole = promote.find((s) => [s.Action].flat().includes("iam:PassRole"));
    expect(passRole?.Condition).toEqual({
      StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" },
    });
    expect(JSON.stringify(passRole?.Resource)).toMatch(/ModelEndpointExecutionRole/);
    expect(actionsOn("retrain-promote", (r) => r.includes(":model/shaper-forecaster-*"))).toEqual(
      expect.arrayContaining(["sagemaker:CreateModel", "sagemaker:AddTags"]),
    );
    expect(actionsOn("retrain-promote", (r) => r.includes(":endpoint/shaper-forecaster"))).toEqual(
      expect.arrayContaining(["sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"]),
    );
    for (const service of [
      "retrain-evaluate",
      "retrain-train",
      "retrain-validate",
      "retrain-adapt",
    ]) {
      expect(
        allActions(service).filter((a) => a.startsWith("sagemaker:") || a === "iam:PassRole"),
        service,
      ).toEqual([]);
    }
  });

  it("lets only the train step write artefacts, only train and validate read them, and forecast-shard only its states", () => {
    const states = (r: string) => r.includes("forecast-state/");
    for (const service of SERVICES) {
      const actions = actionsOn(service, (r) => r.includes("ArtifactsBucket") && !states(r));
      if (service === "retrain-train")
        expect(actions).toEqual(["s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
      else if (service === "retrain-validate")
        expect(actions).toEqual(["s3:GetObject", "s3:ListBucket"]);
      // Listing, conditioned on the forecast-state/ prefix (checked below).
      else if (service === "forecast-shard") expect(actions).toEqual(["s3:ListBucket"]);
      else expect(actions, service).toEqual([]);
      const onStates = actionsOn(service, (r) => r.includes("ArtifactsBucket") && states(r));
      if (service === "forecast-shard") expect(onStates).toEqual(["s3:GetObject", "s3:PutObject"]);
      else expect(onStates, service).toEqual([]);
    }
    const listing = (statementsByService["forecast-shard"] ?? []).find((s) =>
      [s.Action].flat().includes("s3:ListBucket"),
    );
    expect(JSON.stringify(listing?.Condition)).toContain("forecast-state/*");
    expect(JSON.stringify(template.findResources("AWS::IAM::Policy"))).not.toMatch(
      /"s3:(\*|Delete)/,
    );
  });

  it("gives each retrain step only the tables its use case touches", () => {
    const access = (service: string, table: string) =>
      actionsOn(service, (r) => r.includes(table) && !r.includes("/index/"));
    expect(access("retrain-evaluate", "TablesRegistry")).not.toContain("dynamodb:PutItem");
    expect(access("retrain-evaluate", "TablesUsage")).toEqual([]);
    expect(access("retrain-promote", "TablesUsage")).toEqual([]);
    expect(access("retrain-promote", "TablesRegistry")).toContain("dynamodb:UpdateItem");
    expect(actionsOn("retrain-adapt", (r) => r.includes("/index/requestLog"))).toEqual([
      "dynamodb:Query",
    ]);
    expect(actionsOn("retrain-train", (r) => r.includes("/index/usersByShard"))).toEqual([
      "dynamodb:Query",
    ]);
  });
});
