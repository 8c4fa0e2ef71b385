import { App } from 'aws-cdk-lib';
import { loadConfig } from './config.js';
import { TidingsStack } from './tidings-stack.js';

const app = new App();
new TidingsStack(app, 'Tidings', {
  config: loadConfig(app.node),
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.AWS_REGION ?? process.env.CDK_DEFAULT_REGION,
  },
});
app.synth();
