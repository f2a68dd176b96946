import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";

/**
 * Errors a retry cannot fix: the handler kit throws them for a malformed event or a broken
 * deployment (layers/domain/errors.ts names). Retrying them only delays the failure.
 */
export const NON_RETRYABLE_ERRORS = ["ValidationError", "ConfigError"] as const;

export interface LambdaStepProps {
  /**
   * What the task sends the function.
   * @default - the state input
   */
  readonly payload?: sfn.TaskInput;
  /**
   * Where the function's result goes in the state.
   * @default "$" (the result becomes the state, as the retrain steps expect)
   */
  readonly resultPath?: string;
  /**
   * Replaces the function's result before `resultPath` is applied.
   * @default - the result as returned
   */
  readonly resultSelector?: Record<string, unknown>;
  readonly comment?: string;
}

/**
 * A Lambda task that passes the function's own result (`payloadResponseOnly`) and retries with
 * exponential backoff and jitter: Lambda service errors (the CDK's default retrier: 6 attempts
 * from 2 s), then any task failure or timeout twice more from 5 s — except validation and
 * config errors, which fail at once.
 *
 * @param scope where the state is defined
 * @param id state name
 * @param fn the function
 * @param props payload and result handling
 * @returns the task state
 */
export function lambdaStep(
  scope: Construct,
  id: string,
  fn: lambda.IFunction,
  props: LambdaStepProps = {},
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    ...(props.payload ? { payload: props.payload } : {}),
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
    ...(props.resultSelector ? { resultSelector: props.resultSelector } : {}),
    ...(props.comment ? { comment: props.comment } : {}),
  });
  task.addRetry({ errors: [...NON_RETRYABLE_ERRORS], maxAttempts: 0 });
  task.addRetry({
    errors: [sfn.Errors.TASKS_FAILED, sfn.Errors.TIMEOUT],
    interval: Duration.seconds(5),
    maxAttempts: 2,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}
