import { describe, expect, it } from "vitest";
import {
  AasCapacityScaler,
  actionName,
  atExpression,
} from "../../../layers/adapters/application-auto-scaling/aas-capacity-scaler.js";
import { createAwsClients } from "../../../layers/adapters/aws-clients.js";
import { ManualClock } from "../../../layers/adapters/clock.js";
import { DependencyError, NotFoundError } from "../../../layers/domain/errors.js";
import type { ScalingTarget } from "../../../layers/ports/capacity-scaler.js";

// Faults and paging moto does not produce (moto never pages DescribeScheduledActions and never
// answers ConcurrentUpdateException): the real SDK clients from the factory, with a middleware
// that answers each command in-process instead of sending it.

type Answer = (command: string, input: Record<string, unknown>) => unknown;
/** The slice of the SDK's middleware stack this test uses (both clients share its shape). */
type AddMiddleware = (
  middleware: (
    next: unknown,
    context: { commandName?: string },
  ) => (args: { input: object }) => Promise<{ output: unknown; response: unknown }>,
  options: { step: "initialize"; name: string },
) => void;
interface Call {
  command: string;
  input: Record<string, unknown>;
}
const NOW = 1_795_812_600;
const target: ScalingTarget = {
  pool: "cpu",
  cluster: "c1",
  service: "s1",
  minTasks: 2,
  maxTasks: 20,
};

function scaler(answer: Answer) {
  const aws = createAwsClients({
    env: { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
  });
  const calls: Call[] = [];
  for (const client of [aws.applicationAutoScaling(), aws.ecs()]) {
    (client.middlewareStack as unknown as { add: AddMiddleware }).add(
      (_next, context) => async (args) => {
        const command = String(context.commandName);
        const input = args.input as Record<string, unknown>;
        calls.push({ command, input });
        return { output: { $metadata: {}, ...(answer(command, input) as object) }, response: {} };
      },
      { step: "initialize", name: "answerInProcess" },
    );
  }
  const clock = new ManualClock(NOW);
  return {
    calls,
    scaler: new AasCapacityScaler(aws.applicationAutoScaling(), aws.ecs(), { clock }),
  };
}

const named = (calls: Call[], command: string) => calls.filter((c) => c.command === command);

describe("AasCapacityScaler", () => {
  it("names actions by pool and epoch, with a UTC at() schedule", () => {
    expect(actionName("shaper", "cpu", NOW + 0.7)).toBe(`shaper-cpu-${NOW}`);
    expect(atExpression(NOW)).toBe("at(2026-11-27T20:50:00)");
  });

  it("reads every page of scheduled actions and deletes shaper's stale ones only", async () => {
    const { scaler: s, calls } = scaler((command, input) => {
      if (command !== "DescribeScheduledActionsCommand") return {};
      return input.NextToken === undefined
        ? { ScheduledActions: [{ ScheduledActionName: "other-team" }], NextToken: "p2" }
        : {
            ScheduledActions: [
              { ScheduledActionName: `shaper-cpu-${NOW - 600}` },
              { ScheduledActionName: `shaper-cpu-large-${NOW - 600}` },
            ],
          };
    });
    await s.apply(target, [], undefined);
    expect(named(calls, "DescribeScheduledActionsCommand")).toHaveLength(2);
    expect(
      named(calls, "DeleteScheduledActionCommand").map((c) => c.input.ScheduledActionName),
    ).toEqual([`shaper-cpu-${NOW - 600}`]);
  });

  it("schedules only future steps, clamped to the target's bounds, and skips unchanged ones", async () => {
    const unchanged = {
      ScheduledActionName: `shaper-cpu-${NOW + 600}`,
      Schedule: atExpression(NOW + 600),
      ScalableTargetAction: { MinCapacity: 5, MaxCapacity: 20 },
    };
    const { scaler: s, calls } = scaler((command) =>
      command === "DescribeScheduledActionsCommand" ? { ScheduledActions: [unchanged] } : {},
    );
    await s.apply(
      target,
      [
        { at: NOW - 10, tasks: 9, reason: "due already" },
        { at: NOW + 300, tasks: 50, reason: "above max" },
        { at: NOW + 600, tasks: 5, reason: "as before" },
      ],
      undefined,
    );
    const puts = named(calls, "PutScheduledActionCommand").map((c) => c.input);
    expect(puts).toEqual([
      expect.objectContaining({
        ScheduledActionName: `shaper-cpu-${NOW + 300}`,
        Schedule: atExpression(NOW + 300),
        Timezone: "UTC",
        ScalableTargetAction: { MinCapacity: 20, MaxCapacity: 20 },
      }),
    ]);
    const register = named(calls, "RegisterScalableTargetCommand")[0]?.input;
    expect(register).toMatchObject({
      ResourceId: "service/c1/s1",
      MinCapacity: 2,
      MaxCapacity: 20,
    });
  });

  it("raises the desired count only when scaleNowTo is above it", async () => {
    const service = { status: "ACTIVE", desiredCount: 6, runningCount: 6, pendingCount: 0 };
    const { scaler: s, calls } = scaler((command) =>
      command === "DescribeServicesCommand" ? { services: [service] } : {},
    );
    await s.apply(target, [], 4);
    expect(named(calls, "UpdateServiceCommand")).toEqual([]);
    await s.apply(target, [], 30);
    expect(named(calls, "UpdateServiceCommand")[0]?.input).toMatchObject({
      cluster: "c1",
      service: "s1",
      desiredCount: 20,
    });
  });

  it("answers a missing or inactive service with NotFoundError saying what to fix", async () => {
    const missing = scaler(() => ({ services: [], failures: [{ reason: "MISSING" }] })).scaler;
    await expect(missing.describe(target)).rejects.toThrow(NotFoundError);
    await expect(missing.describe(target)).rejects.toThrow(
      /ECS service "s1" in cluster "c1" backing pool "cpu" was not found \(ECS answered MISSING\).*pools\.cpu\.ecs/,
    );
    const inactive = scaler(() => ({ services: [{ status: "INACTIVE" }] })).scaler;
    await expect(inactive.describe(target)).rejects.toThrow(/ECS answered INACTIVE/);
    const noCluster = scaler(() => {
      throw Object.assign(new Error("Cluster not found."), { name: "ClusterNotFoundException" });
    }).scaler;
    await expect(noCluster.describe(target)).rejects.toThrow(/the cluster does not exist/);
  });

  it("wraps AWS refusals as DependencyError, retryable for concurrent updates only", async () => {
    const busy = scaler((command) => {
      if (command === "RegisterScalableTargetCommand")
        throw Object.assign(new Error("busy"), { name: "ConcurrentUpdateException" });
      return {};
    }).scaler;
    const error = await busy.apply(target, [], undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).retryable).toBe(true);
    const refused = scaler((command) => {
      if (command === "RegisterScalableTargetCommand")
        throw Object.assign(new Error("ECS service doesn't exist"), {
          name: "ValidationException",
        });
      return {};
    }).scaler;
    const denied = await refused.apply(target, [], undefined).catch((e: unknown) => e);
    expect((denied as DependencyError).retryable).toBe(false);
    expect((denied as DependencyError).message).toContain(
      "Application Auto Scaling failed while registering service/c1/s1 as a scalable target: ValidationException",
    );
  });
});
