import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { nagFindings, type SynthResult, synthShaper } from "./synth.js";

interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every AwsSolutions acknowledgment recorded in the tree, where it was made. */
function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ""),
          reason,
        })),
      )
      .filter((ack) => ack.id.startsWith("AwsSolutions-")),
  );
}

/** The findings cdk-nag raised (before acknowledgments), as `path` + rule id. */
function rawFindings(root: IConstruct): Array<{ path: string; id: string }> {
  const pack = new AwsSolutionsChecks();
  const seen: Array<{ path: string; id: string }> = [];
  // cdk-nag asks isAcknowledged only for non-compliant resources; recording its questions lists
  // every finding, acknowledged or not. (A private method, hence the cast: test-only.)
  const internals = pack as unknown as {
    isAcknowledged(resource: IConstruct, ruleId: string): boolean;
  };
  const original = internals.isAcknowledged.bind(pack);
  internals.isAcknowledged = (resource, ruleId) => {
    seen.push({ path: resource.node.path, id: ruleId });
    return original(resource, ruleId);
  };
  pack.validateScope(root);
  return seen;
}

describe("cdk-nag AwsSolutions", () => {
  let synth: SynthResult;

  beforeAll(() => {
    synth = synthShaper({ context: { "shaper:alarmEmail": "ops@example.com" } });
  });

  it("reports no unacknowledged errors or warnings", () => {
    expect(nagFindings(synth.app)).toEqual([]);
  });

  it("also passes with the JWT authorizer", () => {
    const jwt = synthShaper({
      context: {
        "shaper:jwtIssuer": "https://issuer.example.com/pool",
        "shaper:jwtAudience": "client-a",
      },
    });
    expect(nagFindings(jwt.app)).toEqual([]);
  });

  it("gives every acknowledgment a reason and makes none on the app or the stack as a whole", () => {
    const acks = acknowledgments(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
      expect(ack.path, ack.id).not.toBe(synth.stack.node.path);
      expect(ack.path, ack.id).not.toBe("");
    }
  });

  it("acknowledges only findings that cdk-nag actually raises, on the resources that raise them", () => {
    const findings = rawFindings(synth.app);
    const stale = acknowledgments(synth.app).filter(
      (ack) =>
        !findings.some(
          (finding) =>
            finding.id === ack.id &&
            (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`)),
        ),
    );
    expect(stale).toEqual([]);
  });
});
