import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { FORECAST_ERROR_EVENT, RETRAIN_STATES } from "../../infra/constructs/retrain-flow.js";
import {
  type AslDefinition,
  type AslState,
  retrainDefinitionFromTemplate,
  taskEntry,
  validateAsl,
} from "./state-machine-definition.js";
import { synthShaper } from "./synth.js";

/** The states a run visits when each Choice sees `flags`, from StartAt to the end. */
function path(definition: AslDefinition, flags: Record<string, boolean | string>): string[] {
  const visited: string[] = [];
  let name: string | undefined = definition.StartAt;
  while (name && visited.length < 50) {
    visited.push(name);
    const state: AslState = definition.States[name]!;
    if (state.Type === "Choice") {
      const match = state.Choices?.find((choice) => {
        const conditions = (choice.And as Array<Record<string, unknown>>) ?? [choice];
        return conditions.every((c) => {
          const field = String(c.Variable).replace(/^\$\./, "");
          if ("IsPresent" in c) return field in flags === c.IsPresent;
          if ("BooleanEquals" in c) return flags[field] === c.BooleanEquals;
          if ("StringEquals" in c) return flags[field] === c.StringEquals;
          throw new Error(`Unexpected condition ${JSON.stringify(c)}`);
        });
      });
      name = match ? match.Next : state.Default;
    } else {
      name = state.End || state.Type === "Succeed" ? undefined : state.Next;
    }
  }
  return visited;
}

describe("RetrainFlow", () => {
  let template: Template;
  let definition: AslDefinition;

  beforeAll(() => {
    ({ template } = synthShaper());
    definition = retrainDefinitionFromTemplate(template);
  });

  it("renders a definition that asl-validator accepts", () => {
    const result = validateAsl(definition);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("runs Evaluate → Train → Validate → Promote → Adapt when retraining is needed and the candidate wins", () => {
    expect(path(definition, { needsRetrain: true, promote: true, deployment: "promoted" })).toEqual(
      [
        "Evaluate",
        "NeedsRetrain",
        "Train",
        "Validate",
        "ShouldPromote",
        "Promote",
        "DeploymentPending",
        "Adapt",
        "Done",
      ],
    );
  });

  it("waits and runs Promote again while the endpoint is still updating", () => {
    const pending = path(definition, { needsRetrain: true, promote: true, deployment: "pending" });
    expect(pending.slice(5, 9)).toEqual([
      "Promote",
      "DeploymentPending",
      "WaitForEndpoint",
      "Promote",
    ]);
    const wait = definition.States[RETRAIN_STATES.waitForEndpoint]!;
    expect(wait).toMatchObject({ Type: "Wait", Seconds: 60, Next: RETRAIN_STATES.promote });
  });

  it("still adapts policies when no retrain is needed or the candidate is rejected", () => {
    expect(path(definition, { needsRetrain: false })).toEqual([
      "Evaluate",
      "NeedsRetrain",
      "Adapt",
      "Done",
    ]);
    expect(path(definition, {})).toEqual(["Evaluate", "NeedsRetrain", "Adapt", "Done"]);
    expect(path(definition, { needsRetrain: true, promote: false })).toEqual([
      "Evaluate",
      "NeedsRetrain",
      "Train",
      "Validate",
      "ShouldPromote",
      "Adapt",
      "Done",
    ]);
  });

  it("runs each step's handler and passes the whole state in and out", () => {
    const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === "Task");
    expect(
      Object.fromEntries(tasks.map(([name, state]) => [name, taskEntry(state.Resource!)])),
    ).toEqual({
      [RETRAIN_STATES.evaluate]: "functions/retrain/evaluate.ts",
      [RETRAIN_STATES.train]: "functions/retrain/train.ts",
      [RETRAIN_STATES.validate]: "functions/retrain/validate.ts",
      [RETRAIN_STATES.promote]: "functions/retrain/promote.ts",
      [RETRAIN_STATES.adapt]: "functions/retrain/adapt.ts",
    });
    for (const [name, state] of tasks) {
      // payloadResponseOnly: the function's result becomes the state, no Payload wrapper.
      expect(state.ResultPath, name).toBeUndefined();
      expect(state.Parameters, name).toBeUndefined();
      expect(state.Resource, name).not.toContain("states:::lambda:invoke");
    }
  });

  it("starts on the forecast stage's error event and once a day", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: [FORECAST_ERROR_EVENT.source],
        "detail-type": [FORECAST_ERROR_EVENT.detailType],
      },
      EventBusName: Match.absent(),
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp("^RetrainStateMachine") },
          InputTransformer: Match.objectLike({
            InputTemplate: '{"time":<time>,"trigger":"forecast-error"}',
          }),
        }),
      ],
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(17 3 * * ? *)",
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp("^RetrainStateMachine") } })],
    });
    expect(FORECAST_ERROR_EVENT).toEqual({
      source: "shaper.forecast",
      detailType: "ForecastErrorThresholdExceeded",
    });
  });
});
