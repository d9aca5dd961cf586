import { App } from 'cdktf';
import { BootstrapStack } from './bootstrap-stack';
import { CI, ENVIRONMENTS, stateConfigFrom, validateCiConfig, validateConfig } from './config';
import { PipelineStack } from './pipeline-stack';

/** The stack names `synthesizeApp` writes, in the order they are deployed. */
export const STACK_NAMES = ['bootstrap', ...ENVIRONMENTS.map((config) => config.environment)] as const;

/**
 * Every stack of the project in one cdktf app: `main.ts` (what `cdktf synth/deploy` runs), the
 * `terraform validate` test and the deploy rehearsal build the same app, so they check what CI deploys.
 * `outdir` is where the Terraform JSON goes (`<outdir>/stacks/<stack>/cdk.tf.json`).
 */
export function synthesizeApp(options: {
  projectRoot: string;
  env: Readonly<Record<string, string | undefined>>;
  outdir?: string;
}): void {
  const state = stateConfigFrom(options.env);
  const environments = ENVIRONMENTS.map(validateConfig);
  const app = new App(options.outdir === undefined ? {} : { outdir: options.outdir });
  new BootstrapStack(app, 'bootstrap', {
    state,
    ci: validateCiConfig(CI),
    environments,
    projectRoot: options.projectRoot,
  });
  for (const config of environments) {
    new PipelineStack(app, config.environment, { config, state, projectRoot: options.projectRoot });
  }
  app.synth();
}
