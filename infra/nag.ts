import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * Acknowledges one wildcard resource in a grantee's policy, and only that one: cdk-nag names it
 * `Resource::<LogicalId[.Arn]><suffix>`, e.g. `<SiteBucket….Arn>/*`.
 */
export const acknowledgeWildcard = (
  grantee: IGrantable,
  resource: { element: CfnElement; attribute?: 'Arn'; suffix: string },
  reason: string,
): void => {
  const principal = grantee.grantPrincipal;
  if (!Construct.isConstruct(principal)) return;
  const ref = `${Stack.of(resource.element).getLogicalId(resource.element)}${resource.attribute ? `.${resource.attribute}` : ''}`;
  Validations.of(principal).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${ref}>${resource.suffix}]`,
    reason,
  });
};
