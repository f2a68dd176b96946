import {
  type ApplicationAutoScalingClient,
  DeleteScheduledActionCommand,
  PutScheduledActionCommand,
  paginateDescribeScheduledActions,
  RegisterScalableTargetCommand,
  type ScheduledAction,
} from "@aws-sdk/client-application-auto-scaling";
import {
  DescribeServicesCommand,
  type DescribeServicesCommandOutput,
  type ECSClient,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { DependencyError, NotFoundError } from "../../domain/errors.js";
import type { ScalingStep } from "../../domain/plan.js";
import type { CapacityScaler, PoolCapacity, ScalingTarget } from "../../ports/capacity-scaler.js";
import type { Clock } from "../../ports/clock.js";
import { systemClock } from "../clock.js";
import { dependencyError } from "../dynamodb/errors.js";

const SERVICE_NAMESPACE = "ecs";
const SCALABLE_DIMENSION = "ecs:service:DesiredCount";

export interface AasCapacityScalerOptions {
  /**
   * First part of the names of the scheduled actions shaper owns: `<prefix>-<pool>-<epoch>`.
   * Actions with other names on the same service are never touched.
   * @default "shaper"
   */
  readonly actionPrefix?: string;
  /**
   * Where now comes from. Steps at or before now are not scheduled: `scaleNowTo` covers a due
   * scale-up, and a due scale-in is left to the service's dynamic scaling (see the class comment).
   * @default systemClock
   */
  readonly clock?: Clock;
}

/**
 * The CapacityScaler for AWS: ECS for task counts, Application Auto Scaling for scaling ahead.
 *
 * `apply` registers the service as a scalable target (ServiceNamespace `ecs`, ResourceId
 * `service/<cluster>/<service>`, dimension `ecs:service:DesiredCount`, min/max from the pool),
 * raises the desired count at once with ECS UpdateService when `scaleNowTo` is above it, and makes
 * shaper's scheduled actions equal the plan's future steps: one `PutScheduledAction` per step
 * named `<prefix>-<pool>-<epoch>` with `Schedule: at(yyyy-mm-ddThh:mm:ss)` in UTC and
 * `ScalableTargetAction { MinCapacity: tasks, MaxCapacity: pool max }`; shaper actions the plan no
 * longer has are deleted; actions with other names are left alone. Unchanged actions are not
 * re-put (fewer calls against AAS's rate limits).
 *
 * A scheduled action raises the minimum; AAS then scales out to it. It does not scale in by
 * itself: lowering the minimum lets a dynamic (target-tracking) policy on the service remove
 * tasks, as with AWS predictive scaling.
 *
 * @example
 * const scaler = new AasCapacityScaler(aws.applicationAutoScaling(), aws.ecs());
 * await scaler.apply(target, plan.scaling, 12); // schedules the steps after now, raises to 12 now
 */
export class AasCapacityScaler implements CapacityScaler {
  private readonly prefix: string;
  private readonly clock: Clock;

  constructor(
    private readonly aas: ApplicationAutoScalingClient,
    private readonly ecs: ECSClient,
    options: AasCapacityScalerOptions = {},
  ) {
    this.prefix = options.actionPrefix ?? "shaper";
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Task counts of the pool's ECS service.
   * @throws NotFoundError when the cluster or service does not exist (or is inactive)
   * @throws DependencyError when ECS fails
   */
  async describe(target: ScalingTarget): Promise<PoolCapacity> {
    let result: DescribeServicesCommandOutput;
    try {
      result = await this.ecs.send(
        new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === "ClusterNotFoundException") {
        throw notFound(target, "the cluster does not exist", error);
      }
      throw dependencyError("ECS", `describing service ${describeTarget(target)}`, error);
    }
    const service = result.services?.find((s) => s.status !== "INACTIVE");
    if (!service) {
      const reason =
        result.failures?.[0]?.reason ?? (result.services?.length ? "INACTIVE" : "MISSING");
      throw notFound(target, `ECS answered ${reason}`);
    }
    return {
      desiredTasks: service.desiredCount ?? 0,
      runningTasks: service.runningCount ?? 0,
      pendingTasks: service.pendingCount ?? 0,
    };
  }

  /**
   * Registers the target, raises the desired count to `scaleNowTo` when above it, and syncs
   * shaper's scheduled actions with the future `steps`.
   * @throws NotFoundError when `scaleNowTo` is set and the service does not exist
   * @throws DependencyError when AAS or ECS refuse (e.g. the service does not exist: AAS answers
   *   ValidationException); the caller keeps the plan and retries next cycle
   */
  async apply(
    target: ScalingTarget,
    steps: readonly ScalingStep[],
    scaleNowTo: number | undefined,
  ): Promise<void> {
    const resourceId = `service/${target.cluster}/${target.service}`;
    await this.call(
      "Application Auto Scaling",
      `registering ${resourceId} as a scalable target`,
      () =>
        this.aas.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
            MinCapacity: target.minTasks,
            MaxCapacity: target.maxTasks,
          }),
        ),
    );

    if (scaleNowTo !== undefined) {
      const current = await this.describe(target);
      const desired = Math.min(scaleNowTo, target.maxTasks);
      if (desired > current.desiredTasks) {
        await this.call("ECS", `raising ${describeTarget(target)} to ${desired} tasks`, () =>
          this.ecs.send(
            new UpdateServiceCommand({
              cluster: target.cluster,
              service: target.service,
              desiredCount: desired,
            }),
          ),
        );
      }
    }

    const now = this.clock.nowSeconds();
    const wanted = new Map<string, { schedule: string; tasks: number }>();
    for (const step of steps) {
      if (step.at <= now) continue;
      wanted.set(actionName(this.prefix, target.pool, step.at), {
        schedule: atExpression(step.at),
        tasks: Math.min(Math.max(step.tasks, target.minTasks), target.maxTasks),
      });
    }

    const existing = await this.listOwnActions(target, resourceId);
    for (const [name, action] of wanted) {
      const old = existing.get(name);
      const unchanged =
        old?.Schedule === action.schedule &&
        old.ScalableTargetAction?.MinCapacity === action.tasks &&
        old.ScalableTargetAction?.MaxCapacity === target.maxTasks;
      if (unchanged) continue;
      await this.call("Application Auto Scaling", `scheduling ${name} on ${resourceId}`, () =>
        this.aas.send(
          new PutScheduledActionCommand({
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
            ScheduledActionName: name,
            Schedule: action.schedule,
            Timezone: "UTC",
            ScalableTargetAction: { MinCapacity: action.tasks, MaxCapacity: target.maxTasks },
          }),
        ),
      );
    }
    for (const name of existing.keys()) {
      if (wanted.has(name)) continue;
      await this.call("Application Auto Scaling", `deleting stale ${name} on ${resourceId}`, () =>
        this.aas.send(
          new DeleteScheduledActionCommand({
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
            ScheduledActionName: name,
          }),
        ),
      );
    }
  }

  /** Scheduled actions on the service whose names shaper gave them for this pool, by name. */
  private async listOwnActions(
    target: ScalingTarget,
    resourceId: string,
  ): Promise<Map<string, ScheduledAction>> {
    const own = new Map<string, ScheduledAction>();
    const namePrefix = `${this.prefix}-${target.pool}-`;
    await this.call(
      "Application Auto Scaling",
      `listing scheduled actions of ${resourceId}`,
      async () => {
        const pages = paginateDescribeScheduledActions(
          { client: this.aas },
          {
            ServiceNamespace: SERVICE_NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
          },
        );
        for await (const page of pages) {
          for (const action of page.ScheduledActions ?? []) {
            const name = action.ScheduledActionName ?? "";
            // `shaper-cpu-` must not claim `shaper-cpu-large-…`: the rest must be the epoch alone.
            if (name.startsWith(namePrefix) && /^\d+$/.test(name.slice(namePrefix.length))) {
              own.set(name, action);
            }
          }
        }
      },
    );
    return own;
  }

  private async call<T>(dependency: string, doing: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof DependencyError) throw error;
      const wrapped = dependencyError(dependency, doing, error);
      // AAS answers ConcurrentUpdateException while another change to the target is in flight.
      if ((error as { name?: string }).name === "ConcurrentUpdateException" && !wrapped.retryable) {
        throw new DependencyError(dependency, `${wrapped.message} (transient; retrying may help)`, {
          cause: error,
          retryable: true,
          details: wrapped.details,
        });
      }
      throw wrapped;
    }
  }
}

/** `shaper-<pool>-<epoch seconds>`: the name of the scheduled action of one step. */
export function actionName(prefix: string, pool: string, at: number): string {
  return `${prefix}-${pool}-${Math.floor(at)}`;
}

/** `at(2026-11-27T20:52:00)`: AAS's one-time schedule, read in the action's Timezone (UTC). */
export function atExpression(at: number): string {
  return `at(${new Date(Math.floor(at) * 1000).toISOString().slice(0, 19)})`;
}

function describeTarget(target: ScalingTarget): string {
  return `${target.cluster}/${target.service} (pool ${target.pool})`;
}

function notFound(target: ScalingTarget, why: string, cause?: unknown): NotFoundError {
  return new NotFoundError(
    `ECS service "${target.service}" in cluster "${target.cluster}" backing pool "${target.pool}" was not found (${why}). Expected pools.${target.pool}.ecs to name an active ECS service: fix the cluster/service names in the config or create the service.`,
    { details: { pool: target.pool, cluster: target.cluster, service: target.service }, cause },
  );
}
