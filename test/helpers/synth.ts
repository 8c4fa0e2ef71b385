import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../infra/config.js';
import { TidingsStack } from '../../infra/tidings-stack.js';

/** Synthesizes the stack without bundling functions or running CloudFormation validation (both slow). */
export const synthTidings = (context: Record<string, unknown> = {}) => {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
  const stack = new TidingsStack(app, 'Tidings', {
    config: loadConfig(app.node),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return { app, stack, template: Template.fromStack(stack) };
};
