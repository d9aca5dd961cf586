import { App } from 'cdktf';
import { BootstrapStack } from './stacks/bootstrap-stack';
import { ENVIRONMENTS, PROJECT, type StateConfig, validateConfig } from './stacks/config';
import { PipelineStack } from './stacks/pipeline-stack';

const state: StateConfig = {
  // Globally unique; set TF_STATE_BUCKET (CI does, from a repository variable) to your own.
  bucket: process.env.TF_STATE_BUCKET ?? `${PROJECT}-tfstate`,
  region: process.env.TF_STATE_REGION ?? 'eu-west-1',
  keyPrefix: PROJECT,
};

const app = new App();
new BootstrapStack(app, 'bootstrap', { state });
for (const config of ENVIRONMENTS) {
  new PipelineStack(app, config.environment, {
    config: validateConfig(config),
    state,
    projectRoot: process.cwd(),
  });
}
app.synth();
