import type { ScalingStep } from "../domain/plan.js";

export interface PoolCapacity {
  /** Tasks ECS is asked to run. */
  readonly desiredTasks: number;
  /** Tasks serving now. */
  readonly runningTasks: number;
  /** Tasks starting (not yet serving). */
  readonly pendingTasks: number;
}

export interface ScalingTarget {
  readonly pool: string;
  readonly cluster: string;
  readonly service: string;
  readonly minTasks: number;
  readonly maxTasks: number;
}

/**
 * Reads and changes a pool's ECS capacity: Application Auto Scaling + ECS in AWS, a simulated
 * cluster with provisioning lag locally.
 */
export interface CapacityScaler {
  describe(target: ScalingTarget): Promise<PoolCapacity>;
  /**
   * Registers the scalable target, replaces shaper's scheduled actions with `steps` (scale ahead),
   * and raises the desired count at once when `scaleNowTo` is above it.
   * @throws DependencyError when AWS refuses; the caller keeps the plan and retries next cycle.
   */
  apply(
    target: ScalingTarget,
    steps: readonly ScalingStep[],
    scaleNowTo: number | undefined,
  ): Promise<void>;
}
