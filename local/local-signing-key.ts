import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  type TokenSettings,
} from "../layers/adapters/auth/jwt-tokens.js";

/**
 * The local runtime's token signing key: `SHAPER_LOCAL_SIGNING_KEY` (base64url, ≥ 32 bytes) when
 * set, else `.shaper/local-signing-key` in the working directory, created on first use with 32
 * random bytes and mode 0600. Never committed (`.shaper/` is git-ignored), never logged.
 */
export function localTokenSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  dir = ".shaper",
): TokenSettings {
  return { key: localSigningKey(env, dir), issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE };
}

function localSigningKey(
  env: Readonly<Record<string, string | undefined>>,
  dir: string,
): Uint8Array {
  const fromEnv = env.SHAPER_LOCAL_SIGNING_KEY;
  if (fromEnv) return new Uint8Array(Buffer.from(fromEnv, "base64url"));
  const file = path.join(dir, "local-signing-key");
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return new Uint8Array(Buffer.from(readFileSync(file, "utf8").trim(), "base64url"));
}
