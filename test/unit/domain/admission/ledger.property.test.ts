import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyPlanToLedger,
  capacityAt,
  committedAt,
  worstOverCommit,
} from "../../../../layers/domain/admission/ledger.js";
import type { Lease, PoolLedger } from "../../../../layers/domain/admission.js";
import type { PoolPlan } from "../../../../layers/domain/plan.js";

// Random ledgers (request leases of any size, old warm leases) and random plans (capacities,
// warm reservations of any size) — nothing here is valid by construction.
const T = 1_795_000_200;

const leaseArb = fc.record({
  userId: fc.constantFrom("acme", "globex", "hooli"),
  kind: fc.constantFrom("request", "warm"),
  vcpu: fc.integer({ min: 0, max: 20 }),
  startOffset: fc.integer({ min: -600, max: 1_800 }),
  length: fc.integer({ min: 1, max: 3_600 }),
});

const intervalArb = fc.record({
  vcpu: fc.integer({ min: 0, max: 40 }),
  demand: fc.integer({ min: 0, max: 60 }),
});

const warmArb = fc.record({
  userId: fc.constantFrom("acme", "globex", "hooli"),
  vcpu: fc.integer({ min: 0, max: 30 }),
  fromOffset: fc.integer({ min: -300, max: 1_800 }),
  length: fc.integer({ min: 1, max: 3_600 }),
});

describe("applyPlanToLedger properties", () => {
  it("never lets warm reservations add to an over-commitment, and keeps every live request lease", () => {
    fc.assert(
      fc.property(
        fc.array(leaseArb, { maxLength: 8 }),
        fc.array(intervalArb, { minLength: 1, maxLength: 6 }),
        fc.array(warmArb, { maxLength: 5 }),
        (leaseSpecs, intervals, warmSpecs) => {
          const leases: Lease[] = leaseSpecs.map((l, i) => ({
            leaseId: `${l.kind}:${i}`,
            userId: l.userId,
            kind: l.kind,
            amounts: { vcpu: l.vcpu },
            startAt: T + l.startOffset,
            endAt: T + l.startOffset + l.length,
          }));
          const ledger: PoolLedger = {
            pool: "cpu",
            version: 4,
            capacity: [{ start: T - 3_600, capacity: { vcpu: 16 } }],
            leases,
            updatedAt: T - 60,
          };
          const plan: PoolPlan = {
            pool: "cpu",
            issuedAt: T,
            intervalSeconds: 300,
            currentTasks: 1,
            intervals: intervals.map((iv, i) => ({
              start: T + i * 300,
              demand: { vcpu: iv.demand },
              guaranteed: {},
              warm: {},
              targetTasks: iv.vcpu / 4,
              capacity: { vcpu: iv.vcpu },
              fairShareLevel: { vcpu: 2 },
              reason: "random",
            })),
            scaling: [],
            warmReservations: warmSpecs.map((w) => ({
              userId: w.userId,
              amounts: { vcpu: w.vcpu },
              from: T + w.fromOffset,
              until: T + w.fromOffset + w.length,
              reason: "random",
            })),
            notableAllocations: [],
            costUsd: 0,
          };
          const applied = applyPlanToLedger(ledger, plan, T);
          const requestsOnly = {
            ...applied,
            leases: applied.leases.filter((l) => l.kind === "request"),
          };
          // At every instant warm leases add nothing above capacity; where requests alone
          // exceed it (a plan that scaled in under running work), warm leases hold nothing.
          const instants = new Set([
            T,
            ...applied.capacity.map((c) => c.start),
            ...applied.leases.map((l) => l.startAt),
          ]);
          for (const t of [...instants].filter((x) => x >= T)) {
            const cap = capacityAt(applied, t).vcpu ?? 0;
            const all = committedAt(applied, t).vcpu ?? 0;
            const requests = committedAt(requestsOnly, t).vcpu ?? 0;
            expect(all - cap).toBeLessThanOrEqual(Math.max(0, requests - cap) + 1e-9);
            if (requests > cap) expect(all).toBe(requests);
          }
          if (worstOverCommit(requestsOnly, T) <= 0) {
            expect(worstOverCommit(applied, T)).toBeLessThanOrEqual(1e-9);
          }
          const live = (l: PoolLedger) =>
            l.leases
              .filter((x) => x.kind === "request" && x.endAt > T)
              .map((x) => x.leaseId)
              .sort();
          expect(live(applied)).toEqual(live(ledger));
          expect(applied.version).toBe(5);
        },
      ),
      { numRuns: 400 },
    );
  });
});
