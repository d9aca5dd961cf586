import { App } from 'cdktf';
import { BootstrapStack } from './stacks/bootstrap-stack';
import { CI, ENVIRONMENTS, stateConfigFrom, validateCiConfig, validateConfig } from './stacks/config';
import { PipelineStack } from './stacks/pipeline-stack';

const state = stateConfigFrom(process.env);
const environments = ENVIRONMENTS.map(validateConfig);
const projectRoot = process.cwd();

const app = new App();
new BootstrapStack(app, 'bootstrap', { state, ci: validateCiConfig(CI), environments, projectRoot });
for (const config of environments) {
  new PipelineStack(app, config.environment, { config, state, projectRoot });
}
app.synth();
