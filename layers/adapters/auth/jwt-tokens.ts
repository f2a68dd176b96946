import { webcrypto } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { UnauthorizedError } from "../../domain/errors.js";
import type { Clock } from "../../ports/clock.js";

/**
 * Signed tokens for the admission API. In AWS, API Gateway's JWT authorizer verifies the
 * caller's token (Cognito or any OIDC issuer) before the function runs; locally this verifier
 * does the same checks — signature, issuer, audience, expiry, not-before — with a local signing
 * key, so the same handler sees the same verified claims either way.
 *
 * The caller's tenant is the `tenant` claim, else `sub`.
 */

/** Issuer and audience of locally issued tokens. */
export const LOCAL_ISSUER = "shaper-local";
export const LOCAL_AUDIENCE = "shaper-admission";
/** HS256 keys shorter than this are refused (RFC 7518 §3.2: at least the hash size). */
const MIN_KEY_BYTES = 32;

export interface TokenSettings {
  /** HMAC-SHA256 key (raw bytes, ≥ 32). */
  readonly key: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
  /** Slack for clock skew between issuer and verifier, in seconds. @default 30 */
  readonly clockToleranceSeconds?: number;
}

/**
 * The verification key imported once per key: given raw bytes, jose imports them through
 * WebCrypto on every verification, which cost 6–9 % of the local admission API's CPU under load.
 * Keyed by the bytes' array (settings objects are often copied with the same key); the settings
 * are treated as immutable, as their `readonly` fields say.
 */
const verifyKeys = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>();

function verifyKeyOf(key: Uint8Array): Promise<webcrypto.CryptoKey> {
  let imported = verifyKeys.get(key);
  if (!imported) {
    imported = webcrypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    verifyKeys.set(key, imported);
  }
  return imported;
}

function checkKey(key: Uint8Array): void {
  if (key.byteLength < MIN_KEY_BYTES) {
    throw new UnauthorizedError(
      `The signing key has ${key.byteLength} bytes; HS256 needs at least ${MIN_KEY_BYTES}. Use a longer key.`,
    );
  }
}

/**
 * Issues a token for a tenant.
 *
 * @param settings key, issuer, audience
 * @param claims `userId` becomes `sub` and `tenant`
 * @param ttlSeconds lifetime, in seconds
 * @param clock issue time
 * @example
 * const token = await issueToken(settings, { userId: "acme" }, 3600, systemClock);
 */
export async function issueToken(
  settings: TokenSettings,
  claims: { readonly userId: string },
  ttlSeconds: number,
  clock: Clock,
): Promise<string> {
  checkKey(settings.key);
  const now = Math.floor(clock.nowSeconds());
  return new SignJWT({ tenant: claims.userId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(settings.key);
}

/**
 * Verifies `Authorization: Bearer <token>` and returns the token's claims.
 *
 * @param authorization the header's value (undefined when absent)
 * @throws UnauthorizedError saying what failed (missing, malformed, bad signature, expired,
 *   wrong issuer or audience) — never echoing the token
 */
export async function verifyBearer(
  settings: TokenSettings,
  authorization: string | undefined,
  clock: Clock,
): Promise<Record<string, unknown>> {
  checkKey(settings.key);
  if (!authorization) {
    throw new UnauthorizedError(
      "No Authorization header. Send `Authorization: Bearer <token>` (locally: `shaper token <userId>`).",
    );
  }
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) {
    throw new UnauthorizedError("The Authorization header is not `Bearer <token>`.");
  }
  try {
    const { payload } = await jwtVerify(match[1] as string, await verifyKeyOf(settings.key), {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ["HS256"],
      clockTolerance: settings.clockToleranceSeconds ?? 30,
      currentDate: new Date(clock.nowSeconds() * 1000),
      requiredClaims: ["sub", "exp"],
    });
    return payload as Record<string, unknown>;
  } catch (error) {
    throw new UnauthorizedError(
      `The token was refused: ${describe(error)}. Get a new token and try again.`,
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "it has expired";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return "its signature does not verify";
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `claim "${error.claim}" is not valid (${error.reason})`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "it is not signed with HS256";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return "it is malformed";
  return "it could not be verified";
}
