import { describe, expect, it } from "vitest";
import {
  issueToken,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  type TokenSettings,
  verifyBearer,
} from "../../../../layers/adapters/auth/jwt-tokens.js";
import { ManualClock } from "../../../../layers/adapters/clock.js";
import { UnauthorizedError } from "../../../../layers/domain/errors.js";

/** Test keys, not secrets of anything. */
const SETTINGS: TokenSettings = {
  key: new Uint8Array(32).fill(1),
  issuer: LOCAL_ISSUER,
  audience: LOCAL_AUDIENCE,
};
const T = 1_795_000_000;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("issueToken / verifyBearer", () => {
  it("round-trips the tenant as sub and tenant claims", async () => {
    const clock = new ManualClock(T);
    const token = await issueToken(SETTINGS, { userId: "acme" }, 600, clock);
    const claims = await verifyBearer(SETTINGS, `Bearer ${token}`, clock);
    expect(claims).toMatchObject({
      sub: "acme",
      tenant: "acme",
      iss: LOCAL_ISSUER,
      aud: LOCAL_AUDIENCE,
      exp: T + 600,
    });
  });

  it("accepts a little clock skew and refuses tokens past it", async () => {
    const token = await issueToken(SETTINGS, { userId: "acme" }, 600, new ManualClock(T));
    await expect(
      verifyBearer(SETTINGS, `Bearer ${token}`, new ManualClock(T + 620)),
    ).resolves.toBeDefined();
    await expect(
      verifyBearer(SETTINGS, `Bearer ${token}`, new ManualClock(T + 700)),
    ).rejects.toThrow(/expired/);
    // Issued "in the future" (a verifier whose clock lags a lot): not yet valid.
    await expect(
      verifyBearer(SETTINGS, `Bearer ${token}`, new ManualClock(T - 300)),
    ).rejects.toThrow(UnauthorizedError);
  });

  it("refuses an unsigned (alg none) token, another audience and garbage", async () => {
    const clock = new ManualClock(T);
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "acme", iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: T + 60 })}.`;
    await expect(verifyBearer(SETTINGS, `Bearer ${unsigned}`, clock)).rejects.toThrow(
      UnauthorizedError,
    );
    const otherAudience = await issueToken(
      { ...SETTINGS, audience: "other-api" },
      { userId: "acme" },
      600,
      clock,
    );
    await expect(verifyBearer(SETTINGS, `Bearer ${otherAudience}`, clock)).rejects.toThrow(/"aud"/);
    await expect(verifyBearer(SETTINGS, "Bearer not.a.token", clock)).rejects.toThrow(/malformed/);
  });

  it("never puts the token in the error message", async () => {
    const clock = new ManualClock(T);
    const token = await issueToken(
      { ...SETTINGS, key: new Uint8Array(32).fill(2) },
      { userId: "acme" },
      600,
      clock,
    );
    try {
      await verifyBearer(SETTINGS, `Bearer ${token}`, clock);
      expect.unreachable("a token signed with another key was accepted");
    } catch (error) {
      expect((error as Error).message).not.toContain(token.slice(0, 20));
    }
  });

  it("verifies each key with its own imported key, however often both are used", async () => {
    const clock = new ManualClock(T);
    const other: TokenSettings = { ...SETTINGS, key: new Uint8Array(32).fill(3) };
    const ours = await issueToken(SETTINGS, { userId: "acme" }, 600, clock);
    const theirs = await issueToken(other, { userId: "globex" }, 600, clock);
    for (let round = 0; round < 2; round++) {
      await expect(verifyBearer(SETTINGS, `Bearer ${ours}`, clock)).resolves.toMatchObject({
        sub: "acme",
      });
      await expect(verifyBearer(other, `Bearer ${theirs}`, clock)).resolves.toMatchObject({
        sub: "globex",
      });
      await expect(verifyBearer(SETTINGS, `Bearer ${theirs}`, clock)).rejects.toThrow(
        /signature does not verify/,
      );
      await expect(verifyBearer(other, `Bearer ${ours}`, clock)).rejects.toThrow(
        /signature does not verify/,
      );
    }
  });

  it("refuses keys too short for HS256", async () => {
    await expect(
      issueToken(
        { ...SETTINGS, key: new Uint8Array(8) },
        { userId: "acme" },
        60,
        new ManualClock(T),
      ),
    ).rejects.toThrow(/at least 32/);
  });
});
