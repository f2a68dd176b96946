/**
 * The embedded on-disk stores (`shaper start --data-dir`) lose nothing acknowledged across a
 * crash: decisions, ledgers and usage written through the real use case are all there after the
 * process state is dropped WITHOUT close and a torn half-line is appended to each log (what a
 * crash in the middle of a write leaves), and a commit whose line is torn is not half-applied.
 * Also: 500 simultaneous admissions on the on-disk store never over-allocate and leave exactly
 * one decision per request, read back from disk.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../layers/adapters/clock.js";
import {
  ADMISSION_LOG,
  FileAdmissionStore,
} from "../../layers/adapters/local/file-admission-store.js";
import { FileUsageStore, USAGE_LOG } from "../../layers/adapters/local/file-usage-store.js";
import { InMemoryAdmissionStore } from "../../layers/adapters/local/in-memory-admission-store.js";
import { InMemoryForecastStore } from "../../layers/adapters/local/in-memory-forecast-store.js";
import { InMemoryPolicyStore } from "../../layers/adapters/local/in-memory-policy-store.js";
import { InMemoryUserRegistry } from "../../layers/adapters/local/in-memory-user-registry.js";
import { StaticConfigSource } from "../../layers/adapters/local/static-config-source.js";
import { worstOverCommit } from "../../layers/domain/admission/ledger.js";
import type { DecisionRecord, PoolLedger } from "../../layers/domain/admission.js";
import type { User } from "../../layers/domain/config.js";
import { DependencyError } from "../../layers/domain/errors.js";
import { RESOURCES } from "../../layers/domain/resources.js";
import type { UsageRecord } from "../../layers/domain/usage.js";
import type { AdmissionStore } from "../../layers/ports/admission-store.js";
import type { Clock } from "../../layers/ports/clock.js";
import { type AdmitRequestDeps, admitRequest } from "../../layers/use-cases/admit-request.js";
import { testConfig } from "../fixtures/config.js";
import { tempDataDir } from "../helpers/temp-data-dir.js";

const T = 1_795_000_200;
const TIERS = ["premium", "standard", "standard", "free"] as const;
const USERS: User[] = Array.from({ length: 12 }, (_, i) => ({
  userId: `user-${String(i).padStart(2, "0")}`,
  tier: TIERS[i % TIERS.length] ?? "standard",
}));
const config = testConfig({ users: USERS });
const CAPACITY = { vcpu: 64, memoryGiB: 256 };

/** Capacity, and warm reservations that admission consumes (so leases get replaced in place). */
function seedLedger(now: number): PoolLedger {
  return {
    pool: "cpu",
    version: 1,
    capacity: [{ start: now - 3_600, capacity: CAPACITY }],
    leases: USERS.slice(0, 3).map((u, i) => ({
      leaseId: `warm:${u.userId}:seed`,
      userId: u.userId,
      kind: "warm" as const,
      amounts: { vcpu: 6 + i, memoryGiB: 24 },
      startAt: now - 60,
      endAt: now + 3_600,
    })),
    updatedAt: now,
  };
}

function depsOn(admissions: AdmissionStore, clock: Clock): AdmitRequestDeps {
  return {
    config: new StaticConfigSource(config),
    users: new InMemoryUserRegistry(USERS),
    admissions,
    forecasts: new InMemoryForecastStore(),
    policies: new InMemoryPolicyStore(),
    clock,
  };
}

/** A deterministic mix: sizes 1–8 vcpu, 60–600 s, every criticality, some waiting, some not. */
function body(runId: string, i: number): Record<string, unknown> {
  const vcpu = 1 + ((i * 7) % 8);
  return {
    requestId: `${runId}-${String(i).padStart(3, "0")}`,
    userId: USERS[(i * 5) % USERS.length]?.userId,
    pool: "cpu",
    amounts: { vcpu, memoryGiB: vcpu * 4 },
    durationSeconds: 60 * (1 + (i % 10)),
    criticality: (["normal", "critical", "deferrable", "normal"] as const)[i % 4],
    maxDelaySeconds: [0, 300, 900][i % 3],
    acceptAlternatives: i % 5 !== 0,
  };
}

/** Half of a framed line, as a write cut short by a crash leaves it (no newline). */
function tearInto(file: string): void {
  const line = '{"crc":123456789,"entry":{"op":"commit","ledger":{"pool":"cpu","version":9';
  appendFileSync(file, line);
}

function usageRecords(i: number): UsageRecord[] {
  return USERS.slice(0, 4).map((u, k) => ({
    userId: u.userId,
    pool: "cpu",
    intervalStart: T + 300 * i,
    usage: k === 3 ? null : { vcpu: i + k, memoryGiB: 4 * (i + k) },
  }));
}

describe("embedded on-disk stores across a crash", () => {
  it("keeps every acknowledged decision, ledger and usage record after a crash that tore the last write", async () => {
    const dir = tempDataDir();
    const clock = new ManualClock(T);
    const admissions = FileAdmissionStore.open(dir);
    const usage = FileUsageStore.open(dir);
    expect(await admissions.putLedger(seedLedger(T), 0)).toBe("committed");
    const deps = depsOn(admissions, clock);
    // A twin on the in-memory store gets the same requests: what the file store must hold.
    const twin = new InMemoryAdmissionStore();
    await twin.putLedger(seedLedger(T), 0);
    const twinDeps = depsOn(twin, clock);
    const acknowledged: DecisionRecord[] = [];
    for (let i = 0; i < 300; i++) {
      // 7 s apart with leases of 1–10 minutes: early leases expire and are pruned as we go.
      clock.advance(7);
      acknowledged.push(await admitRequest(deps, body("crash", i)));
      expect(await admitRequest(twinDeps, body("crash", i))).toEqual(acknowledged.at(-1));
      if (i % 30 === 0) await usage.putUsage(usageRecords(i / 30));
    }
    await usage.putPoolLoad([
      { pool: "cpu", intervalStart: T, cpuUtilizationPercent: 40, memoryUtilizationPercent: null },
    ]);
    const ledgerBefore = await admissions.getLedger("cpu");
    expect(ledgerBefore).toEqual(await twin.getLedger("cpu"));
    // The run booked, pruned and consumed warm capacity, so the log holds every kind of change.
    const outcomes = new Set(acknowledged.map((r) => r.decision.outcome));
    expect(outcomes.has("grant")).toBe(true);
    expect(outcomes.size).toBeGreaterThan(1);
    // The log holds every kind of ledger change (dropped, replaced, appended leases).
    const deltas = readFileSync(path.join(dir, ADMISSION_LOG), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).entry.ledger)
      .filter((delta) => delta !== undefined);
    for (const kind of ["drop", "replace", "add"]) {
      expect(
        deltas.some((delta) => delta[kind].length > 0),
        kind,
      ).toBe(true);
    }

    // Crash: no close, the objects are dropped, and each log ends in half a line.
    tearInto(path.join(dir, ADMISSION_LOG));
    tearInto(path.join(dir, USAGE_LOG));

    const reopened = FileAdmissionStore.open(dir);
    const reopenedUsage = FileUsageStore.open(dir);
    expect(reopened.tornBytesDropped).toBeGreaterThan(0);
    expect(reopenedUsage.tornBytesDropped).toBeGreaterThan(0);
    for (const record of acknowledged) {
      expect(await reopened.getDecision(record.requestId)).toEqual(record);
    }
    expect(await reopened.allDecisions()).toHaveLength(acknowledged.length);
    expect(await reopened.getLedger("cpu")).toEqual(ledgerBefore);
    for (const user of USERS.slice(0, 4)) {
      const expected = Array.from({ length: 10 }, (_, i) =>
        usageRecords(i).find((r) => r.userId === user.userId),
      );
      expect(await reopenedUsage.getUsage(user.userId, "cpu", T, T + 3_000)).toEqual(expected);
    }
    expect(await reopenedUsage.getPoolLoad("cpu", T, T + 300)).toEqual([
      { pool: "cpu", intervalStart: T, cpuUtilizationPercent: 40, memoryUtilizationPercent: null },
    ]);

    // The torn tail was cut off: writing on and reopening again finds the old and the new.
    clock.advance(7);
    const after = await admitRequest(depsOn(reopened, clock), body("after", 0));
    await reopened.close();
    await reopenedUsage.close();
    const third = FileAdmissionStore.open(dir);
    expect(third.tornBytesDropped).toBe(0);
    expect(await third.getDecision(after.requestId)).toEqual(after);
    expect(await third.allDecisions()).toHaveLength(acknowledged.length + 1);
    await third.close();
  });

  it("does not half-apply a commit whose line was torn: neither its decision nor its ledger change", async () => {
    const dir = tempDataDir();
    const clock = new ManualClock(T);
    const store = FileAdmissionStore.open(dir);
    await store.putLedger(seedLedger(T), 0);
    const deps = depsOn(store, clock);
    const first = await admitRequest(deps, body("torn", 0));
    const ledgerAfterFirst = await store.getLedger("cpu");
    clock.advance(7);
    const second = await admitRequest(deps, body("torn", 1));
    expect(second.decision.outcome).toBe("grant");
    await store.close();

    // The crash cut the last line (the second commit: ledger and decision) short.
    const file = path.join(dir, ADMISSION_LOG);
    const content = readFileSync(file, "utf8");
    const lastLineStart = content.lastIndexOf("\n", content.length - 2) + 1;
    writeFileSync(file, content.slice(0, lastLineStart + (content.length - lastLineStart) / 2));

    const reopened = FileAdmissionStore.open(dir);
    expect(await reopened.getDecision(first.requestId)).toEqual(first);
    expect(await reopened.getDecision(second.requestId)).toBeUndefined();
    expect(await reopened.getLedger("cpu")).toEqual(ledgerAfterFirst);
    await reopened.close();
  });

  it("ignores a last line whose checksum does not match, as a torn write", async () => {
    const dir = tempDataDir();
    const store = FileAdmissionStore.open(dir);
    await store.putLedger(seedLedger(T), 0);
    await store.close();
    const file = path.join(dir, ADMISSION_LOG);
    const good = readFileSync(file, "utf8");
    // A complete-looking line whose bytes are not what was checksummed (a garbled tail).
    appendFileSync(file, good.replace('"pool":"cpu"', '"pool":"cpX"'));

    const reopened = FileAdmissionStore.open(dir);
    expect(reopened.tornBytesDropped).toBe(good.length);
    expect((await reopened.getLedger("cpu")).version).toBe(1);
    await reopened.close();
  });

  it("refuses to open a log damaged before its end, naming the line", async () => {
    const dir = tempDataDir();
    const store = FileAdmissionStore.open(dir);
    await store.putLedger(seedLedger(T), 0);
    await store.putLedger({ ...seedLedger(T), version: 2, updatedAt: T + 1 }, 1);
    await store.close();
    const file = path.join(dir, ADMISSION_LOG);
    const [line1, line2] = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, `${line1?.replace("cpu", "cpX")}\n${line2}\n`);

    expect(() => FileAdmissionStore.open(dir)).toThrow(DependencyError);
    expect(() => FileAdmissionStore.open(dir)).toThrow(/damaged at line 1 .*line 2/);
  });

  it("never over-allocates under 500 simultaneous admissions and keeps one decision each on disk", async () => {
    const dir = tempDataDir();
    const now = Math.floor(Date.now() / 1000);
    const store = FileAdmissionStore.open(dir);
    await store.putLedger(seedLedger(now), 0);
    const deps = depsOn(store, systemClock);
    const bodies = Array.from({ length: 500 }, (_, i) => body("burst", i));
    let conflicts = 0;
    const onRetry: AdmitRequestDeps["onRetry"] = ({ reason }) => {
      if (reason === "conflict") conflicts++;
    };
    const records = await Promise.all(
      bodies.map(async (b) => {
        for (let call = 1; ; call++) {
          try {
            return await admitRequest({ ...deps, onRetry }, b);
          } catch (error) {
            // A 503 after the retry budget: the client sends the same request again.
            if (!(error instanceof DependencyError && error.retryable) || call >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 500 * Math.random()));
          }
        }
      }),
    );
    console.info(`on-disk store: 500 simultaneous admissions, ${conflicts} conflict retries`);
    await store.close();

    const reopened = FileAdmissionStore.open(dir);
    const stored = await reopened.allDecisions();
    expect(stored.map((r) => r.requestId).sort()).toEqual(
      bodies.map((b) => String(b.requestId)).sort(),
    );
    for (const record of records) {
      expect(await reopened.getDecision(record.requestId)).toEqual(record);
    }
    const ledger = await reopened.getLedger("cpu");
    expect(worstOverCommit(ledger, now)).toBeLessThanOrEqual(1e-9);
    const booked = stored.filter(
      (r) => r.decision.outcome === "grant" || r.decision.outcome === "delay",
    );
    expect(booked.length).toBeGreaterThan(0);
    expect(booked.length).toBeLessThan(stored.length);
    // Every booked decision holds exactly one lease, and no lease lacks its decision.
    expect(
      ledger.leases
        .filter((l) => l.kind === "request")
        .map((l) => l.requestId)
        .sort(),
    ).toEqual(booked.map((r) => r.requestId).sort());
    // Independently of the ledger: granted amounts never exceed capacity at any instant.
    for (const instant of new Set(booked.map((r) => (r.decision as { startAt: number }).startAt))) {
      for (const resource of RESOURCES) {
        const total = booked
          .filter((r) => {
            const d = r.decision as { startAt: number; endAt: number };
            return d.startAt <= instant && instant < d.endAt;
          })
          .reduce((sum, r) => sum + (r.request.amounts[resource] ?? 0), 0);
        expect(total).toBeLessThanOrEqual(
          (CAPACITY[resource as keyof typeof CAPACITY] ?? 0) + 1e-9,
        );
      }
    }
    await reopened.close();
  });
});
