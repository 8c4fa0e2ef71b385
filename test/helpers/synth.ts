import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../../infra/config.js';
import { TidingsStack } from '../../infra/tidings-stack.js';

/** The one setting a deploy must be given. */
export const TEST_CONTEXT = { fromAddress: 'news@example.org' };

/**
 * Synthesizes the stack without bundling functions or running CloudFormation validation (both
 * slow), and runs the AwsSolutions checks over it.
 */
export const synthTidings = (context: Record<string, unknown> = {}) => {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], ...TEST_CONTEXT, ...context },
    builtinCloudFormationValidation: false,
  });
  const stack = new TidingsStack(app, 'Tidings', {
    config: loadConfig(app.node),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const template = Template.fromStack(stack);
  const nag = new AwsSolutionsChecks().validateScope(stack);
  return { app, stack, template, nag };
};

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Resource = { Properties: Record<string, any> };

/** Lookups into a synthesized template: resources by type, a function by name, its environment and grants. */
export const templateQueries = (template: ReturnType<typeof synthTidings>['template']) => {
  const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
  const functionNamed = (name: string): [string, Resource] => {
    const found = resources('AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties.Description === `Tidings ${name}`,
    );
    if (!found) throw new Error(`no function ${name}`);
    return found;
  };
  const envOf = (name: string): Record<string, unknown> =>
    functionNamed(name)[1].Properties.Environment.Variables;
  const statementsOf = (name: string) => {
    const role = functionNamed(name)[1].Properties.Role['Fn::GetAtt'][0];
    return resources('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
  };
  const idOf = (type: string, prefix: string): string => {
    const found = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
    if (found.length !== 1) throw new Error(`${found.length} ${type} starting ${prefix}`);
    return found[0] as string;
  };
  return { resources, functionNamed, envOf, statementsOf, idOf };
};
