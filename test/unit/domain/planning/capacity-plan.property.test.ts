import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PlanPoolInput, planPool } from "../../../../layers/domain/planning/capacity-plan.js";
import {
  cpuPool,
  INTERVAL,
  planInput,
  poolForecast,
  T0,
  user,
} from "../../../fixtures/plan-inputs.js";

const HORIZON = 10;

const inputs: fc.Arbitrary<PlanPoolInput> = fc
  .record({
    series: fc.array(fc.integer({ min: 0, max: 200 }), { minLength: HORIZON, maxLength: HORIZON }),
    minTasks: fc.integer({ min: 0, max: 5 }),
    extraMax: fc.integer({ min: 1, max: 60 }),
    lagIntervals: fc.integer({ min: 0, max: 4 }),
    lagExtraSeconds: fc.integer({ min: 0, max: INTERVAL - 1 }),
    delaySeconds: fc.integer({ min: 0, max: 6 * INTERVAL }),
    offset: fc.integer({ min: 0, max: INTERVAL - 1 }),
    desired: fc.integer({ min: 0, max: 70 }),
    running: fc.integer({ min: 0, max: 70 }),
    pending: fc.integer({ min: 0, max: 5 }),
    users: fc.array(
      fc.record({
        footprint: fc.array(fc.integer({ min: 0, max: 40 }), {
          minLength: HORIZON,
          maxLength: HORIZON,
        }),
        current: fc.integer({ min: 0, max: 40 }),
        guarantee: fc.integer({ min: 0, max: 8 }),
        tier: fc.constantFrom("premium", "standard", "free"),
      }),
      { maxLength: 6 },
    ),
    withForecast: fc.boolean(),
  })
  .map((x) =>
    planInput({
      horizon: HORIZON,
      now: T0 + x.offset,
      config: cpuPool({
        minTasks: x.minTasks,
        maxTasks: x.minTasks + x.extraMax,
        provisioningLagSeconds: x.lagIntervals * INTERVAL + x.lagExtraSeconds,
        scaleInDelaySeconds: x.delaySeconds,
      }),
      poolForecast: x.withForecast ? poolForecast(x.series) : undefined,
      users: x.users.map((u, i) =>
        user(`u${i}`, u.footprint, {
          tier: u.tier,
          currentUsage: { vcpu: u.current },
          guaranteedMinimum: { vcpu: u.guarantee },
        }),
      ),
      capacity: { desiredTasks: x.desired, runningTasks: x.running, pendingTasks: x.pending },
    }),
  );

/** The raw target of an interval: what demand + warm needs, clamped, without the scale-in delay. */
function rawTargets(input: PlanPoolInput, plan: ReturnType<typeof planPool>): number[] {
  const { minTasks, maxTasks } = input.config;
  return plan.intervals.map((i) => {
    const need = (i.demand.vcpu ?? 0) + (i.warm.vcpu ?? 0);
    return Math.min(maxTasks, Math.max(minTasks, Math.ceil(need / 4 - 1e-9)));
  });
}

describe("planPool properties", () => {
  it("keeps every target within [minTasks, maxTasks] and covers demand + warm unless maxTasks binds", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = planPool(input);
        for (const i of plan.intervals) {
          expect(i.targetTasks).toBeGreaterThanOrEqual(input.config.minTasks);
          expect(i.targetTasks).toBeLessThanOrEqual(input.config.maxTasks);
          if (i.targetTasks < input.config.maxTasks) {
            expect(i.targetTasks * 4).toBeGreaterThanOrEqual(
              (i.demand.vcpu ?? 0) + (i.warm.vcpu ?? 0) - 1e-9,
            );
          }
        }
      }),
    );
  });

  it("puts every future scale-up exactly one provisioning lag before an interval that needs it", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = planPool(input);
        const lag = input.config.provisioningLagSeconds;
        let previous = input.capacity.desiredTasks;
        for (const step of plan.scaling) {
          if (step.tasks > previous && step.at > input.now) {
            const k = plan.intervals.findIndex((i) => i.start === step.at + lag);
            expect(k).toBeGreaterThanOrEqual(0);
            expect(plan.intervals[k]?.targetTasks).toBe(step.tasks);
          }
          previous = step.tasks;
        }
      }),
    );
  });

  it("scales in only at an interval start, and only when demand stays within the new count for the scale-in delay", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = planPool(input);
        const raw = rawTargets(input, plan);
        const delay = input.config.scaleInDelaySeconds;
        let previous = input.capacity.desiredTasks;
        for (const step of plan.scaling) {
          if (step.tasks < previous) {
            if (step.at > input.now) {
              expect(plan.intervals.some((i) => i.start === step.at)).toBe(true);
            }
            plan.intervals.forEach((interval, k) => {
              const inWindow =
                interval.start + INTERVAL > step.at && interval.start <= step.at + delay;
              if (inWindow) expect(raw[k]).toBeLessThanOrEqual(step.tasks);
            });
          }
          previous = step.tasks;
        }
      }),
    );
  });

  it("never plans more capacity than the tasks give, nor, before the lag has passed, than the tasks on hand", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = planPool(input);
        const onHand = input.capacity.runningTasks + input.capacity.pendingTasks;
        const lag = input.config.provisioningLagSeconds;
        for (const i of plan.intervals) {
          expect(i.capacity.vcpu ?? 0).toBeLessThanOrEqual(i.targetTasks * 4);
          if (i.start < input.now + lag) {
            expect(i.capacity.vcpu ?? 0).toBeLessThanOrEqual(Math.max(onHand, 0) * 4);
          }
        }
      }),
    );
  });

  it("gives the same plan for the same input", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        expect(planPool(structuredClone(input))).toEqual(planPool(input));
      }),
      { numRuns: 30 },
    );
  });
});
