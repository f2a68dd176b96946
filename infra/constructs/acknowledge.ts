import { CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** One cdk-nag finding to acknowledge, with the reason it does not apply. */
export interface NagAcknowledgment {
  /** Rule id, with the finding for multi-finding rules: `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  /** Why the finding is accepted; read by whoever reviews the stack. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on a construct and everything below it (cdk-nag 3 reads
 * acknowledgments from the resource and its ancestors). Each finding needs its own id: cdk-nag 3
 * has no prefix match, so nothing here can silence a rule wholesale.
 *
 * @param scope the construct whose resources carry the findings
 * @param rules the findings and their reasons
 */
export function acknowledgeAll(scope: IConstruct, rules: readonly NagAcknowledgment[]): void {
  for (const rule of rules) Validations.of(scope).acknowledge(rule);
}

/**
 * The logical id a construct's CloudFormation resource has in the template, as cdk-nag prints
 * it inside finding ids (`Resource::<LogicalId.Arn>/*`).
 *
 * @param construct an L2 construct (its default child is the CfnResource) or a CfnElement
 * @returns the logical id
 * @throws Error when the construct has no CloudFormation resource
 */
export function logicalIdOf(construct: IConstruct): string {
  const element = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(element instanceof CfnElement)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to name.`);
  }
  return Stack.of(construct).getLogicalId(element);
}

/**
 * The cdk-nag finding id of a wildcard resource under another resource's ARN, e.g. objects of a
 * bucket: `AwsSolutions-IAM5[Resource::<Bucket1234.Arn>/*]`.
 *
 * @param construct the resource whose `Arn` attribute the policy uses
 * @param suffix what follows the ARN, e.g. `/*` or `:*`
 */
export function arnWildcardFinding(construct: IConstruct, suffix: string): string {
  return `AwsSolutions-IAM5[Resource::<${logicalIdOf(construct)}.Arn>${suffix}]`;
}
