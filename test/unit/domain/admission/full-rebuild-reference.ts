import { capacityAt, type TimelineSegment } from "../../../../layers/domain/admission/ledger.js";
import type { Lease, PoolLedger } from "../../../../layers/domain/admission.js";
import { type Amounts, RESOURCES, subtractAmounts } from "../../../../layers/domain/resources.js";

/**
 * The timeline and pruning as they were before the fast sweep (commit f0461f3 of
 * layers/domain/admission/ledger.ts, kept verbatim apart from the exports): the reference the
 * fast path must match to the last bit. It sorts one event object per lease start and end by
 * comparison and reads amounts by key, which is simple to check by eye and several times slower.
 */

/** Drops ended leases and superseded capacity steps (the reference `pruneLedger`). */
export function referencePruneLedger(ledger: PoolLedger, nowSeconds: number): PoolLedger {
  const steps = [...ledger.capacity].sort((a, b) => a.start - b.start);
  let inForce = -1;
  for (const [i, step] of steps.entries()) if (step.start <= nowSeconds) inForce = i;
  return {
    ...ledger,
    capacity: inForce > 0 ? steps.slice(inForce) : steps,
    leases: ledger.leases.filter((lease) => lease.endAt > nowSeconds),
  };
}

/** The reference `buildTimeline`: a sweep over events sorted stably by time. */
export function referenceBuildTimeline(
  ledger: Pick<PoolLedger, "capacity" | "leases">,
  userId: string,
  fromSeconds: number,
  options: { readonly ignoreOthersWarm?: boolean } = {},
): TimelineSegment[] {
  const takenOptions = { forUserId: userId, ignoreOthersWarm: options.ignoreOthersWarm ?? false };
  const taken = new Sums();
  const held = new Sums();
  const events: { at: number; lease: Lease; sign: 1 | -1 }[] = [];
  const points = new Set<number>([fromSeconds]);
  for (const step of ledger.capacity) if (step.start > fromSeconds) points.add(step.start);
  for (const lease of ledger.leases) {
    if (lease.endAt <= fromSeconds) continue;
    points.add(lease.endAt);
    events.push({ at: lease.endAt, lease, sign: -1 });
    if (lease.startAt > fromSeconds) {
      points.add(lease.startAt);
      events.push({ at: lease.startAt, lease, sign: 1 });
    } else {
      apply(lease, 1);
    }
  }
  events.sort((a, b) => a.at - b.at);
  const sorted = [...points].sort((a, b) => a - b);
  const segments: TimelineSegment[] = [];
  let next = 0;
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i] as number;
    while (next < events.length && (events[next] as { at: number }).at <= start) {
      const event = events[next++] as { lease: Lease; sign: 1 | -1 };
      apply(event.lease, event.sign);
    }
    segments.push({
      start,
      end: sorted[i + 1] ?? Number.POSITIVE_INFINITY,
      free: subtractAmounts(capacityAt(ledger, start), taken.toAmounts()),
      held: held.toAmounts(),
    });
  }
  return segments;

  function apply(lease: Lease, sign: 1 | -1): void {
    if (countsAsTaken(lease, takenOptions)) taken.add(lease.amounts, sign);
    if (lease.kind === "request" && lease.userId === userId) held.add(lease.amounts, sign);
  }
}

function countsAsTaken(
  lease: Lease,
  options: { readonly forUserId?: string; readonly ignoreOthersWarm?: boolean },
): boolean {
  if (lease.kind === "request") return true;
  if (options.forUserId !== undefined && lease.userId === options.forUserId) return false;
  return !options.ignoreOthersWarm;
}

class Sums {
  private readonly total = new Float64Array(RESOURCES.length);
  private readonly naming = new Int32Array(RESOURCES.length);

  add(amounts: Amounts, sign: 1 | -1): void {
    for (let r = 0; r < RESOURCES.length; r++) {
      const value = amounts[RESOURCES[r] as (typeof RESOURCES)[number]];
      if (value === undefined) continue;
      this.total[r] = (this.total[r] as number) + sign * value;
      this.naming[r] = (this.naming[r] as number) + sign;
    }
  }

  toAmounts(): Amounts {
    const out: Amounts = {};
    for (let r = 0; r < RESOURCES.length; r++) {
      if ((this.naming[r] as number) > 0) {
        out[RESOURCES[r] as (typeof RESOURCES)[number]] = this.total[r] as number;
      }
    }
    return out;
  }
}
