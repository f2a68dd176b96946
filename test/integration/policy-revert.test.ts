import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { ManualClock } from "../../layers/adapters/clock.js";
import { DynamoDbPolicyStore } from "../../layers/adapters/dynamodb/dynamodb-policy-store.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { NotFoundError } from "../../layers/domain/errors.js";
import type { PolicyChange, PolicySet } from "../../layers/domain/policy.js";
import { revertPolicy } from "../../layers/use-cases/policies/revert-policy-change.js";
import { createTables, deleteTables } from "../helpers/tables.js";

/**
 * Adaptive policies are reversible: a logged change can be undone on a deployed stack's registry
 * table (moto here), by the use case and by `shaper policies revert`, and the undo is itself logged.
 */

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const aws = createAwsClients();
let tables: TableNames;
let store: DynamoDbPolicyStore;
const NOW = 1_795_000_000;

const v1: PolicySet = {
  version: 1,
  tiers: { premium: { forecastQuantile: 0.95, headroomFraction: 0.2 } },
  updatedAt: NOW,
};
const change: PolicyChange = {
  changeId: "2-premium",
  tier: "premium",
  before: { forecastQuantile: 0.95, headroomFraction: 0.2 },
  after: { forecastQuantile: 0.95, headroomFraction: 0.1 },
  cause: "idle capacity 41 % above the 30 % bound",
  at: NOW + 60,
  version: 2,
};

beforeAll(async () => {
  tables = await createTables(aws.dynamodb());
  store = new DynamoDbPolicyStore(aws.documentClient(), tables.registry);
  expect(await store.putPolicies(v1, [], 0)).toBe("committed");
  const v2: PolicySet = { version: 2, tiers: { premium: change.after }, updatedAt: NOW + 60 };
  expect(await store.putPolicies(v2, [change], 1)).toBe("committed");
});

afterAll(async () => {
  await deleteTables(aws.dynamodb(), tables);
});

describe("reverting a policy change", () => {
  it("puts the tier back and logs the revert as a new change", async () => {
    const clock = new ManualClock(NOW + 120);
    const { next, change: revert } = await revertPolicy({ policies: store, clock }, "2-premium");
    expect(next.version).toBe(3);
    expect((await store.getPolicies())?.tiers.premium).toEqual(change.before);
    expect(revert.cause).toContain("revert of change 2-premium");
    const log = await store.listChanges(10);
    expect(log.map((c) => c.changeId)).toContain(revert.changeId);
  });

  it("names the unknown change id and how to list the real ones", async () => {
    await expect(
      revertPolicy({ policies: store, clock: new ManualClock(NOW) }, "no-such-change"),
    ).rejects.toThrow(NotFoundError);
    await expect(
      revertPolicy({ policies: store, clock: new ManualClock(NOW) }, "no-such-change"),
    ).rejects.toThrow(/shaper policies list --table/);
  });

  it("works from the CLI: list shows the log, revert undoes a change", async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [path.join(root, "bin", "shaper.js"), ...args], {
        cwd: root,
        env: process.env,
      });
    const listed = await cli("policies", "list", "--table", tables.registry);
    expect(listed.stdout).toContain("2-premium");
    expect(listed.stdout).toContain("idle capacity 41 %");
    const reverted = await cli(
      "policies",
      "revert",
      "3-premium-revert",
      "--table",
      tables.registry,
    );
    expect(reverted.stdout).toMatch(
      /Reverted 3-premium-revert: premium back to quantile 0.95, headroom 0.1/,
    );
    expect((await store.getPolicies())?.tiers.premium).toEqual(change.after);
  });
});
