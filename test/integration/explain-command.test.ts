import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { DynamoDbAdmissionStore } from "../../layers/adapters/dynamodb/dynamodb-admission-store.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { FileAdmissionStore } from "../../layers/adapters/local/file-admission-store.js";
import type { DecisionRecord } from "../../layers/domain/admission.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin", "shaper.js");
const T = 1_795_813_200;

const decided = (requestId: string, reason: string): DecisionRecord => ({
  requestId,
  request: {
    requestId,
    userId: "acme",
    pool: "cpu",
    amounts: { vcpu: 2 },
    durationSeconds: 300,
    criticality: "normal",
    maxDelaySeconds: 600,
    acceptAlternatives: false,
  },
  decision: { outcome: "reject", reason, retryAfterSeconds: 120 },
  decidedAt: T,
  tier: "free",
  explanation: ["cap: free tier holds at most 2 vcpu", "forecast acme/cpu q0.5 over the cap"],
});

async function shaper(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: root,
      env: process.env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("shaper explain", () => {
  const aws = createAwsClients();
  let tables: TableNames;
  beforeAll(async () => {
    tables = await createTables(aws.dynamodb());
  });
  afterAll(async () => {
    await deleteTables(aws.dynamodb(), tables);
  });

  it("prints a decision and its reasons from the embedded store on disk", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "shaper-explain-"));
    const store = FileAdmissionStore.open(dir);
    await store.recordDecision(decided("local-1", "over the tier's cap"));
    await store.close();

    const result = await shaper("explain", "local-1", "--data-dir", dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Request local-1: acme (free) asked for 2 vcpu in pool cpu");
    expect(result.stdout).toContain("REJECT; asking again may succeed in 120 s");
    expect(result.stdout).toContain("Reason: over the tier's cap");
    expect(result.stdout).toContain("  - cap: free tier holds at most 2 vcpu");
  });

  it("reads a deployed stack's admission table with --aws", async () => {
    const store = new DynamoDbAdmissionStore(aws.documentClient(), tables.admission, {
      shardCount: 4,
    });
    await store.recordDecision(decided("aws-1", "no capacity within the delay allowed"));
    const result = await shaper("explain", "aws-1", "--aws", "--table", tables.admission);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Reason: no capacity within the delay allowed");
  });

  it("says where it looked when the id is unknown, and what to pass when nothing says where", async () => {
    const missing = await shaper("explain", "nope", "--aws", "--table", tables.admission);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`No decision for request "nope" in table ${tables.admission}`);
    const nowhere = await shaper("explain", "nope");
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("--data-dir <dir>");
  });
});
