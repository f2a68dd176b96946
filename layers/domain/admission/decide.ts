import type { AdmissionRequest, Alternative, Decision, Lease, PoolLedger } from "../admission.js";
import { effectiveLimits, type Tier, type User } from "../config.js";
import type { Forecast } from "../forecast.js";
import {
  type Amounts,
  addAmounts,
  fitsWithin,
  formatAmounts,
  isZeroAmounts,
  RESOURCES,
  type Resource,
} from "../resources.js";
import { intervalStartOf } from "../time.js";
import { dominantShareAllocation, fairShareAllocation, footprintAt } from "./fair-share.js";
import {
  type BookingAsk,
  bookRequestLease,
  buildTimeline,
  capacityAt,
  earliestStart,
  fitsAt,
  freeOver,
  heldPeakOver,
  largestFittingFraction,
  pruneLedger,
  requestLeaseId,
  scaleDown,
  type TimelineSegment,
} from "./ledger.js";

/** Another pool the request could be served from, with its ledger as read. */
export interface AlternativePoolLedger {
  readonly pool: string;
  readonly ledger: PoolLedger;
}

/** Everything one admission decision depends on. Same input, same output. */
export interface AdmissionInput {
  /** The request with its defaults resolved. */
  readonly request: AdmissionRequest;
  readonly user: User;
  readonly tierName: string;
  readonly tier: Tier;
  /** The tier's forecast quantile in force (the policy's, else the tier's), for the footprint. */
  readonly forecastQuantile: number;
  /** The user's latest forecast for the pool; absent for a user without history (cold start). */
  readonly forecast?: Forecast | undefined;
  /** The pool's ledger as read (its version is the one the result must be written against). */
  readonly ledger: PoolLedger;
  /** Ledgers of the pool's configured alternatives that the user may draw from. */
  readonly alternatives?: readonly AlternativePoolLedger[] | undefined;
  /** Epoch seconds. */
  readonly nowSeconds: number;
  /** Plan interval length, in seconds (the retry hint when nothing in the ledger will help). */
  readonly intervalSeconds: number;
  /** Smallest fraction of the ask worth offering as "smaller now" (config.admission). */
  readonly offerMinFraction: number;
}

/** A decision, the ledger to write with it, and why. */
export interface AdmissionOutcome {
  readonly decision: Decision;
  /**
   * The ledger after the decision: expired leases pruned, the new lease booked for a grant or a
   * delay (warm leases consumed or shrunk as the rules say), version = version read + 1.
   */
  readonly ledger: PoolLedger;
  /** Which forecast, rule and constraint decided, one line each. */
  readonly explanation: string[];
}

/**
 * Decides one capacity request against a pool's ledger, by these rules, in order:
 * 0. the ledger's critical reserve (the plan's room for a critical burst) is not there for
 *    deferrable requests, now or later, nor for the delays of normal ones (they may take free
 *    room now): work that can wait never books the room a critical request cannot wait for;
 * 1. the user's cap (tier, or the user's override): above it → offer what fits the cap (if
 *    alternatives are accepted and it is at least `offerMinFraction` of the ask), else reject;
 * 2. fits now over [now, now + duration) → grant (the user's own warm lease is consumed first);
 * 3. a critical request within the user's guaranteed minimum that does not fit only because of
 *    other users' warm leases → those warm leases shrink and it is granted (guarantees are kept;
 *    running request leases are never preempted);
 * 4. under scarcity (the ledger carries a fair-share level), a non-critical request that takes
 *    the user above min(footprint, cap, max(guarantee, weight × level)) is not granted at once,
 *    even if it fits: it goes on to delay or offer, from the next plan interval on;
 * 5. `maxDelaySeconds` > 0 → delay to the earliest start within it where it fits (booked);
 * 6. `acceptAlternatives` → offer a smaller amount now, another pool with room now, or a later
 *    start (offers take no capacity);
 * 7. reject, naming the binding constraint, with `retryAfterSeconds` until it would fit.
 *
 * A booked lease always fits at every instant of its span, so the ledger is never over-committed
 * by admission.
 *
 * @param input the request, the user and tier, the forecast, the ledger(s), now
 * @returns the decision, the ledger after it, and the explanation
 * @example
 * const { decision, ledger } = decideAdmission({ request, user, tierName: "premium", tier,
 *   forecastQuantile: 0.95, ledger: read, nowSeconds: 1_795_000_000, intervalSeconds: 300,
 *   offerMinFraction: 0.25 });
 * await store.commitDecision(ledger, read.version, record);
 */
export function decideAdmission(input: AdmissionInput): AdmissionOutcome {
  return new Decider(input).decide();
}

/** What to write if the decision takes capacity, and the lines that say why. */
interface Step {
  readonly decision: Decision;
  readonly ledger?: PoolLedger;
  readonly lines: readonly string[];
}

class Decider {
  private readonly now: number;
  private readonly request: AdmissionRequest;
  private readonly ledger: PoolLedger;
  private readonly end: number;
  private readonly guarantee: Amounts;
  private readonly cap: Amounts | undefined;
  private readonly timeline: TimelineSegment[];
  /** The timeline a delay is booked on (rule 0), built when a delay is first looked for. */
  private booking: TimelineSegment[] | undefined;
  private readonly ask: BookingAsk;
  private readonly context: string[] = [];
  private footprint: Amounts | undefined;

  constructor(private readonly input: AdmissionInput) {
    this.now = input.nowSeconds;
    this.request = input.request;
    this.ledger = pruneLedger(input.ledger, this.now);
    this.end = this.now + this.request.durationSeconds;
    const limits = effectiveLimits(input.user, input.tier);
    this.guarantee = limits.guaranteedMinimum;
    this.cap = limits.cap;
    // A deferrable request sees the pool less its critical reserve, now and later (rule 0).
    const deferrable = this.request.criticality === "deferrable";
    this.timeline = buildTimeline(
      deferrable ? this.seenBy(this.ledger) : this.ledger,
      this.request.userId,
      this.now,
    );
    if (deferrable || this.request.criticality === "critical") this.booking = this.timeline;
    this.ask = {
      userId: this.request.userId,
      amounts: this.request.amounts,
      durationSeconds: this.request.durationSeconds,
      cap: this.cap,
    };
  }

  decide(): AdmissionOutcome {
    this.context.push(this.readForecast(), this.describeLimits());
    const reserve = this.ledger.criticalReserve;
    if (reserve && this.request.criticality !== "critical") {
      this.context.push(
        `rule 0 (critical reserve): ${formatAmounts(reserve)} of pool ${this.request.pool} is kept for critical requests (the plan's room for a critical burst); ${this.request.criticality === "deferrable" ? "this deferrable request is decided" : "a delay of this normal request is booked"} only in the rest`,
      );
    }
    const step = this.run();
    return {
      decision: step.decision,
      ledger: {
        ...(step.ledger ?? this.ledger),
        version: this.input.ledger.version + 1,
        updatedAt: this.now,
      },
      explanation: [...this.context, ...step.lines],
    };
  }

  private run(): Step {
    const capStep = this.checkCap();
    if (capStep) return capStep;

    const fitsNow = fitsAt(this.timeline, this.ask, this.now);
    const gate = this.fairShareGate(this.ledger);
    if (fitsNow && !gate) return this.grant();

    if (!fitsNow && this.request.criticality === "critical" && this.withinGuarantee()) {
      const guaranteed = this.grantByShrinkingWarm();
      if (guaranteed) return guaranteed;
    }

    const lines: string[] = [];
    let searchFrom = this.now;
    if (gate) {
      searchFrom =
        intervalStartOf(this.now, this.input.intervalSeconds) + this.input.intervalSeconds;
      lines.push(
        `rule 4 (fair share under scarcity): not granted at once${fitsNow ? " although it fits" : ""} — ${gate.description}; looking for a slot from the next plan interval (${iso(searchFrom)}) on`,
      );
    } else {
      lines.push(`constraint: ${this.shortfall()}`);
    }

    const delay = this.tryDelay(searchFrom, gate);
    if (delay) return { ...delay, lines: [...lines, ...delay.lines] };

    const later = earliestStart(this.timeline, this.ask, searchFrom);
    if (this.request.acceptAlternatives) {
      const offer = this.tryOffers(gate, later);
      if (offer) return { ...offer, lines: [...lines, ...offer.lines] };
    }
    const rejected = this.reject(gate, later);
    return { ...rejected, lines: [...lines, ...rejected.lines] };
  }

  // --- rule 1: the user's cap -------------------------------------------------------------

  private checkCap(): Step | undefined {
    const cap = this.cap;
    if (!cap) return undefined;
    const held = heldPeakOver(this.timeline, this.now, this.end);
    const over = RESOURCES.filter((r) => {
      const a = this.request.amounts[r] ?? 0;
      const c = cap[r];
      return a > 0 && c !== undefined && (held[r] ?? 0) + a > c + 1e-9;
    });
    if (over.length === 0) return undefined;
    const { userId, pool } = this.request;
    const what = over
      .map(
        (r) =>
          `${r}: holds ${num(held[r] ?? 0)} + asks ${num(this.request.amounts[r] ?? 0)} > cap ${num(cap[r] ?? 0)}`,
      )
      .join("; ");
    const constraint = `constraint: ${userId}'s cap in pool ${pool} (${what})`;
    let fraction = 1;
    for (const r of RESOURCES) {
      const a = this.request.amounts[r] ?? 0;
      const c = cap[r];
      if (a > 0 && c !== undefined)
        fraction = Math.min(fraction, Math.max(0, c - (held[r] ?? 0)) / a);
    }
    if (this.request.acceptAlternatives && fraction >= this.input.offerMinFraction) {
      const smaller = scaleDown(this.request.amounts, fraction);
      const startAt = isZeroAmounts(smaller)
        ? undefined
        : earliestStart(this.timeline, { ...this.ask, amounts: smaller }, this.now);
      if (startAt !== undefined) {
        const eta = etaOf(startAt, this.now);
        return {
          decision: {
            outcome: "offer",
            alternative: this.alternative("smaller", this.request.pool, smaller, startAt),
            etaSeconds: eta,
            reason: `Asking ${formatAmounts(this.request.amounts)} would take ${userId} above its cap in pool ${pool} (${what}). Offered ${formatAmounts(smaller)} (${pct(fraction)} of the ask, the most the cap allows) ${eta === 0 ? "now" : `from ${iso(startAt)} (in ${eta} s)`}; send a new request with these amounts to take it.`,
          },
          lines: [
            "rule 1 (cap): above the user's cap; offered the amount that fits the cap",
            constraint,
          ],
        };
      }
    }
    const retryAt = this.fitsCapAlone()
      ? earliestStart(this.timeline, this.ask, this.now)
      : undefined;
    const retryAfterSeconds = this.retryAfter(retryAt);
    const why =
      fraction < this.input.offerMinFraction
        ? `what fits the cap (${pct(fraction)} of the ask) is below the smallest offer (${pct(this.input.offerMinFraction)})`
        : this.request.acceptAlternatives
          ? "the pool has no room for what fits the cap"
          : "alternatives are not accepted";
    return {
      decision: {
        outcome: "reject",
        reason: `Rejected: asking ${formatAmounts(this.request.amounts)} would take ${userId} above its cap in pool ${pool} (${what}), and ${why}. ${retryAt === undefined ? `The ask alone exceeds the cap: ask for at most ${formatAmounts(cap)}.` : `Retry after ${retryAfterSeconds} s, when ${userId}'s running leases have ended enough.`}`,
        retryAfterSeconds,
      },
      lines: ["rule 1 (cap): above the user's cap; rejected", constraint],
    };
  }

  private fitsCapAlone(): boolean {
    const cap = this.cap;
    if (!cap) return true;
    return RESOURCES.every((r) => {
      const c = cap[r];
      return c === undefined || (this.request.amounts[r] ?? 0) <= c + 1e-9;
    });
  }

  // --- rule 2: fits now -------------------------------------------------------------------

  private grant(): Step {
    const { ledger, consumedWarm } = bookRequestLease(this.ledger, this.leaseFrom(this.now));
    const free = freeOver(this.timeline, this.now, this.end);
    const warmNote = isZeroAmounts(consumedWarm)
      ? ""
      : ` It used ${formatAmounts(consumedWarm)} of the capacity kept warm for ${this.request.userId}.`;
    return {
      decision: {
        outcome: "grant",
        startAt: this.now,
        endAt: this.end,
        reason: `Granted ${formatAmounts(this.request.amounts)} in pool ${this.request.pool} for ${this.request.durationSeconds} s: the pool has room now (${formatAmounts(this.relevant(free))} free for ${this.request.userId} over the span).${warmNote}`,
      },
      ledger,
      lines: [
        `rule 2 (fits now): granted over [${this.now}, ${this.end})`,
        `constraint: none binding — free ${formatAmounts(this.relevant(free))} ≥ asked ${formatAmounts(this.request.amounts)}${warmNote ? `; consumed warm ${formatAmounts(consumedWarm)}` : ""}`,
      ],
    };
  }

  // --- rule 3: guaranteed minimum for critical work ------------------------------------------

  private withinGuarantee(): boolean {
    const held = heldPeakOver(this.timeline, this.now, this.end);
    return RESOURCES.every((r) => {
      const a = this.request.amounts[r] ?? 0;
      return a <= 0 || (held[r] ?? 0) + a <= (this.guarantee[r] ?? 0) + 1e-9;
    });
  }

  private grantByShrinkingWarm(): Step | undefined {
    const { userId } = this.request;
    const withoutWarm = buildTimeline(this.ledger, userId, this.now, { ignoreOthersWarm: true });
    if (!fitsAt(withoutWarm, this.ask, this.now)) return undefined;
    // Shrink other users' overlapping warm leases, largest first, each by the shortfall seen over
    // its own overlap with the span. Once every one has been visited the request fits: at any
    // instant still short, every warm lease there was emptied, and without them it fits.
    const candidates = this.ledger.leases
      .filter(
        (l) =>
          l.kind === "warm" && l.userId !== userId && l.startAt < this.end && this.now < l.endAt,
      )
      .sort((a, b) => totalOf(b.amounts) - totalOf(a.amounts) || compare(a.leaseId, b.leaseId));
    let leases = [...this.ledger.leases];
    let released: Amounts = {};
    const shrunkUsers = new Set<string>();
    for (const candidate of candidates) {
      const current = leases.find((l) => l.leaseId === candidate.leaseId);
      if (!current) continue;
      const timeline = buildTimeline({ ...this.ledger, leases }, userId, this.now);
      const from = Math.max(this.now, current.startAt);
      const to = Math.min(this.end, current.endAt);
      const free = freeOver(timeline, from, to);
      const left: Amounts = { ...current.amounts };
      let changed = false;
      for (const r of RESOURCES) {
        const short = (this.request.amounts[r] ?? 0) - (free[r] ?? 0);
        const have = current.amounts[r] ?? 0;
        if (short <= 1e-9 || have <= 0) continue;
        const take = Math.min(have, short);
        left[r] = have - take;
        released = addAmounts(released, { [r]: take });
        changed = true;
      }
      if (!changed) continue;
      shrunkUsers.add(current.userId);
      leases = leases.flatMap((l) =>
        l.leaseId !== current.leaseId
          ? [l]
          : RESOURCES.some((r) => (left[r] ?? 0) > 1e-9)
            ? [{ ...l, amounts: left }]
            : [],
      );
    }
    const shrunk = { ...this.ledger, leases };
    if (!fitsAt(buildTimeline(shrunk, userId, this.now), this.ask, this.now)) return undefined;
    const { ledger } = bookRequestLease(shrunk, this.leaseFrom(this.now));
    const who = [...shrunkUsers].sort().join(", ");
    return {
      decision: {
        outcome: "grant",
        startAt: this.now,
        endAt: this.end,
        reason: `Granted ${formatAmounts(this.request.amounts)} in pool ${this.request.pool} for ${this.request.durationSeconds} s: critical work within ${userId}'s guaranteed minimum (${formatAmounts(this.guarantee)}). The pool was full only with capacity kept warm for other users, so ${formatAmounts(released)} of those reservations were released; no running work was preempted.`,
      },
      ledger,
      lines: [
        "rule 3 (guaranteed minimum): critical request within the guarantee; other users' warm reservations shrunk",
        `constraint: other users' warm leases (${who}) held the room; released ${formatAmounts(released)}`,
      ],
    };
  }

  // --- rule 4: fair share under scarcity ------------------------------------------------------

  private fairShareGate(
    ledger: PoolLedger,
  ): { readonly allocation: Amounts; readonly description: string } | undefined {
    const level = ledger.fairShareLevel;
    const dominant = ledger.dominantFairShare;
    if ((!level && !dominant) || this.request.criticality === "critical") return undefined;
    const allocation = dominant
      ? dominantShareAllocation({
          rounds: dominant.rounds,
          capacity: dominant.capacity,
          weight: this.input.tier.weight,
          guaranteedMinimum: this.guarantee,
          cap: this.cap,
          footprint: this.footprint,
        })
      : fairShareAllocation({
          level: level ?? {},
          weight: this.input.tier.weight,
          guaranteedMinimum: this.guarantee,
          cap: this.cap,
          footprint: this.footprint,
        });
    // Without a footprint (cold start) a DRF share cannot be worked out: nothing limits the user.
    if (!allocation) return undefined;
    const timeline =
      ledger === this.ledger ? this.timeline : buildTimeline(ledger, this.request.userId, this.now);
    const held = heldPeakOver(timeline, this.now, this.end);
    const over = RESOURCES.filter((r) => {
      const a = this.request.amounts[r] ?? 0;
      const limit = allocation[r];
      return a > 0 && limit !== undefined && (held[r] ?? 0) + a > limit + 1e-9;
    });
    if (over.length === 0) return undefined;
    const parts = over.map(
      (r) =>
        `${r}: holds ${num(held[r] ?? 0)} + asks ${num(this.request.amounts[r] ?? 0)} > allocation ${num(allocation[r] ?? 0)} (${dominant ? "dominant-resource fair share" : `level ${num(level?.[r] ?? 0)}`} × weight ${num(this.input.tier.weight)}${this.footprint?.[r] !== undefined ? `, footprint ${num(this.footprint[r] ?? 0)}` : ""})`,
    );
    return {
      allocation,
      description: `pool ${ledger.pool} is scarce and ${this.request.userId}'s fair share is used up (${parts.join("; ")})`,
    };
  }

  // --- rule 5: delay ---------------------------------------------------------------------

  private tryDelay(
    searchFrom: number,
    gate: { readonly allocation: Amounts } | undefined,
  ): Step | undefined {
    const maxDelay = this.request.maxDelaySeconds;
    if (maxDelay <= 0) return undefined;
    // A delay books capacity ahead: not in the room kept for critical bursts (rule 0).
    const startAt = earliestStart(
      this.bookingTimeline(),
      this.ask,
      searchFrom,
      this.now + maxDelay,
    );
    if (startAt === undefined || startAt <= this.now) return undefined;
    const { ledger } = bookRequestLease(this.ledger, this.leaseFrom(startAt));
    const wait = etaOf(startAt, this.now);
    return {
      decision: {
        outcome: "delay",
        startAt,
        endAt: startAt + this.request.durationSeconds,
        reason: `Delayed ${wait} s to ${iso(startAt)}: ${gate ? `pool ${this.request.pool} is scarce and ${this.request.userId} has used its fair share of this interval` : `pool ${this.request.pool} has no room for ${formatAmounts(this.request.amounts)} now`}; the capacity is reserved for it from then on, within its maxDelaySeconds (${maxDelay} s).`,
      },
      ledger,
      lines: [
        `rule 5 (delay): earliest start where it fits within maxDelaySeconds ${maxDelay}: ${startAt} (+${wait} s); lease booked over [${startAt}, ${startAt + this.request.durationSeconds})`,
      ],
    };
  }

  // --- rule 6: offers ----------------------------------------------------------------------

  private tryOffers(
    gate: { readonly allocation: Amounts } | undefined,
    later: number | undefined,
  ): Step | undefined {
    const { pool, userId } = this.request;
    const why = gate
      ? `pool ${pool} is scarce and ${userId} has used its fair share of this interval`
      : `pool ${pool} has no room for ${formatAmounts(this.request.amounts)} now`;
    const noDelay =
      this.request.maxDelaySeconds > 0
        ? `no slot within maxDelaySeconds (${this.request.maxDelaySeconds} s)`
        : "maxDelaySeconds is 0";

    const fraction = largestFittingFraction(
      this.timeline,
      { ...this.ask, holdLimit: gate?.allocation },
      this.now,
    );
    if (fraction >= this.input.offerMinFraction && fraction < 1) {
      const smaller = scaleDown(this.request.amounts, fraction);
      if (!isZeroAmounts(smaller)) {
        return {
          decision: {
            outcome: "offer",
            alternative: this.alternative("smaller", pool, smaller, this.now),
            etaSeconds: 0,
            reason: `${cap1(why)} and ${noDelay}. Offered ${formatAmounts(smaller)} now (${pct(fraction)} of the ask); send a new request with these amounts to take it.`,
          },
          lines: [
            `rule 6 (offer): smaller amount now — ${pct(fraction)} of the ask fits (minimum ${pct(this.input.offerMinFraction)})`,
          ],
        };
      }
    }

    for (const alternative of this.input.alternatives ?? []) {
      const ledger = pruneLedger(alternative.ledger, this.now);
      const timeline = buildTimeline(ledger, userId, this.now);
      const altGate = this.fairShareGate(ledger);
      if (!altGate && fitsAt(timeline, this.ask, this.now)) {
        return {
          decision: {
            outcome: "offer",
            alternative: this.alternative(
              "other-pool",
              alternative.pool,
              this.request.amounts,
              this.now,
            ),
            etaSeconds: 0,
            reason: `${cap1(why)} and ${noDelay}. Pool ${alternative.pool} has room for it now; send a new request for pool ${alternative.pool} to take it.`,
          },
          lines: [
            `rule 6 (offer): another pool — ${alternative.pool} has ${formatAmounts(this.relevant(freeOver(timeline, this.now, this.end)))} free over the span`,
          ],
        };
      }
    }

    if (later !== undefined) {
      const eta = etaOf(later, this.now);
      return {
        decision: {
          outcome: "offer",
          alternative: this.alternative("later", pool, this.request.amounts, later),
          etaSeconds: eta,
          reason: `${cap1(why)} and ${noDelay}. Offered a later start: ${formatAmounts(this.request.amounts)} from ${iso(later)} (in ${eta} s), when the ledger has room; send a new request then, or with a larger maxDelaySeconds to have it reserved.`,
        },
        lines: [`rule 6 (offer): later start at ${later} (+${eta} s), beyond maxDelaySeconds`],
      };
    }
    return undefined;
  }

  // --- rule 7: reject ----------------------------------------------------------------------

  private reject(
    gate: { readonly description: string } | undefined,
    retryAt: number | undefined,
  ): Step {
    const retryAfterSeconds = this.retryAfter(retryAt);
    const constraint = gate ? gate.description : this.shortfall();
    const options: string[] = [];
    if (this.request.maxDelaySeconds <= 0) options.push("maxDelaySeconds is 0");
    else options.push(`no slot within maxDelaySeconds (${this.request.maxDelaySeconds} s)`);
    options.push(
      this.request.acceptAlternatives
        ? "no alternative is available"
        : "alternatives are not accepted",
    );
    const when =
      retryAt === undefined
        ? `Nothing in pool ${this.request.pool}'s current plan can hold it; retry after ${retryAfterSeconds} s, when the next plan may add capacity, or ask for less.`
        : gate
          ? `Retry after ${retryAfterSeconds} s, from the next plan interval, when fair shares are set again.`
          : `Retry after ${retryAfterSeconds} s, when the ledger has room for it.`;
    return {
      decision: {
        outcome: "reject",
        reason: `Rejected: ${constraint}; ${options.join(" and ")}. ${when}`,
        retryAfterSeconds,
      },
      lines: [
        `rule 7 (reject): ${options.join(", ")}; retry after ${retryAfterSeconds} s${retryAt === undefined ? " (one plan interval: it fits nowhere in the ledger)" : ` (fits from ${retryAt})`}`,
      ],
    };
  }

  // --- helpers -----------------------------------------------------------------------------

  private retryAfter(retryAt: number | undefined): number {
    return retryAt === undefined
      ? this.input.intervalSeconds
      : Math.max(1, Math.ceil(retryAt - this.now));
  }

  private leaseFrom(startAt: number): Lease {
    return {
      leaseId: requestLeaseId(this.request.requestId),
      userId: this.request.userId,
      kind: "request",
      amounts: copyAmounts(this.request.amounts),
      startAt,
      endAt: startAt + this.request.durationSeconds,
      requestId: this.request.requestId,
    };
  }

  private alternative(
    kind: Alternative["kind"],
    pool: string,
    amounts: Amounts,
    startAt: number,
  ): Alternative {
    return { kind, pool, amounts, startAt, durationSeconds: this.request.durationSeconds };
  }

  /** The asked resources only, so reasons talk about what matters. */
  private relevant(amounts: Amounts): Amounts {
    const out: Amounts = {};
    for (const r of RESOURCES) if ((this.request.amounts[r] ?? 0) > 0) out[r] = amounts[r] ?? 0;
    return out;
  }

  /** Which resources are short over [now, now + duration), and why. */
  private shortfall(): string {
    const free = freeOver(this.timeline, this.now, this.end);
    const capacity = capacityAt(this.ledger, this.now);
    const short: Resource[] = RESOURCES.filter(
      (r) =>
        (this.request.amounts[r] ?? 0) > 0 && !fitsWithin({ [r]: this.request.amounts[r] }, free),
    );
    const { pool, userId } = this.request;
    if (this.ledger.capacity.length === 0) {
      return `pool ${pool} has no planned capacity yet (no plan has been applied to its ledger)`;
    }
    const parts = short.map(
      (r) =>
        `${r}: ${num(free[r] ?? 0)} free of ${num(capacity[r] ?? 0)} for ${userId}, asked ${num(this.request.amounts[r] ?? 0)}`,
    );
    return `pool ${pool} lacks room over the next ${this.request.durationSeconds} s (${parts.join("; ")})`;
  }

  /** The timeline a delay is booked on: a normal request's is less the critical reserve. */
  private bookingTimeline(): TimelineSegment[] {
    this.booking ??= this.ledger.criticalReserve
      ? buildTimeline(this.seenBy(this.ledger), this.request.userId, this.now)
      : this.timeline;
    return this.booking;
  }

  /**
   * The ledger less the pool's `criticalReserve` at every capacity step: all a deferrable request
   * may use, and where a normal request's delay is booked (rule 0: work that can wait must not
   * take, or book ahead, the room a critical request, which cannot wait, will need).
   */
  private seenBy(ledger: PoolLedger): PoolLedger {
    const reserve = ledger.criticalReserve;
    if (!reserve) return ledger;
    return {
      ...ledger,
      capacity: ledger.capacity.map((step) => {
        const capacity: Amounts = { ...step.capacity };
        for (const r of RESOURCES) {
          const c = capacity[r];
          if (c !== undefined) capacity[r] = Math.max(0, c - (reserve[r] ?? 0));
        }
        return { start: step.start, capacity };
      }),
    };
  }

  private readForecast(): string {
    const { userId, pool } = this.request;
    const forecast = this.input.forecast;
    const q = this.input.forecastQuantile;
    if (!forecast) {
      return `forecast: none for ${userId} in pool ${pool} (cold start) — decided without a fair-share footprint`;
    }
    const reading = footprintAt(forecast, q, this.now);
    if (reading.status === "unavailable") {
      return `forecast: ${userId}'s forecast is not usable (${reading.why}) — decided without a fair-share footprint`;
    }
    this.footprint = reading.amounts;
    const level = reading.level === "mean" ? "the mean" : `q${reading.level}`;
    const fallback = forecast.fallbackReason ? ` (fallback model: ${forecast.fallbackReason})` : "";
    return `forecast: footprint ${formatAmounts(reading.amounts)} at ${level} (tier quantile q${q}) for the interval from ${reading.intervalStart}, issued at ${forecast.issuedAt} by ${forecast.model} ${forecast.modelVersion}${fallback}`;
  }

  private describeLimits(): string {
    const held = heldPeakOver(this.timeline, this.now, this.end);
    return `limits: tier ${this.input.tierName} (weight ${num(this.input.tier.weight)}), guarantee ${formatAmounts(this.guarantee)}, cap ${this.cap ? formatAmounts(this.cap) : "none"}; ${this.request.userId} holds ${formatAmounts(this.relevant(held))} over the span; criticality ${this.request.criticality}`;
  }
}

/**
 * A copy of `amounts`, built key by key (same keys, same order). Not `{ ...amounts }`: V8 gives
 * every frozen copy of a spread object a map (hidden class) of its own, and the stores freeze
 * their ledgers, so with thousands of leases every read of a lease's amounts was megamorphic (the
 * timeline sweep ran about four times slower); copies built key by key share a map per key order.
 */
function copyAmounts(amounts: Amounts): Amounts {
  const out: Amounts = {};
  for (const key of Object.keys(amounts) as Resource[]) {
    const v = amounts[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function etaOf(startAt: number, now: number): number {
  return Math.max(0, Math.ceil(startAt - now));
}

function totalOf(amounts: Amounts): number {
  return RESOURCES.reduce((sum, r) => sum + (amounts[r] ?? 0), 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function num(value: number): string {
  return String(Number(value.toFixed(3)));
}

function pct(fraction: number): string {
  return `${Math.floor(fraction * 1000) / 10}%`;
}

function iso(epochSeconds: number): string {
  return new Date(Math.round(epochSeconds * 1000)).toISOString().replace(".000Z", "Z");
}

function cap1(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
