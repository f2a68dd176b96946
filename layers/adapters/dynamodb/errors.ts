import { DependencyError } from "../../domain/errors.js";

/** Error names the SDK gives for throttling and transient faults: worth retrying. */
const RETRYABLE = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionInProgressException",
  "TimeoutError",
  "RequestTimeout",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
]);

/**
 * Wraps an SDK error from `dependency` (e.g. "DynamoDB") into a DependencyError that says what
 * was being done and whether retrying can help.
 */
export function dependencyError(
  dependency: string,
  doing: string,
  error: unknown,
): DependencyError {
  const name =
    (error as { name?: string; code?: string })?.name ??
    (error as { code?: string })?.code ??
    "Error";
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const retryable =
    RETRYABLE.has(name) || (code !== undefined && RETRYABLE.has(code)) || isNetworkError(error);
  return new DependencyError(
    dependency,
    `${dependency} failed while ${doing}: ${name}: ${message}${retryable ? " (transient; retrying may help)" : ""}`,
    { cause: error, retryable, details: { errorName: name } },
  );
}

function isNetworkError(error: unknown): boolean {
  const code =
    (error as { code?: string; cause?: { code?: string } })?.code ??
    (error as { cause?: { code?: string } })?.cause?.code;
  return code !== undefined && /^E(CONN|TIMEDOUT|PIPE|AI_AGAIN|HOSTUNREACH|NETUNREACH)/.test(code);
}

/** True when a write or transaction failed only because a condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name === "ConditionalCheckFailedException") return true;
  if (e?.name === "TransactionCanceledException") {
    return (e.CancellationReasons ?? []).some((r) => r.Code === "ConditionalCheckFailed");
  }
  return false;
}
