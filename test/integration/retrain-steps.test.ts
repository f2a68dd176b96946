import { GetObjectCommand } from "@aws-sdk/client-s3";
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
} from "@aws-sdk/client-sagemaker";
import { beforeAll, describe, expect, it } from "vitest";
import { handler as adapt } from "../../functions/retrain/adapt.js";
import { handler as evaluate } from "../../functions/retrain/evaluate.js";
import { handler as promote } from "../../functions/retrain/promote.js";
import { handler as train } from "../../functions/retrain/train.js";
import { handler as validate } from "../../functions/retrain/validate.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import { ConflictError, NotFoundError, ValidationError } from "../../layers/domain/errors.js";
import { forecastRunId } from "../../layers/domain/forecasting/forecast-error.js";
import {
  FORECAST_MODEL_NAME,
  modelVersionAt,
} from "../../layers/domain/retrain/model-parameters.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import {
  createRetrainWorld,
  HOUR,
  MODEL_IMAGE_URI,
  putDecisions,
  type RetrainWorld,
  requests,
  serveInitialModel,
  usageHistory,
} from "../helpers/retrain-world.js";

/**
 * Each retrain step handler, in-process, against moto: real DynamoDB tables, an S3 bucket and a
 * SageMaker endpoint. Two weeks of hourly usage end at TA (steady noise: a well-calibrated
 * candidate beats the initial model, whose intervals are 5× too wide) and at TB (calm history,
 * then a noisy hold-out: the candidate calibrated on the calm part loses to the wide model).
 */

const TA = 1_794_999_600;
const TB = TA + 30 * 86_400;
const HOURS = 288;
let world: RetrainWorld;
const ctx = lambdaContext("retrain-steps");

beforeAll(async () => {
  world = await createRetrainWorld();
  Object.assign(process.env, world.env);
  await serveInitialModel(world, "initial", 5);
  await world.usageStore.putUsage([
    ...usageHistory(world.config, TA, HOURS, () => 4, 11),
    ...usageHistory(world.config, TB, HOURS, (h) => (h < HOURS - 48 ? 1 : 12), 11),
  ]);
});

describe("Evaluate handler", () => {
  const summary = (wql: number, points: number) => ({
    pinballSum: wql * 9 * 10 * points,
    absActualSum: 10 * points,
    quantileCount: 9,
    points,
    covered80: Math.round(0.8 * points),
  });

  it("sums the day's error summaries per tier and asks for a retrain above the threshold", async () => {
    const store = new DynamoDbForecastStore(
      world.aws.documentClient(),
      world.tables.forecasts,
      world.config.shardCount,
    );
    await store.putErrorSummary(forecastRunId(TA - 2 * HOUR), 0, { premium: summary(0.5, 300) });
    await store.putErrorSummary(forecastRunId(TA - 2 * HOUR), 1, { standard: summary(0.2, 300) });
    // Outside the window (older than a day): not counted.
    await store.putErrorSummary(forecastRunId(TA - 2 * 86_400), 0, { premium: summary(5, 900) });

    const state = await evaluate(
      { time: new Date((TA + 120) * 1000).toISOString(), trigger: "schedule" },
      ctx,
    );
    expect(state.asOf).toBe(TA);
    expect(state.trigger).toBe("schedule");
    expect(state.points).toBe(600);
    expect(state.wql).toBeCloseTo(0.35, 10);
    expect(state.byTier.premium?.wql).toBeCloseTo(0.5, 10);
    expect(state.needsRetrain).toBe(true);
    expect(state.window.toRunId).toBe(forecastRunId(TA));
    expect(state.reasons.join(" ")).toContain("above the threshold 0.3");
  });

  it("does not ask for a retrain when the error is within the threshold", async () => {
    const store = new DynamoDbForecastStore(world.aws.documentClient(), world.tables.forecasts, 4);
    await store.putErrorSummary(forecastRunId(TB - HOUR), 0, { free: summary(0.1, 500) });
    const state = await evaluate({ time: new Date(TB * 1000).toISOString() }, ctx);
    expect(state.needsRetrain).toBe(false);
    expect(state.wql).toBeCloseTo(0.1, 10);
  });

  it("rejects a malformed start event, naming the field", async () => {
    await expect(evaluate({ time: "yesterday" }, ctx)).rejects.toThrow(ValidationError);
    await expect(evaluate({ time: "yesterday" }, ctx)).rejects.toThrow(/time/);
  });
});

describe("Train, Validate and Promote handlers", () => {
  let trained: Awaited<ReturnType<typeof train>>;
  let validated: Awaited<ReturnType<typeof validate>>;

  it("Train fits a candidate on the history before the hold-out, writes its artefact to S3 and registers it", async () => {
    trained = await train({ asOf: TA, needsRetrain: true, trigger: "schedule" }, ctx);
    expect(trained.candidateVersion).toBe(modelVersionAt(TA));
    expect(trained.trigger).toBe("schedule");
    expect(trained.artifactUri).toBe(
      `s3://${world.bucket}/models/${FORECAST_MODEL_NAME}/${trained.candidateVersion}.json`,
    );
    expect(trained.training.series).toBe(12);
    expect(trained.training.seasonLength).toBe(24);

    const object = await world.aws.s3().send(
      new GetObjectCommand({
        Bucket: world.bucket,
        Key: `models/${FORECAST_MODEL_NAME}/${trained.candidateVersion}.json`,
      }),
    );
    const artefact = JSON.parse((await object.Body?.transformToString()) ?? "{}");
    // Noise around a daily shape: the shaper method beats the calibrated seasonal naive.
    expect(trained.training.kind).toBe("shaper");
    expect(artefact).toMatchObject({
      kind: "shaper",
      version: trained.candidateVersion,
      seasonLength: 24,
      switchMargin: trained.training.switchMargin,
    });
    const tried = trained.training.candidates as { kind: string; wql: number; points: number }[];
    expect(tried.map((c) => c.kind)).toEqual(["seasonal-naive", "shaper", "shaper"]);
    expect(Math.min(...tried.map((c) => c.wql))).toBe(trained.training.wql);
    expect(object.ServerSideEncryption).toBe("AES256");
    const record = await world.registry.getVersion(FORECAST_MODEL_NAME, trained.candidateVersion);
    expect(record?.status).toBe("candidate");
    expect(record?.artifactUri).toBe(trained.artifactUri);
  });

  it("Validate promotes a candidate better than the current model on the hold-out, recording its metrics", async () => {
    validated = await validate(trained, ctx);
    expect(validated.currentVersion).toBe("initial");
    expect(validated.promote).toBe(true);
    expect(validated.candidateMetrics.wql).toBeLessThan(validated.currentMetrics.wql * 0.98);
    expect(validated.candidateMetrics.points).toBe(12 * 48);
    expect(validated.reason).toContain("current: version initial");
    const record = await world.registry.getVersion(FORECAST_MODEL_NAME, trained.candidateVersion);
    expect(record?.metrics).toEqual(validated.candidateMetrics);
    expect(record?.statusReason).toBe(validated.reason);
    expect(record?.status).toBe("candidate");
  });

  it("Promote points the endpoint at the candidate, then moves the registry pointer", async () => {
    const promoted = await promote(validated, ctx);
    expect(promoted.promotedVersion).toBe(trained.candidateVersion);
    expect(promoted.previousVersion).toBe("initial");

    const name = `${world.endpointName}-${trained.candidateVersion}`;
    const sagemaker = world.aws.sagemaker();
    const endpoint = await sagemaker.send(
      new DescribeEndpointCommand({ EndpointName: world.endpointName }),
    );
    expect(endpoint.EndpointConfigName).toBe(name);
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: name }));
    expect(model.PrimaryContainer?.Image).toBe(MODEL_IMAGE_URI);
    expect(model.PrimaryContainer?.Environment).toEqual({
      MODEL_ARTIFACT_URI: trained.artifactUri,
      MODEL_VERSION: trained.candidateVersion,
      PREDICTION_LENGTH: "6",
      SEASON_LENGTH: "24",
    });
    expect(model.ExecutionRoleArn).toBe(world.env.MODEL_EXECUTION_ROLE_ARN);
    const config = await sagemaker.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: name }),
    );
    expect(config.ProductionVariants?.[0]?.ServerlessConfig).toEqual({
      MemorySizeInMB: 2048,
      MaxConcurrency: 5,
    });

    const current = await world.registry.getCurrent(FORECAST_MODEL_NAME);
    expect(current?.version).toBe(trained.candidateVersion);
    expect(current?.status).toBe("promoted");
    expect((await world.registry.getVersion(FORECAST_MODEL_NAME, "initial"))?.status).toBe(
      "retired",
    );
  });

  it("Promote re-run for the same version changes nothing and succeeds", async () => {
    const again = await promote(validated, ctx);
    expect(again.promotedVersion).toBe(trained.candidateVersion);
    expect(again.promotionNote).toContain("already current");
    const endpoint = await world.aws
      .sagemaker()
      .send(new DescribeEndpointCommand({ EndpointName: world.endpointName }));
    expect(endpoint.EndpointConfigName).toBe(`${world.endpointName}-${trained.candidateVersion}`);
  });

  it("Validate rejects a candidate no better than the current model by the margin and records why; Promote refuses it", async () => {
    // The current model is the one trained and promoted at TA; a candidate of the same kind
    // trained at TB forecasts TB's hold-out about as well, which is not the 2 % promotion asks.
    const trainedB = await train({ asOf: TB }, ctx);
    const validatedB = await validate(trainedB, ctx);
    expect(validatedB.promote).toBe(false);
    expect(validatedB.candidateMetrics.wql).toBeGreaterThan(validatedB.currentMetrics.wql * 0.98);
    expect(validatedB.currentVersion).toBe(trained.candidateVersion);
    expect(validatedB.reason).toContain("is not below");
    const record = await world.registry.getVersion(FORECAST_MODEL_NAME, trainedB.candidateVersion);
    expect(record?.status).toBe("rejected");
    expect(record?.statusReason).toBe(validatedB.reason);

    await expect(promote(validatedB, ctx)).rejects.toThrow(ConflictError);
    expect((await world.registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe(
      trained.candidateVersion,
    );
  });

  it("Train that cannot write its artefact fails retryably and registers nothing; the current model stays", async () => {
    const before = await world.registry.getCurrent(FORECAST_MODEL_NAME);
    const asOf = TB + 86_400;
    process.env.ARTIFACT_BUCKET = `${world.prefix}-no-such-bucket`;
    try {
      await expect(train({ asOf }, ctx)).rejects.toThrow(/S3/);
    } finally {
      process.env.ARTIFACT_BUCKET = world.env.ARTIFACT_BUCKET;
    }
    expect(
      await world.registry.getVersion(FORECAST_MODEL_NAME, modelVersionAt(asOf)),
    ).toBeUndefined();
    expect((await world.registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe(before?.version);
  });

  it("Promote leaves the pointer where it was when the deploy fails", async () => {
    await world.registry.putVersion({
      modelName: FORECAST_MODEL_NAME,
      version: "orphan",
      artifactUri: trained.artifactUri,
      trainedAt: TB,
      status: "candidate",
    });
    process.env.FORECAST_ENDPOINT_NAME = `${world.prefix}-no-such-endpoint`;
    try {
      await expect(
        promote({ candidateVersion: "orphan", currentVersion: trained.candidateVersion }, ctx),
      ).rejects.toThrow(NotFoundError);
    } finally {
      process.env.FORECAST_ENDPOINT_NAME = world.endpointName;
    }
    expect((await world.registry.getCurrent(FORECAST_MODEL_NAME))?.version).toBe(
      trained.candidateVersion,
    );
    expect((await world.registry.getVersion(FORECAST_MODEL_NAME, "orphan"))?.status).toBe(
      "candidate",
    );
  });
});

describe("Adapt handler", () => {
  it("raises the knobs of a tier missing its grant-now target and logs the change", async () => {
    const end = TA + 10 * 86_400;
    await putDecisions(world, [
      ...requests("globex", "standard", "grant", 60, end),
      ...requests("globex", "standard", "reject", 15, end),
      ...requests("acme", "premium", "grant", 30, end),
    ]);
    await world.usageStore.putPoolLoad([
      {
        pool: "cpu",
        intervalStart: end - HOUR,
        cpuUtilizationPercent: 92,
        memoryUtilizationPercent: 70,
      },
    ]);
    const state = await adapt({ asOf: end, trigger: "schedule" }, ctx);
    expect(state.trigger).toBe("schedule");
    expect(state.requests).toEqual({ read: 105, withoutTier: 0 });
    expect(state.utilisation).toBeCloseTo(0.92, 10);
    expect(state.changes).toHaveLength(1);
    expect(state.changes[0]).toMatchObject({
      tier: "standard",
      before: { forecastQuantile: 0.9, headroomFraction: 0.1 },
      after: { forecastQuantile: 0.95, headroomFraction: 0.15 },
    });
    expect(state.changes[0]?.cause).toContain("grant-now rate 80% over 75 requests");
    expect(state.assessments.premium?.action).toBe("hold");

    const policies = new DynamoDbPolicyStore(world.aws.documentClient(), world.tables.registry);
    const stored = await policies.getPolicies();
    expect(stored?.version).toBe(state.policyVersion);
    expect(stored?.tiers.standard).toEqual({ forecastQuantile: 0.95, headroomFraction: 0.15 });
    const log = await policies.listChanges(10);
    expect(log[0]?.cause).toBe(state.changes[0]?.cause);
  });
});
