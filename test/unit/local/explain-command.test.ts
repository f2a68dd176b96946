import { describe, expect, it } from "vitest";
import { InMemoryAdmissionStore } from "../../../layers/adapters/local/in-memory-admission-store.js";
import type { DecisionRecord } from "../../../layers/domain/admission.js";
import { NotFoundError } from "../../../layers/domain/errors.js";
import { explainLines, explainRequest } from "../../../local/explain-command.js";

const T = 1_795_813_200;
const record: DecisionRecord = {
  requestId: "r-42",
  request: {
    requestId: "r-42",
    userId: "acme",
    pool: "cpu",
    amounts: { vcpu: 4 },
    durationSeconds: 600,
    criticality: "deferrable",
    maxDelaySeconds: 3_600,
    acceptAlternatives: true,
  },
  decision: {
    outcome: "delay",
    startAt: T + 900,
    endAt: T + 1_500,
    reason: "the pool is full until a scale-up lands",
  },
  decidedAt: T,
  tier: "standard",
  explanation: ["forecast acme/cpu issued 2026-11-28T09:00:00Z, q0.8", "rule: deferrable waits"],
  planIssuedAt: T - 60,
};

describe("shaper explain", () => {
  it("prints the request, the outcome with its times, the reason and every explanation line", () => {
    const lines = explainLines(record);
    expect(lines[0]).toBe(
      "Request r-42: acme (standard) asked for 4 vcpu in pool cpu for 600 s (deferrable, may wait 3600 s, accepts alternatives).",
    );
    expect(lines).toContain(
      `Decision at ${new Date(T * 1000).toISOString()}: DELAY, holding ${new Date((T + 900) * 1000).toISOString()} → ${new Date((T + 1_500) * 1000).toISOString()}.`,
    );
    expect(lines).toContain("Reason: the pool is full until a scale-up lands");
    expect(lines.slice(-3)).toEqual([
      "Why:",
      "  - forecast acme/cpu issued 2026-11-28T09:00:00Z, q0.8",
      "  - rule: deferrable waits",
    ]);
  });

  it("reads the decision from the store, and says where it looked when there is none", async () => {
    const store = new InMemoryAdmissionStore();
    await store.recordDecision({
      ...record,
      decision: { outcome: "reject", reason: "over the cap", retryAfterSeconds: 300 },
    });
    expect(await explainRequest(store, "r-42", "the test store")).toContain("Reason: over the cap");
    await expect(explainRequest(store, "nope", "the test store")).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(explainRequest(store, "nope", "the test store")).rejects.toThrow(
      /No decision for request "nope" in the test store/,
    );
  });
});
