import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/paths.js";
import { readShaperContext } from "../../infra/shaper-context.js";
import { CDK_JSON_CONTEXT, synthShaper } from "./synth.js";

const run = promisify(execFile);

describe("readShaperContext", () => {
  let dir: string;
  let badConfig: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "shaper-infra-"));
    const config = JSON.parse(readFileSync(join(REPO_ROOT, "config/shaper.config.json"), "utf8"));
    config.pools.cpu.minTasks = 80;
    badConfig = join(dir, "bad.json");
    writeFileSync(badConfig, JSON.stringify(config));
  });

  const contextOf = (context: Record<string, unknown>) =>
    readShaperContext(new App({ context: { ...CDK_JSON_CONTEXT, ...context } }).node);

  it("reads the default config, stack name and no JWT or email from cdk.json", () => {
    const context = contextOf({});
    expect(context.stackName).toBe("Shaper");
    expect(context.configFile).toBe(join(REPO_ROOT, "config/shaper.config.json"));
    expect(context.config.shardCount).toBe(16);
    expect(context.config.forecast.endpointName).toBe("shaper-forecaster");
    expect(context.jwt).toBeUndefined();
    expect(context.alarmEmail).toBeUndefined();
  });

  it("fails synth with the config's own error message when the config is invalid", () => {
    expect(() => synthShaper({ context: { "shaper:configFile": badConfig } })).toThrow(
      /Invalid shaper config in .*bad\.json[\s\S]*pools\.cpu\.minTasks: Pool "cpu": minTasks 80 exceeds maxTasks 64/,
    );
  });

  it("fails `cdk synth` (the app entry point) with that message and a non-zero exit", async () => {
    const failure = await run("npx", ["tsx", "infra/app.ts"], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: join(dir, "out"),
        CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, "shaper:configFile": badConfig }),
      },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/minTasks 80 exceeds maxTasks 64/);
  });

  it("names a missing config file and says which context value points at it", () => {
    expect(() => contextOf({ "shaper:configFile": join(dir, "missing.json") })).toThrow(
      /Cannot read the shaper config file .*missing\.json \(context shaper:configFile\)/,
    );
  });

  it("names a config file that is not JSON", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ intervalSeconds: 300");
    expect(() => contextOf({ "shaper:configFile": broken })).toThrow(/is not valid JSON/);
  });

  it("takes the stack name, alarm email and JWT settings from context", () => {
    const context = contextOf({
      "shaper:stackName": "ShaperStaging",
      "shaper:alarmEmail": "ops@example.com",
      "shaper:jwtIssuer": "https://issuer.example.com/pool",
      "shaper:jwtAudience": "client-a, client-b",
    });
    expect(context.stackName).toBe("ShaperStaging");
    expect(context.alarmEmail).toBe("ops@example.com");
    expect(context.jwt).toEqual({
      issuer: "https://issuer.example.com/pool",
      audience: ["client-a", "client-b"],
    });
  });

  it("refuses half a JWT setting", () => {
    expect(() => contextOf({ "shaper:jwtIssuer": "https://issuer.example.com/pool" })).toThrow(
      /needs both shaper:jwtIssuer and shaper:jwtAudience; got only shaper:jwtIssuer/,
    );
  });

  it("uses the given configUpdatedAt and refuses one that is not epoch seconds", () => {
    expect(contextOf({ "shaper:configUpdatedAt": "1800000000" }).configUpdatedAt).toBe(
      1_800_000_000,
    );
    expect(() => contextOf({ "shaper:configUpdatedAt": "yesterday" })).toThrow(
      /Expected epoch seconds/,
    );
  });
});
