import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueToken,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  type TokenSettings,
} from "../../layers/adapters/auth/jwt-tokens.js";
import { createAwsClients } from "../../layers/adapters/aws-clients.js";
import { ManualClock } from "../../layers/adapters/clock.js";
import { DynamoDbConfigSource } from "../../layers/adapters/dynamodb/dynamodb-config-source.js";
import { DynamoDbUserRegistry } from "../../layers/adapters/dynamodb/dynamodb-user-registry.js";
import type { TableNames } from "../../layers/adapters/dynamodb/tables.js";
import { parseConfig } from "../../layers/domain/config.js";
import { LocalSystem } from "../../local/local-system.js";
import { withGeneratedUsers } from "../../local/start-command.js";
import { testConfigInput } from "../fixtures/config.js";
import { createTables, deleteTables } from "../helpers/tables.js";

const run = promisify(execFile);
/** A test key (not a secret of anything). */
const TOKENS: TokenSettings = {
  key: new Uint8Array(32).fill(7),
  issuer: LOCAL_ISSUER,
  audience: LOCAL_AUDIENCE,
};
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin", "shaper.js");

/** Runs the CLI as a user would (`shaper …`), with the test's AWS endpoint in its environment. */
async function shaper(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: root,
      env: process.env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

describe("the shaper CLI", () => {
  it("lists its commands", async () => {
    const result = await shaper("--help");
    expect(result.code).toBe(0);
    for (const command of ["start", "config", "users", "model-server"])
      expect(result.stdout).toContain(command);
  });

  it("runs the whole pipeline locally, prints what each stage did, and writes the report", async () => {
    const report = path.join(mkdtempSync(path.join(tmpdir(), "shaper-report-")), "report.html");
    const result = await shaper(
      "start",
      "--cycles",
      "3",
      "--users",
      "8",
      "--history-days",
      "1",
      "--report",
      report,
    );
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    for (const stage of ["collect", "forecast", "plan", "admit", "Summary"])
      expect(result.stdout).toContain(stage);
    const line = result.stdout.split("\n").find((l) => l.trimStart().startsWith("all "));
    const requests = Number(line?.trim().split(/\s+/)[1]?.replace(/,/g, ""));
    expect(requests).toBeGreaterThan(0);
    // The report: the five policies replayed on the built-in workload, its path printed last.
    for (const policy of ["reactive", "patent", "quota", "shaper", "oracle"])
      expect(result.stdout).toMatch(new RegExp(`\\n  ${policy} +[\\d,]+ `));
    expect(result.stdout).toContain(`report         ${report}`);
    expect(readFileSync(report, "utf8")).toContain("<canvas");
  });

  it("rejects an invalid config file, naming the field and the fix", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "shaper-cli-"));
    const file = path.join(dir, "bad.json");
    const input = testConfigInput();
    input.tiers.free = { weight: 1, guaranteedMinimum: { vcpu: 12 }, cap: { vcpu: 8 } };
    writeFileSync(file, JSON.stringify(input));
    const result = await shaper("config", "validate", file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("tiers.free.guaranteedMinimum.vcpu");
    expect(result.stderr).toContain("Lower the minimum or raise the cap");
  });

  describe("against a deployed stack's registry (the AWS-compatible test server)", () => {
    const aws = createAwsClients();
    let tables: TableNames;
    beforeAll(async () => {
      tables = await createTables(aws.dynamodb());
    });
    afterAll(async () => {
      await deleteTables(aws.dynamodb(), tables);
    });

    it("pushes a config and imports users the functions then read", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "shaper-cli-"));
      const configFile = path.join(dir, "config.json");
      writeFileSync(configFile, JSON.stringify(testConfigInput()));
      const pushed = await shaper(
        "config",
        "push",
        "--file",
        configFile,
        "--table",
        tables.registry,
      );
      expect(pushed.stderr).toBe("");
      expect(pushed.code).toBe(0);
      const usersFile = path.join(dir, "users.json");
      writeFileSync(
        usersFile,
        JSON.stringify([{ userId: "new-co", tier: "standard", pools: ["cpu"] }]),
      );
      const imported = await shaper(
        "users",
        "import",
        "--file",
        usersFile,
        "--table",
        tables.registry,
      );
      expect(imported.code).toBe(0);

      const config = await new DynamoDbConfigSource(
        aws.documentClient(),
        tables.registry,
        new ManualClock(0),
      ).load();
      expect(Object.keys(config.pools)).toEqual(["cpu", "gpu"]);
      const user = await new DynamoDbUserRegistry(
        aws.documentClient(),
        tables.registry,
        config.shardCount,
      ).getUser("new-co");
      expect(user).toEqual({ userId: "new-co", tier: "standard", pools: ["cpu"] });
    });

    it("refuses users of a tier the deployed config lacks, and writes none", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "shaper-cli-"));
      const usersFile = path.join(dir, "users.json");
      writeFileSync(usersFile, JSON.stringify([{ userId: "gold-co", tier: "gold" }]));
      const result = await shaper(
        "users",
        "import",
        "--file",
        usersFile,
        "--table",
        tables.registry,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('"gold"');
      const config = await new DynamoDbConfigSource(
        aws.documentClient(),
        tables.registry,
        new ManualClock(0),
      ).load();
      expect(
        await new DynamoDbUserRegistry(
          aws.documentClient(),
          tables.registry,
          config.shardCount,
        ).getUser("gold-co"),
      ).toBeUndefined();
    });
  });
});

describe("LocalSystem (what npm start runs)", () => {
  const config = withGeneratedUsers(
    parseConfig(JSON.parse(readFileSync(path.join(root, "config/shaper.config.json"), "utf8"))),
    10,
  );
  let system: LocalSystem;
  beforeAll(async () => {
    system = await LocalSystem.start({
      tokens: TOKENS,
      config,
      seed: 7,
      startTime: Date.UTC(2026, 10, 23, 9) / 1000,
      apiPort: 0,
      intensity: 1.5,
    });
    await system.backfill(1);
  });
  afterAll(async () => {
    await system.close();
  });

  it("runs collect, forecast and plan on the schedule, then answers requests over HTTP", async () => {
    const start = system.clock.nowSeconds();
    const decided = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const t = start + cycle * config.intervalSeconds;
      system.clock.set(t + 5);
      const report = await system.runPipeline();
      expect(report.collect.records).toBeGreaterThan(0);
      expect(report.forecast.users.reduce((n, u) => n + u.users, 0)).toBe(config.users.length);
      expect(report.plan.plans.map((p) => p.pool).sort()).toEqual(["cpu", "gpu"]);
      decided.push(...(await system.sendRequests(t)));
    }
    expect(decided.length).toBeGreaterThan(0);
    // Every request has its decision, and the API reads back the same one.
    for (const record of decided.slice(0, 5)) {
      const response = await fetch(`${system.apiUrl}/v1/requests/${record.requestId}`, {
        headers: { authorization: `Bearer ${await system.tokenFor(record.request.userId)}` },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { outcome: string };
      expect(body.outcome).toBe(record.decision.outcome);
    }
    // Each user has a forecast in each pool it draws from, made through the model server.
    const forecast = await system.forecasts.getUserForecast("cpu", config.users[0]?.userId ?? "");
    expect(forecast?.fallbackReason).toBeUndefined();
    expect(forecast?.model).toBe(config.forecast.endpointName);
    // The simulated cluster received the plan's scaling.
    expect(
      system.cluster
        .listActions("cpu")
        .some((a) => a.kind === "scale-now" || a.kind === "scheduled"),
    ).toBe(true);
  });

  it("answers a malformed request with 400 naming the field, and records nothing", async () => {
    const response = await fetch(`${system.apiUrl}/v1/requests`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${await system.tokenFor("acme")}`,
      },
      body: JSON.stringify({
        requestId: "bad-1",
        userId: "acme",
        pool: "cpu",
        amounts: { vcpu: -1 },
        durationSeconds: 60,
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { issues: { field: string }[] } };
    expect(body.error.issues.map((i) => i.field)).toContain("amounts.vcpu");
    expect(await system.admissions.getDecision("bad-1")).toBeUndefined();
  });

  describe("tenant isolation on the local admission API", () => {
    const body = (requestId: string, userId = "acme") =>
      JSON.stringify({ requestId, userId, pool: "cpu", amounts: { vcpu: 1 }, durationSeconds: 60 });
    const post = (payload: string, authorization?: string) =>
      fetch(`${system.apiUrl}/v1/requests`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(authorization ? { authorization } : {}),
        },
        body: payload,
      });
    const now = { nowSeconds: () => Date.now() / 1000 };

    it("rejects missing, forged, expired and wrongly-signed tokens with 401, recording nothing", async () => {
      const forged = `${(await system.tokenFor("acme")).slice(0, -4)}AAAA`;
      const expired = await issueToken(TOKENS, { userId: "acme" }, 60, {
        nowSeconds: () => now.nowSeconds() - 7_200,
      });
      const otherKey = await issueToken(
        { ...TOKENS, key: new Uint8Array(32).fill(9) },
        { userId: "acme" },
        3_600,
        now,
      );
      const otherIssuer = await issueToken(
        { ...TOKENS, issuer: "someone-else" },
        { userId: "acme" },
        3_600,
        now,
      );
      const cases: Array<[string, string | undefined, RegExp]> = [
        ["missing", undefined, /No Authorization header/],
        ["not bearer", "Basic dXNlcjpwYXNz", /not `Bearer <token>`/],
        ["forged", `Bearer ${forged}`, /signature does not verify/],
        ["expired", `Bearer ${expired}`, /expired/],
        ["wrong key", `Bearer ${otherKey}`, /signature does not verify/],
        ["wrong issuer", `Bearer ${otherIssuer}`, /"iss"/],
      ];
      for (const [name, authorization, reason] of cases) {
        const response = await post(body(`auth-${name.replace(/ /g, "-")}`), authorization);
        expect(response.status, name).toBe(401);
        const error = (await response.json()) as { error: { message: string } };
        expect(error.error.message, name).toMatch(reason);
        expect(
          await system.admissions.getDecision(`auth-${name.replace(/ /g, "-")}`),
          name,
        ).toBeUndefined();
      }
    });

    it("refuses a body for another tenant with 403 and records nothing", async () => {
      const response = await post(
        body("cross-tenant-1", "globex"),
        `Bearer ${await system.tokenFor("acme")}`,
      );
      expect(response.status).toBe(403);
      expect(await system.admissions.getDecision("cross-tenant-1")).toBeUndefined();
      const own = await post(
        body("own-tenant-1", "acme"),
        `Bearer ${await system.tokenFor("acme")}`,
      );
      expect(own.status).toBe(200);
    });
  });
});
