/**
 * The one error family of shaper. Every error has a stable `code` a caller can branch on, a
 * message that says what was wrong, what was expected and what to do, and optional `details`
 * (field paths, ids) that the handler kit may show to the caller for 4xx errors.
 *
 * A rejected capacity request is NOT an error: it is a `Decision` value.
 */
export type ShaperErrorCode =
  | "VALIDATION"
  | "NOT_FOUND"
  | "CONFLICT"
  | "DEPENDENCY"
  | "CONFIG"
  | "PAYLOAD_TOO_LARGE"
  | "FORBIDDEN"
  | "UNAUTHORIZED";

export interface ShaperErrorOptions {
  readonly cause?: unknown;
  /** Structured context for logs and (for 4xx) the response body, e.g. `{ field: "amounts.vcpu" }`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export abstract class ShaperError extends Error {
  abstract readonly code: ShaperErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: ShaperErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }
}

/** One problem with an input, located by a dotted path such as `amounts.vcpu`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** Bad input at a boundary (API body, event, trace file, model response). Maps to HTTP 400. */
export class ValidationError extends ShaperError {
  override readonly name = "ValidationError";
  readonly code = "VALIDATION";
  readonly issues: readonly FieldIssue[];

  constructor(
    message: string,
    issues: readonly FieldIssue[] = [],
    options: ShaperErrorOptions = {},
  ) {
    super(message, { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}

/** A user, pool, request or model that is not registered. Maps to HTTP 404. */
export class NotFoundError extends ShaperError {
  override readonly name = "NotFoundError";
  readonly code = "NOT_FOUND";
}

/** A concurrent change won, or the same id was used for different content. Maps to HTTP 409. */
export class ConflictError extends ShaperError {
  override readonly name = "ConflictError";
  readonly code = "CONFLICT";
}

/** The caller sent no token, or one that does not verify (forged, expired, wrong issuer). Maps to HTTP 401. */
export class UnauthorizedError extends ShaperError {
  override readonly name = "UnauthorizedError";
  readonly code = "UNAUTHORIZED";
}

/** The caller may not act for this tenant. Maps to HTTP 403. */
export class ForbiddenError extends ShaperError {
  override readonly name = "ForbiddenError";
  readonly code = "FORBIDDEN";
}

/** A request body over the configured limit. Maps to HTTP 413. */
export class PayloadTooLargeError extends ShaperError {
  override readonly name = "PayloadTooLargeError";
  readonly code = "PAYLOAD_TOO_LARGE";
}

/**
 * A service we depend on (DynamoDB, CloudWatch, the forecast endpoint, ECS...) failed.
 * `retryable` says whether trying again may help (throttling, timeouts) or not (access denied).
 * Maps to HTTP 503 when retryable, 502 otherwise; details are logged, never shown.
 */
export class DependencyError extends ShaperError {
  override readonly name = "DependencyError";
  readonly code = "DEPENDENCY";
  readonly dependency: string;
  readonly retryable: boolean;

  constructor(
    dependency: string,
    message: string,
    options: ShaperErrorOptions & { readonly retryable: boolean },
  ) {
    super(message, options);
    this.dependency = dependency;
    this.retryable = options.retryable;
  }
}

/** Invalid configuration or environment, found at cold start or when the config is loaded. */
export class ConfigError extends ShaperError {
  override readonly name = "ConfigError";
  readonly code = "CONFIG";
}

/** True for errors of the shaper family (and not, say, a TypeError from a bug). */
export function isShaperError(error: unknown): error is ShaperError {
  return error instanceof ShaperError;
}
