import type { DecisionRecord } from "../layers/domain/admission.js";
import { NotFoundError } from "../layers/domain/errors.js";
import type { AdmissionStore } from "../layers/ports/admission-store.js";

/**
 * `shaper explain <requestId>`: prints a decision and why it was taken — the request, the
 * outcome with its times, and the explanation recorded with it (which forecast, rule and
 * constraint led there, one line each).
 */

/**
 * The lines `shaper explain` prints for a decision record.
 *
 * @param record the stored decision
 * @returns human-readable lines, times in UTC ISO 8601
 */
export function explainLines(record: DecisionRecord): string[] {
  const { request, decision } = record;
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  const amounts = Object.entries(request.amounts)
    .map(([resource, amount]) => `${amount} ${resource}`)
    .join(" + ");
  const lines = [
    `Request ${record.requestId}: ${request.userId} (${record.tier}) asked for ${amounts} in pool ${request.pool} for ${request.durationSeconds} s (${request.criticality}, may wait ${request.maxDelaySeconds} s, ${request.acceptAlternatives ? "accepts" : "refuses"} alternatives).`,
  ];
  switch (decision.outcome) {
    case "grant":
    case "delay":
      lines.push(
        `Decision at ${iso(record.decidedAt)}: ${decision.outcome.toUpperCase()}, holding ${iso(decision.startAt)} → ${iso(decision.endAt)}.`,
      );
      break;
    case "offer": {
      const alternative = Object.entries(decision.alternative)
        .map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(", ");
      lines.push(
        `Decision at ${iso(record.decidedAt)}: OFFER (${alternative}), available in ${decision.etaSeconds} s.`,
      );
      break;
    }
    case "reject":
      lines.push(
        `Decision at ${iso(record.decidedAt)}: REJECT; asking again may succeed in ${decision.retryAfterSeconds} s.`,
      );
      break;
  }
  lines.push(`Reason: ${decision.reason}`);
  if (record.planIssuedAt !== undefined) {
    lines.push(`Plan in force: issued ${iso(record.planIssuedAt)}.`);
  }
  if (record.explanation.length > 0) {
    lines.push("Why:", ...record.explanation.map((line) => `  - ${line}`));
  }
  return lines;
}

/**
 * Reads a decision and returns its explanation.
 *
 * @param store where decisions are (the admission table, or the embedded store on disk)
 * @param requestId the request's id
 * @param where the store, named in the not-found message
 * @throws NotFoundError when no decision has that id
 */
export async function explainRequest(
  store: Pick<AdmissionStore, "getDecision">,
  requestId: string,
  where: string,
): Promise<string[]> {
  const record = await store.getDecision(requestId);
  if (!record) {
    throw new NotFoundError(
      `No decision for request "${requestId}" in ${where}. Check the id (it is the requestId the client sent); decisions are kept 30 days.`,
    );
  }
  return explainLines(record);
}
