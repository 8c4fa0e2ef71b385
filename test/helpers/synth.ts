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
