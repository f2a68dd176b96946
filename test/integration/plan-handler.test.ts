import {
  DescribeScalableTargetsCommand,
  DescribeScheduledActionsCommand,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
  type ScheduledAction,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { atExpression } from "../../layers/adapters/application-auto-scaling/aas-capacity-scaler.js";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbForecastStore } from "../../layers/adapters/dynamodb/dynamodb-forecast-store.js";
import { DynamoDbPlanStore } from "../../layers/adapters/dynamodb/dynamodb-plan-store.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { parseConfig, type ShaperConfig } from "../../layers/domain/config.js";
import type { PoolPlan } from "../../layers/domain/plan.js";
import { intervalStartOf } from "../../layers/domain/time.js";
import { testConfigInput } from "../fixtures/config.js";
import { storedForecast } from "../fixtures/plan-inputs.js";
import { lambdaContext } from "../helpers/lambda-context.js";
import { createTables, deleteTables, tableEnv, uniquePrefix } from "../helpers/tables.js";

/**
 * The plan handler in-process against moto: ECS cluster, task definition and service created
 * first; config, users and forecasts stored in DynamoDB; then the handler runs and the result is
 * read back through the AWS APIs (DescribeScalableTargets, DescribeScheduledActions,
 * DescribeServices) and the plan and admission tables.
 *
 * Times are real: the scaler skips steps already due by the wall clock, as in AWS. moto's state
 * is shared by the test files, so every cluster name carries a unique prefix.
 */

const aws = createAwsClients();
const ecs = aws.ecs();
const aas = aws.applicationAutoScaling();
const prefix = uniquePrefix();
const CLUSTER = `${prefix}-plan`;
const SHADOW_CLUSTER = `${prefix}-shadow`;
const NOW = Math.floor(Date.now() / 1000);
const START = intervalStartOf(NOW, 300);
const RESOURCE = `service/${CLUSTER}/cpu-pool`;
const STALE = "shaper-cpu-1000000000";
const OTHER_POOL = "shaper-cpu-large-1000000000";
const FOREIGN = "nightly-scale-down";

let tables: TableNames;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

function configFor(cluster: string, mode: "active" | "shadow"): ShaperConfig {
  const input = testConfigInput();
  return parseConfig(
    {
      ...input,
      mode,
      // The whole pool at its highest tier's quantile, so the task counts below are simple sums.
      planning: { poolDemand: "highest-tier" },
      pools: {
        cpu: { ...input.pools?.cpu, ecs: { cluster, service: "cpu-pool" } },
        // No such service is created: its actuation must fail without stopping the run.
        gpu: { ...input.pools?.gpu, ecs: { cluster, service: "gpu-pool" } },
      },
    },
    "plan-handler test",
  );
}

async function createService(cluster: string, service: string, desiredCount: number) {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const family = `${cluster}-${service}`;
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      containerDefinitions: [
        { name: "worker", image: "public.ecr.aws/docker/library/busybox:latest", memory: 512 },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: service,
      taskDefinition: family,
      desiredCount,
    }),
  );
}

async function scheduledActions(resourceId: string): Promise<ScheduledAction[]> {
  const out = await aas.send(
    new DescribeScheduledActionsCommand({ ServiceNamespace: "ecs", ResourceId: resourceId }),
  );
  return out.ScheduledActions ?? [];
}

async function desiredCount(cluster: string, service: string): Promise<number | undefined> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  return out.services?.[0]?.desiredCount;
}

// Demand: 40 vcpu now, 120 vcpu from the fourth interval on (pool forecast; q0.95 = 1.45 ×).
const H = 12;
const poolVcpu = Array.from({ length: H }, (_, k) => (k < 3 ? 40 : 120));

beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
  Object.assign(process.env, tableEnv(tables));
  const documentClient = aws.documentClient();
  const config = configFor(CLUSTER, "active");
  await new DynamoDbConfigSource(documentClient, tables.registry, systemClock).save(config, NOW);
  await new DynamoDbUserRegistry(documentClient, tables.registry, config.shardCount).putUsers(
    config.users,
  );
  await new DynamoDbForecastStore(documentClient, tables.forecasts, config.shardCount).putForecasts(
    [
      storedForecast({
        pool: "cpu",
        start: START,
        perResource: { vcpu: poolVcpu, memoryGiB: poolVcpu },
      }),
      storedForecast({
        pool: "cpu",
        userId: "acme",
        tier: "premium",
        start: START,
        perResource: { vcpu: Array(H).fill(10), memoryGiB: Array(H).fill(20) },
      }),
      // No tier on the forecast: the handler reads globex from the registry.
      storedForecast({
        pool: "cpu",
        userId: "globex",
        start: START,
        perResource: { vcpu: Array(H).fill(4), memoryGiB: Array(H).fill(8) },
      }),
      storedForecast({
        pool: "gpu",
        start: START,
        perResource: { gpu: Array(H).fill(2), vcpu: Array(H).fill(8) },
      }),
    ],
  );

  await createService(CLUSTER, "cpu-pool", 2);
  await createService(SHADOW_CLUSTER, "cpu-pool", 2);
  // Actions from before: a stale one of shaper's, one of another pool whose name shares the
  // prefix, and one somebody else made. Only the first may go.
  await aas.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: "ecs",
      ResourceId: RESOURCE,
      ScalableDimension: "ecs:service:DesiredCount",
      MinCapacity: 1,
      MaxCapacity: 10,
    }),
  );
  for (const name of [STALE, OTHER_POOL, FOREIGN]) {
    await aas.send(
      new PutScheduledActionCommand({
        ServiceNamespace: "ecs",
        ResourceId: RESOURCE,
        ScalableDimension: "ecs:service:DesiredCount",
        ScheduledActionName: name,
        Schedule: name === FOREIGN ? "cron(0 22 * * ? *)" : "at(2001-09-09T01:46:40)",
        ScalableTargetAction: { MinCapacity: 1, MaxCapacity: 10 },
      }),
    );
  }
  ({ handler } = (await import("../../functions/shape/plan.js")) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

describe("plan handler (active mode)", () => {
  let cpu: PoolPlan;
  let summary: { pools: { pool: string; actuation?: { status: string } }[] };

  beforeAll(async () => {
    summary = (await handler(
      { time: new Date(NOW * 1000).toISOString(), source: "aws.events" },
      lambdaContext(),
    )) as typeof summary;
    cpu = (await new DynamoDbPlanStore(aws.documentClient(), tables.plans).getLatestPlan(
      "cpu",
    )) as PoolPlan;
  });

  it("stores a plan per pool and returns a summary", async () => {
    expect(summary.pools.map((p) => p.pool).sort()).toEqual(["cpu", "gpu"]);
    expect(cpu.issuedAt).toBe(NOW);
    expect(cpu.actuation?.status).toBe("applied");
    // acme is premium (q0.95 + 20 %): 40 × 1.45 × 1.2 = 69.6 vcpu → 18 tasks of 4 vcpu.
    expect(cpu.intervals[0]?.targetTasks).toBe(18);
    expect(cpu.intervals[3]?.targetTasks).toBe(53);
  });

  it("registers the service as a scalable target with the pool's bounds", async () => {
    const out = await aas.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", ResourceIds: [RESOURCE] }),
    );
    expect(out.ScalableTargets).toHaveLength(1);
    expect(out.ScalableTargets?.[0]).toMatchObject({
      ScalableDimension: "ecs:service:DesiredCount",
      MinCapacity: 2,
      MaxCapacity: 64,
    });
  });

  it("makes shaper's scheduled actions equal the plan's future steps, leaving other actions alone", async () => {
    const actions = await scheduledActions(RESOURCE);
    const names = actions.map((a) => a.ScheduledActionName).sort();
    const future = cpu.scaling.filter((s) => s.at > NOW);
    expect(future.length).toBeGreaterThan(0);
    const expected = future.map((s) => `shaper-cpu-${s.at}`);
    expect(names).toEqual([...expected, OTHER_POOL, FOREIGN].sort());
    expect(names).not.toContain(STALE);
    for (const step of future) {
      const action = actions.find((a) => a.ScheduledActionName === `shaper-cpu-${step.at}`);
      expect(action?.Schedule).toBe(atExpression(step.at));
      expect(action?.ScalableTargetAction).toEqual({ MinCapacity: step.tasks, MaxCapacity: 64 });
    }
    // The scale-up to 53 tasks is requested one lag (180 s) before the fourth interval.
    expect(future.find((s) => s.tasks === 53)?.at).toBe(START + 900 - 180);
    const foreign = actions.find((a) => a.ScheduledActionName === FOREIGN);
    expect(foreign?.Schedule).toBe("cron(0 22 * * ? *)");
  });

  it("raises the ECS desired count at once when the current interval needs more tasks", async () => {
    expect(await desiredCount(CLUSTER, "cpu-pool")).toBe(18);
  });

  it("keeps the plan of a pool whose ECS service does not exist, with actuation failed", async () => {
    const gpu = await new DynamoDbPlanStore(aws.documentClient(), tables.plans).getLatestPlan(
      "gpu",
    );
    expect(gpu?.actuation?.status).toBe("failed");
    expect(gpu?.actuation?.detail).toContain(`ECS service "gpu-pool" in cluster "${CLUSTER}"`);
    expect(summary.pools.find((p) => p.pool === "gpu")?.actuation?.status).toBe("failed");
    const gpuTargets = await aas.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: "ecs",
        ResourceIds: [`service/${CLUSTER}/gpu-pool`],
      }),
    );
    expect(gpuTargets.ScalableTargets).toEqual([]);
  });

  it("writes the plan's capacity and warm leases into the pool's ledger", async () => {
    const store = new DynamoDbAdmissionStore(aws.documentClient(), tables.admission, {
      shardCount: 4,
    });
    const ledger = await store.getLedger("cpu");
    expect(ledger.version).toBe(1);
    expect(ledger.planIssuedAt).toBe(NOW);
    expect(ledger.capacity.at(-1)?.capacity.vcpu).toBe(cpu.intervals.at(-1)?.capacity.vcpu);
  });

  it("leaves shaper's actions as they are when the same plan is applied again", async () => {
    const before = await scheduledActions(RESOURCE);
    await handler({ time: new Date(NOW * 1000).toISOString() }, lambdaContext());
    const after = await scheduledActions(RESOURCE);
    const view = (list: ScheduledAction[]) =>
      list
        .map((a) => `${a.ScheduledActionName} ${a.Schedule} ${a.ScalableTargetAction?.MinCapacity}`)
        .sort();
    expect(view(after)).toEqual(view(before));
  });
});

describe("plan handler (shadow mode)", () => {
  it("records the plan but leaves no scalable target, scheduled action or service change behind", async () => {
    const documentClient = aws.documentClient();
    await new DynamoDbConfigSource(documentClient, tables.registry, systemClock).save(
      configFor(SHADOW_CLUSTER, "shadow"),
      NOW,
    );
    // A fresh module: the cached runtime would serve the active config for another 60 s.
    vi.resetModules();
    const fresh = (await import("../../functions/shape/plan.js")) as unknown as {
      handler: typeof handler;
    };
    await fresh.handler({ time: new Date((NOW + 1) * 1000).toISOString() }, lambdaContext());

    const plan = await new DynamoDbPlanStore(documentClient, tables.plans).getLatestPlan("cpu");
    expect(plan?.issuedAt).toBe(NOW + 1);
    expect(plan?.actuation?.status).toBe("shadow");
    expect(plan?.scaling.every((s) => s.reason.includes("shadow mode"))).toBe(true);
    const resource = `service/${SHADOW_CLUSTER}/cpu-pool`;
    const targets = await aas.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", ResourceIds: [resource] }),
    );
    expect(targets.ScalableTargets).toEqual([]);
    expect(await scheduledActions(resource)).toEqual([]);
    expect(await desiredCount(SHADOW_CLUSTER, "cpu-pool")).toBe(2);
  });
});
