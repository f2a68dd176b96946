import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { verifyBearer } from "../../layers/adapters/auth/jwt-tokens.js";
import { systemClock } from "../../layers/adapters/clock.js";
import { localTokenSettings } from "../../local/local-signing-key.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin", "shaper.js");

describe("shaper token", () => {
  it("issues a token the local admission API accepts for that user, signed with the working directory's key", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "shaper-token-"));
    const { stdout } = await run(process.execPath, [bin, "token", "user-42", "--ttl", "600"], {
      cwd,
      env: { ...process.env, SHAPER_LOCAL_SIGNING_KEY: "" },
    });
    const token = stdout.trim();
    const settings = localTokenSettings({}, path.join(cwd, ".shaper"));
    const claims = await verifyBearer(settings, `Bearer ${token}`, systemClock);
    expect(claims.sub).toBe("user-42");
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);

    const otherKey = localTokenSettings(
      {},
      path.join(mkdtempSync(path.join(tmpdir(), "k-")), ".shaper"),
    );
    await expect(verifyBearer(otherKey, `Bearer ${token}`, systemClock)).rejects.toThrow(
      /signature does not verify/,
    );
  });

  it("refuses a bad --ttl with a message naming the option", async () => {
    const failure = await run(process.execPath, [bin, "token", "user-42", "--ttl", "-5"], {
      cwd: root,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain("--ttl");
  });
});
