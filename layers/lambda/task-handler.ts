import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { toFieldIssues } from "../domain/config.js";
import { isShaperError, ValidationError } from "../domain/errors.js";
import { logger, metrics } from "./observability.js";

export interface TaskHandlerOptions<S extends z.ZodType, R> {
  /** Name used in logs and error messages, e.g. "collect". */
  readonly name: string;
  /** Schema of the invocation event (EventBridge schedule, Step Functions task input). */
  readonly schema: S;
  /** Calls one use case. Throwing fails the invocation, so Step Functions / EventBridge retry it. */
  readonly run: (input: z.infer<S>, context: Context) => Promise<R>;
}

/**
 * The kit for scheduled and Step Functions task handlers: parses the event with its Zod schema
 * (a malformed event is a ValidationError naming the field), injects the Lambda context into the
 * logger, flushes EMF metrics, and logs failures with their details once.
 *
 * @example
 * export const handler = taskHandler({ name: "collect", schema: CollectEvent, run: (e) => collect(deps, e) });
 */
export function taskHandler<S extends z.ZodType, R>(options: TaskHandlerOptions<S, R>) {
  const base = async (event: unknown, context: Context): Promise<R> => {
    const parsed = options.schema.safeParse(event);
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error);
      throw new ValidationError(
        `Invalid ${options.name} event: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
        issues,
      );
    }
    try {
      return await options.run(parsed.data, context);
    } catch (error) {
      logger.error(`${options.name} failed`, {
        error: error as Error,
        ...(isShaperError(error) ? { code: error.code, details: error.details } : {}),
      });
      throw error;
    }
  };
  return middy(base)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
