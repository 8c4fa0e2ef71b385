import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig, type TidingsConfig } from './config.js';
import { addTidings } from './tidings-stack.js';

const app = new App();
let config: TidingsConfig;
try {
  config = loadConfig(app.node);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration: ${error.message}`);
  process.exit(1);
}
addTidings(app, 'Tidings', {
  config,
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.AWS_REGION ?? process.env.CDK_DEFAULT_REGION,
  },
});
// Any unacknowledged AwsSolutions finding stops the synth (and so the deploy).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
