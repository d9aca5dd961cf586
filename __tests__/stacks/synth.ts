import { resolve } from 'node:path';
import { Testing } from 'cdktf';
import { BootstrapStack } from '../../stacks/bootstrap-stack';
import { CI, ENVIRONMENTS, type EnvironmentConfig, type StateConfig } from '../../stacks/config';
import { PipelineStack } from '../../stacks/pipeline-stack';

export const ROOT = resolve(__dirname, '..', '..');
export const STATE: StateConfig = {
  bucket: 'example-tfstate',
  region: 'eu-west-1',
  keyPrefix: 'agent-activity-etl',
};

type Block = Record<string, unknown>;
export interface TerraformJson {
  terraform: { backend: Record<string, Block> };
  provider: { aws: Block[] };
  resource: Record<string, Record<string, Block>>;
  output: Record<string, { value: string }>;
}

export function environment(name: string): EnvironmentConfig {
  const config = ENVIRONMENTS.find((candidate) => candidate.environment === name);
  if (!config) throw new Error(`no environment ${name}`);
  return config;
}

/** The synthesized Terraform JSON of one pipeline environment. */
export function synthPipeline(config: EnvironmentConfig = environment('dev')): TerraformJson {
  const app = Testing.app();
  const stack = new PipelineStack(app, config.environment, { config, state: STATE, projectRoot: ROOT });
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

export function synthBootstrap(): TerraformJson {
  const app = Testing.app();
  const stack = new BootstrapStack(app, 'bootstrap', {
    state: STATE,
    ci: CI,
    environments: ENVIRONMENTS,
    projectRoot: ROOT,
  });
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

/** Resources of one type, by Terraform name; throws when there are none. */
export function resourcesOf(json: TerraformJson, type: string): Record<string, Block> {
  const found = json.resource[type];
  if (!found) throw new Error(`no ${type} in the synthesized stack`);
  return found;
}

/** The single resource of a type whose Terraform name contains `fragment`. */
export function resourceNamed(json: TerraformJson, type: string, fragment: string): [string, Block] {
  const matches = Object.entries(resourcesOf(json, type)).filter(([name]) => name.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} ${type} named like ${fragment}`);
  return matches[0] as [string, Block];
}

/** `${type.name.attribute}`: how a resource's attribute is referenced inside the JSON. */
export const ref = (type: string, name: string, attribute: string): string =>
  `\${${type}.${name}.${attribute}}`;

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export const statementsOf = (document: unknown): Statement[] =>
  (JSON.parse(String(document)) as { Statement: Statement[] }).Statement;

export const resourcesOfStatement = (statement: Statement): string[] =>
  statement.Resource === undefined ? [] : ([] as string[]).concat(statement.Resource);

export const bySid = (statements: readonly Statement[]): Record<string, Statement> =>
  Object.fromEntries(statements.map((statement) => [statement.Sid ?? '', statement]));

/**
 * A policy document of the bootstrap stack as AWS would hold it once applied: each Terraform reference
 * replaced by the value it takes in `account` and `region` (state key, state bucket, OIDC provider,
 * boundary policies). Throws when a reference is left.
 */
export function resolvedPolicy(
  document: unknown,
  account: string,
  region: string,
  names: { stateKeyArn: string; boundaryName: (environment: string) => string },
): Record<string, unknown> {
  const resolved = String(document)
    .replace(/\$\{data\.aws_partition\.[^}]+\}/g, 'aws')
    .replace(/\$\{data\.aws_region\.[^}]+\}/g, region)
    .replace(/\$\{data\.aws_caller_identity\.[^}]+\}/g, account)
    .replace(/\$\{aws_kms_key\.[^}]+\.arn\}/g, names.stateKeyArn)
    .replace(/\$\{aws_s3_bucket\.[^}]+\.arn\}/g, `arn:aws:s3:::${STATE.bucket}`)
    .replace(
      /\$\{aws_iam_openid_connect_provider\.[^}]+\.arn\}/g,
      `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`,
    )
    .replace(
      /\$\{aws_iam_policy\.ci_([a-z]+)Boundary_[^}]+\.arn\}/g,
      (_, environment: string) => `arn:aws:iam::${account}:policy/${names.boundaryName(environment)}`,
    );
  if (resolved.includes('${')) throw new Error(`unresolved reference in ${resolved.slice(0, 200)}`);
  return JSON.parse(resolved) as Record<string, unknown>;
}
