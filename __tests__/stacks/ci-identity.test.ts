import { isAbsolute, join } from 'node:path';
import {
  isWildcardOnlyAction,
  runSimulation,
  runUnsafeSimulation,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { Testing } from 'cdktf';
import { BOOTSTRAP_STATE_FILE, BootstrapStack } from '../../stacks/bootstrap-stack';
import {
  CI,
  ENVIRONMENTS,
  PROJECT,
  STATE_KEY_ALIAS,
  stateConfigFrom,
  validateCiConfig,
} from '../../stacks/config';
import { boundaryPolicyName } from '../../stacks/constructs/boundary';
import {
  DEPLOY_WORKFLOW,
  environmentSubject,
  GITHUB_OIDC_HOST,
  pullRequestSubject,
} from '../../stacks/constructs/ci-identity';
import { icebergTableUuid } from '../../stacks/constructs/iceberg-metadata';
import { AGENT_INTERVALS, PIPELINE_RUNS, WEEKLY_SUMMARY } from '../../workflow/tables';
import {
  ROOT,
  resourceNamed,
  resourcesOf,
  STATE,
  statementsOf,
  synthBootstrap,
  synthPipeline,
} from './synth';

// runUnsafeSimulation loads a resource policy without the name its own analysis then reads; give it
// one. The unsafe runner is needed for trust policies only: the library's catalogue of
// sts:AssumeRoleWithWebIdentity keys lists GitHub's extra claims but not the `sub` and `aud` that IAM
// evaluates for every OIDC provider, and the strict runner drops keys it does not know.
jest.mock('@cloud-copilot/iam-policy', () => {
  const actual = jest.requireActual('@cloud-copilot/iam-policy');
  return {
    ...actual,
    loadPolicy: (document: unknown, metadata?: unknown) =>
      actual.loadPolicy(document, metadata ?? { name: 'TrustPolicy' }),
  };
});

const ACCOUNT = CI.accountId;
const REGION = STATE.region;
const STATE_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB_OIDC_HOST}`;

const bootstrap = synthBootstrap();

/** The gold bucket of an environment, and the first metadata file Terraform writes for a table (catalog.ts). */
const goldArn = (namePrefix: string) => `arn:aws:s3:::${namePrefix}-gold-${ACCOUNT}-${REGION}`;
const seedArn = (namePrefix: string, table: typeof AGENT_INTERVALS, version = '00000') =>
  `${goldArn(namePrefix)}/${table.layer}/${table.name}/metadata/${version}-${icebergTableUuid(namePrefix, table)}.metadata.json`;

/** What Terraform would put in place of each reference, so the policies can be evaluated as AWS sees them. */
function resolve(document: string): Record<string, unknown> {
  const resolved = document
    .replace(/\$\{data\.aws_partition\.[^}]+\}/g, 'aws')
    .replace(/\$\{data\.aws_region\.[^}]+\}/g, REGION)
    .replace(/\$\{data\.aws_caller_identity\.[^}]+\}/g, ACCOUNT)
    .replace(/\$\{aws_kms_key\.[^}]+\.arn\}/g, STATE_KEY_ARN)
    .replace(/\$\{aws_s3_bucket\.[^}]+\.arn\}/g, `arn:aws:s3:::${STATE.bucket}`)
    .replace(/\$\{aws_iam_openid_connect_provider\.[^}]+\.arn\}/g, PROVIDER_ARN)
    .replace(/\$\{aws_iam_policy\.ci_([a-z]+)Boundary_[^}]+\.arn\}/g, (_, environment: string) =>
      boundaryArn(environment),
    );
  expect(resolved).not.toContain('${');
  return JSON.parse(resolved) as Record<string, unknown>;
}

const rolePolicy = (fragment: string) =>
  resolve(String(resourceNamed(bootstrap, 'aws_iam_role_policy', fragment)[1].policy));
const trustPolicy = (fragment: string) =>
  resolve(String(resourceNamed(bootstrap, 'aws_iam_role', fragment)[1].assume_role_policy));

/** The state key's policy; every key of the project is an EncryptionKey with the same delegation to IAM. */
const KEY_POLICY = resolve(String(Object.values(resourcesOf(bootstrap, 'aws_kms_key'))[0]?.policy));

/** The ARN of an environment's permissions boundary, as the bootstrap stack names it. */
const boundaryArn = (environment: string) =>
  `arn:aws:iam::${ACCOUNT}:policy/${boundaryPolicyName(environment)}`;

const stateObject = (key: string) => `arn:aws:s3:::${STATE.bucket}/${STATE.keyPrefix}/${key}`;

/** The decision IAM reaches for a role holding `policy` (its one inline policy) making one request. */
async function decide(
  policy: Record<string, unknown>,
  action: string,
  resource: string,
  contextVariables: Record<string, string> = {},
): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: [{ name: 'inline', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // A KMS key answers to its key policy first; the project's keys delegate to IAM policies.
    ...(action.startsWith('kms:') && resource !== '*' ? { resourcePolicy: KEY_POLICY } : {}),
    request: {
      action,
      principal: `arn:aws:iam::${ACCOUNT}:role/ci`,
      resource: { accountId: ACCOUNT, resource },
      contextVariables,
    },
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

/** Whether a GitHub token with this `sub` may assume the role whose trust policy is given. */
function assume(
  trust: Record<string, unknown>,
  subject: string,
  audience = 'sts.amazonaws.com',
  claims: Record<string, string> = {},
): string {
  return runUnsafeSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust,
      request: {
        action: 'sts:AssumeRoleWithWebIdentity',
        principal: PROVIDER_ARN,
        resource: { accountId: ACCOUNT, resource: `arn:aws:iam::${ACCOUNT}:role/ci` },
        contextVariables: {
          [`${GITHUB_OIDC_HOST}:sub`]: subject,
          [`${GITHUB_OIDC_HOST}:aud`]: audience,
          ...Object.fromEntries(
            Object.entries(claims).map(([claim, value]) => [`${GITHUB_OIDC_HOST}:${claim}`, value]),
          ),
        },
      },
    },
    {},
  );
}

describe('plan role (pull requests)', () => {
  const policy = rolePolicy('planPolicy');

  test('reads every stack state but cannot overwrite any of it', async () => {
    for (const stack of ['dev', 'prod']) {
      expect(await decide(policy, 's3:GetObject', stateObject(`${stack}.tfstate`))).toBe('Allowed');
      expect(await decide(policy, 's3:PutObject', stateObject(`${stack}.tfstate`))).toBe('ImplicitlyDenied');
      expect(await decide(policy, 's3:DeleteObject', stateObject(`${stack}.tfstate`))).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  test('writes nothing in the state bucket: cannot take, nor delete, any lock (prod included)', async () => {
    // Pull requests plan with -lock=false (.github/workflows/ci.yml): a plan writes no state.
    for (const stack of ['dev', 'prod']) {
      expect(await decide(policy, 's3:PutObject', stateObject(`${stack}.tfstate.tflock`))).toBe(
        'ImplicitlyDenied',
      );
      expect(await decide(policy, 's3:DeleteObject', stateObject(`${stack}.tfstate.tflock`))).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  test('decrypts state with the state key, and reads no lake data', async () => {
    expect(await decide(policy, 'kms:Decrypt', STATE_KEY_ARN)).toBe('Allowed');
    const lake = `arn:aws:s3:::agent-etl-prod-gold-${ACCOUNT}-${REGION}/gold/agent_intervals/data/x.parquet`;
    expect(await decide(policy, 's3:GetObject', lake)).toBe('ImplicitlyDenied');
    const assets = `arn:aws:s3:::agent-etl-prod-assets-${ACCOUNT}-${REGION}/glue/abc/csv_to_parquet.py`;
    expect(await decide(policy, 's3:GetObject', assets)).toBe('Allowed');
  });

  test('refreshes the Iceberg metadata files Terraform wrote, and reads no other gold object', async () => {
    for (const { namePrefix } of ENVIRONMENTS) {
      for (const table of [AGENT_INTERVALS, WEEKLY_SUMMARY, PIPELINE_RUNS]) {
        for (const action of ['s3:GetObject', 's3:GetObjectTagging']) {
          expect(await decide(policy, action, seedArn(namePrefix, table))).toBe('Allowed');
        }
        expect(await decide(policy, 's3:PutObject', seedArn(namePrefix, table))).toBe('ImplicitlyDenied');
        // Athena's later metadata files carry the table's history: not the plan's business.
        expect(await decide(policy, 's3:GetObject', seedArn(namePrefix, table, '00001'))).toBe(
          'ImplicitlyDenied',
        );
      }
    }
  });

  test('refreshes Glue tables: the provider reads their partition indexes', async () => {
    for (const prefix of ['agent_etl_dev', 'agent_etl_prod']) {
      const table = `arn:aws:glue:${REGION}:${ACCOUNT}:table/${prefix}/agent_intervals`;
      expect(await decide(policy, 'glue:GetPartitionIndexes', table)).toBe('Allowed');
    }
  });

  test('reads what a plan refreshes, changes nothing', async () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/agent-etl-prod-check-summary`;
    expect(await decide(policy, 'iam:GetRolePolicy', role)).toBe('Allowed');
    expect(await decide(policy, 'iam:PutRolePolicy', role)).toBe('ImplicitlyDenied');
    const bucket = `arn:aws:s3:::agent-etl-dev-bronze-${ACCOUNT}-${REGION}`;
    expect(await decide(policy, 's3:GetBucketPolicy', bucket)).toBe('Allowed');
    expect(await decide(policy, 's3:PutBucketPolicy', bucket)).toBe('ImplicitlyDenied');
  });

  test('trusted by pull requests of the configured repository only', () => {
    const trust = trustPolicy('planRole');
    expect(assume(trust, pullRequestSubject(CI.repository))).toBe('Allowed');
    expect(assume(trust, pullRequestSubject('someone-else/fork'))).toBe('ImplicitlyDenied');
    expect(assume(trust, environmentSubject(CI.repository, 'prod'))).toBe('ImplicitlyDenied');
    expect(assume(trust, `repo:${CI.repository}:ref:refs/heads/main`)).toBe('ImplicitlyDenied');
    expect(assume(trust, pullRequestSubject(CI.repository), 'some-other-audience')).toBe('ImplicitlyDenied');
  });
});

describe.each(ENVIRONMENTS.map((config) => [config.environment, config] as const))(
  '%s deploy role',
  (name, config) => {
    const policy = rolePolicy(`${name}DeployPolicy`);
    const other = ENVIRONMENTS.find((candidate) => candidate.environment !== name);
    if (!other) throw new Error('two environments expected');

    test('cannot be assumed from a pull request, nor from another environment', () => {
      const trust = trustPolicy(`${name}DeployRole`);
      const fromMain = {
        ref: 'refs/heads/main',
        job_workflow_ref: `${CI.repository}/${DEPLOY_WORKFLOW}@refs/heads/main`,
      };
      expect(assume(trust, environmentSubject(CI.repository, name), undefined, fromMain)).toBe('Allowed');
      expect(assume(trust, pullRequestSubject(CI.repository))).toBe('ImplicitlyDenied');
      expect(assume(trust, environmentSubject(CI.repository, other.environment))).toBe('ImplicitlyDenied');
      expect(assume(trust, environmentSubject('someone-else/fork', name))).toBe('ImplicitlyDenied');
    });

    if (config.deployRef) {
      test('is assumed only by the deploy workflow running on its ref (prod: main)', () => {
        const trust = trustPolicy(`${name}DeployRole`);
        const subject = environmentSubject(CI.repository, name);
        const run = (ref: string, workflow = DEPLOY_WORKFLOW) =>
          assume(trust, subject, undefined, {
            ref,
            job_workflow_ref: `${CI.repository}/${workflow}@${ref}`,
          });
        expect(run('refs/heads/main')).toBe('Allowed');
        expect(run('refs/heads/feature')).toBe('ImplicitlyDenied');
        expect(run('refs/heads/main', '.github/workflows/other.yml')).toBe('ImplicitlyDenied');
        // A token without the claims (any other trigger) is refused too.
        expect(assume(trust, subject)).toBe('ImplicitlyDenied');
      });
    }

    test('creates and changes roles only with its boundary, which it can neither remove nor edit', async () => {
      const own = `arn:aws:iam::${ACCOUNT}:role/${config.namePrefix}-notify`;
      const bounded = { 'iam:PermissionsBoundary': boundaryArn(name) };
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy']) {
        expect(await decide(policy, action, own, bounded)).toBe('Allowed');
        expect(await decide(policy, action, own)).toBe('ImplicitlyDenied');
        expect(
          await decide(policy, action, own, { 'iam:PermissionsBoundary': boundaryArn(other.environment) }),
        ).toBe('ImplicitlyDenied');
      }
      expect(await decide(policy, 'iam:DeleteRolePermissionsBoundary', own)).toBe('ImplicitlyDenied');
      for (const action of ['iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:SetDefaultPolicyVersion']) {
        expect(await decide(policy, action, boundaryArn(name))).toBe('ImplicitlyDenied');
      }
    });

    test("writes and deletes its own tables' first Iceberg metadata files, no other gold object", async () => {
      for (const table of [AGENT_INTERVALS, WEEKLY_SUMMARY, PIPELINE_RUNS]) {
        for (const action of [
          's3:PutObject',
          's3:PutObjectTagging',
          's3:DeleteObject',
          's3:GetObjectTagging',
        ]) {
          expect(await decide(policy, action, seedArn(config.namePrefix, table))).toBe('Allowed');
          expect(await decide(policy, action, seedArn(other.namePrefix, table))).toBe('ImplicitlyDenied');
        }
        expect(await decide(policy, 's3:DeleteObject', seedArn(config.namePrefix, table, '00001'))).toBe(
          'ImplicitlyDenied',
        );
      }
      const data = `${goldArn(config.namePrefix)}/gold/agent_intervals/data/x.parquet`;
      expect(await decide(policy, 's3:DeleteObject', data)).toBe('ImplicitlyDenied');
      expect(await decide(policy, 's3:GetObject', data)).toBe('ImplicitlyDenied');
    });

    test("writes its own stack's state and lock, never another's", async () => {
      expect(await decide(policy, 's3:PutObject', stateObject(`${name}.tfstate`))).toBe('Allowed');
      expect(await decide(policy, 's3:DeleteObject', stateObject(`${name}.tfstate.tflock`))).toBe('Allowed');
      expect(await decide(policy, 's3:DeleteObject', stateObject(`${name}.tfstate`))).toBe(
        'ImplicitlyDenied',
      );
      expect(await decide(policy, 's3:GetObject', stateObject(`${other.environment}.tfstate`))).toBe(
        'ImplicitlyDenied',
      );
    });

    test("changes resources under its own name prefix only, and passes roles to the pipeline's services only", async () => {
      const own = `arn:aws:iam::${ACCOUNT}:role/${config.namePrefix}-pipeline-state-machine`;
      const foreign = `arn:aws:iam::${ACCOUNT}:role/${other.namePrefix}-pipeline-state-machine`;
      const bounded = { 'iam:PermissionsBoundary': boundaryArn(name) };
      expect(await decide(policy, 'iam:PutRolePolicy', own, bounded)).toBe('Allowed');
      expect(await decide(policy, 'iam:PutRolePolicy', foreign, bounded)).toBe('ImplicitlyDenied');
      expect(await decide(policy, 'iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/admin`, bounded)).toBe(
        'ImplicitlyDenied',
      );
      const passTo = (service: string) =>
        decide(policy, 'iam:PassRole', own, { 'iam:PassedToService': service });
      expect(await passTo('states.amazonaws.com')).toBe('Allowed');
      expect(await passTo('ec2.amazonaws.com')).toBe('ImplicitlyDenied');
      const queue = (prefix: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${prefix}-alerts-audit`;
      expect(await decide(policy, 'sqs:SetQueueAttributes', queue(config.namePrefix))).toBe('Allowed');
      expect(await decide(policy, 'sqs:SetQueueAttributes', queue(other.namePrefix))).toBe(
        'ImplicitlyDenied',
      );
    });

    test('manages only keys tagged with its environment, and creates keys only with those tags', async () => {
      const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab`;
      const tagged = (environment: string) => ({
        'aws:ResourceTag/project': PROJECT,
        'aws:ResourceTag/environment': environment,
      });
      expect(await decide(policy, 'kms:PutKeyPolicy', key, tagged(name))).toBe('Allowed');
      expect(await decide(policy, 'kms:PutKeyPolicy', key, tagged(other.environment))).toBe(
        'ImplicitlyDenied',
      );
      expect(await decide(policy, 'kms:PutKeyPolicy', key, tagged('shared'))).toBe('ImplicitlyDenied');
      const create = (environment: string) =>
        decide(policy, 'kms:CreateKey', '*', {
          'aws:RequestTag/project': PROJECT,
          'aws:RequestTag/environment': environment,
        });
      expect(await create(name)).toBe('Allowed');
      expect(await create(other.environment)).toBe('ImplicitlyDenied');
    });

    test('tags a key while creating it: kms:TagResource on every key of the account, with its own tags only', async () => {
      // KMS developer guide, "Controlling access to tags": tagging at CreateKey needs kms:TagResource in
      // an IAM policy not restricted to particular keys; the request carries the provider's default tags.
      // The key being created has an id no policy can know in advance, and no tags yet.
      const everyKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/9999abcd-12ab-34cd-56ef-1234567890ab`;
      const sending = (environment: string) => ({
        'aws:RequestTag/project': PROJECT,
        'aws:RequestTag/environment': environment,
      });
      expect(await decide(policy, 'kms:TagResource', everyKey, sending(name))).toBe('Allowed');
      expect(await decide(policy, 'kms:TagResource', everyKey, sending(other.environment))).toBe(
        'ImplicitlyDenied',
      );
      // An existing key of the project (the state key is tagged `shared`) cannot be re-tagged into this
      // environment to bring it under ManageKeys.
      const stateKeyRetag = {
        ...sending(name),
        'aws:ResourceTag/project': PROJECT,
        'aws:ResourceTag/environment': 'shared',
      };
      expect(await decide(policy, 'kms:TagResource', STATE_KEY_ARN, stateKeyRetag)).toBe('ImplicitlyDenied');
    });

    test('reads and writes Glue tables the way the provider does, partition indexes included', async () => {
      const table = `arn:aws:glue:${REGION}:${ACCOUNT}:table/${config.namePrefix.replace(/-/g, '_')}/agent_intervals`;
      expect(await decide(policy, 'glue:GetPartitionIndexes', table)).toBe('Allowed');
      const foreign = `arn:aws:glue:${REGION}:${ACCOUNT}:table/${other.namePrefix.replace(/-/g, '_')}/agent_intervals`;
      expect(await decide(policy, 'glue:GetPartitionIndexes', foreign)).toBe('ImplicitlyDenied');
    });
  },
);

/**
 * The call that creates each resource type the pipeline stacks declare, on a resource named the way the
 * stack names it (`$P` = the environment's name prefix). A type missing here fails the test below:
 * give the deploy role its actions in stacks/constructs/ci-identity.ts, then add it here.
 */
const CREATE: Record<string, [action: string, resource: string]> = {
  aws_athena_named_query: ['athena:CreateNamedQuery', 'arn:aws:athena:$R:$A:workgroup/$P'],
  aws_athena_workgroup: ['athena:CreateWorkGroup', 'arn:aws:athena:$R:$A:workgroup/$P'],
  aws_cloudwatch_event_bus: ['events:CreateEventBus', 'arn:aws:events:$R:$A:event-bus/$P-pipeline'],
  aws_cloudwatch_event_rule: ['events:PutRule', 'arn:aws:events:$R:$A:rule/$P-pipeline/$P-run-completed'],
  aws_cloudwatch_event_target: ['events:PutTargets', 'arn:aws:events:$R:$A:rule/$P-bronze-csv-created'],
  aws_cloudwatch_log_group: [
    'logs:CreateLogGroup',
    'arn:aws:logs:$R:$A:log-group:/aws-glue/jobs/$P-csv-to-parquet/error',
  ],
  aws_cloudwatch_metric_alarm: [
    'cloudwatch:PutMetricAlarm',
    'arn:aws:cloudwatch:$R:$A:alarm:$P-pipeline-failed',
  ],
  aws_dynamodb_table: ['dynamodb:CreateTable', 'arn:aws:dynamodb:$R:$A:table/$P-alert-state'],
  aws_glue_catalog_database: ['glue:CreateDatabase', 'arn:aws:glue:$R:$A:database/$D'],
  aws_glue_catalog_table: ['glue:CreateTable', 'arn:aws:glue:$R:$A:table/$D/agent_intervals'],
  aws_glue_crawler: ['glue:CreateCrawler', '*'],
  aws_glue_job: ['glue:CreateJob', 'arn:aws:glue:$R:$A:job/$P-csv-to-parquet'],
  aws_iam_role: ['iam:CreateRole', 'arn:aws:iam::$A:role/$P-check-summary'],
  aws_iam_role_policy: ['iam:PutRolePolicy', 'arn:aws:iam::$A:role/$P-check-summary'],
  aws_kms_alias: ['kms:CreateAlias', 'arn:aws:kms:$R:$A:alias/$P'],
  aws_kms_key: ['kms:CreateKey', '*'],
  aws_lambda_function: ['lambda:CreateFunction', 'arn:aws:lambda:$R:$A:function:$P-notify'],
  aws_lambda_permission: ['lambda:AddPermission', 'arn:aws:lambda:$R:$A:function:$P-check-summary'],
  aws_s3_bucket: ['s3:CreateBucket', 'arn:aws:s3:::$P-bronze-$A-$R'],
  aws_s3_bucket_lifecycle_configuration: ['s3:PutLifecycleConfiguration', 'arn:aws:s3:::$P-bronze-$A-$R'],
  aws_s3_bucket_notification: ['s3:PutBucketNotification', 'arn:aws:s3:::$P-bronze-$A-$R'],
  aws_s3_bucket_ownership_controls: ['s3:PutBucketOwnershipControls', 'arn:aws:s3:::$P-gold-$A-$R'],
  aws_s3_bucket_policy: ['s3:PutBucketPolicy', 'arn:aws:s3:::$P-silver-$A-$R'],
  aws_s3_bucket_public_access_block: ['s3:PutBucketPublicAccessBlock', 'arn:aws:s3:::$P-assets-$A-$R'],
  aws_s3_bucket_server_side_encryption_configuration: [
    's3:PutEncryptionConfiguration',
    'arn:aws:s3:::$P-athena-results-$A-$R',
  ],
  aws_s3_bucket_versioning: ['s3:PutBucketVersioning', 'arn:aws:s3:::$P-bronze-$A-$R'],
  aws_s3_object: ['s3:PutObject', 'arn:aws:s3:::$P-assets-$A-$R/glue/0123abcd/csv_to_parquet.py'],
  aws_scheduler_schedule: [
    'scheduler:CreateSchedule',
    'arn:aws:scheduler:$R:$A:schedule/default/$P-daily-check',
  ],
  aws_sfn_state_machine: ['states:CreateStateMachine', 'arn:aws:states:$R:$A:stateMachine:$P-pipeline'],
  aws_sns_topic: ['sns:CreateTopic', 'arn:aws:sns:$R:$A:$P-alerts'],
  aws_sns_topic_policy: ['sns:SetTopicAttributes', 'arn:aws:sns:$R:$A:$P-alerts'],
  aws_sns_topic_subscription: ['sns:Subscribe', 'arn:aws:sns:$R:$A:$P-alerts'],
  aws_sqs_queue: ['sqs:CreateQueue', 'arn:aws:sqs:$R:$A:$P-table-maintenance-dlq'],
  aws_sqs_queue_policy: ['sqs:SetQueueAttributes', 'arn:aws:sqs:$R:$A:$P-alerts-audit'],
};

describe('the deploy role covers the pipeline stack', () => {
  const dev = ENVIRONMENTS.find((config) => config.environment === 'dev');
  if (!dev) throw new Error('no dev environment');
  const types = Object.keys(synthPipeline(dev).resource);
  const policy = rolePolicy('devDeployPolicy');

  test('every resource type the stack declares has a known create call', () => {
    expect(types.filter((type) => !CREATE[type])).toEqual([]);
  });

  test.each(Object.entries(CREATE))('%s: the dev deploy role may create it', async (_, [action, pattern]) => {
    const resource = pattern
      .replaceAll('$P', dev.namePrefix)
      .replaceAll('$D', dev.namePrefix.replace(/-/g, '_'))
      .replaceAll('$A', ACCOUNT)
      .replaceAll('$R', REGION);
    // Calls that take no resource are granted only for resources tagged with the environment.
    const tags = { 'aws:RequestTag/project': PROJECT, 'aws:RequestTag/environment': dev.environment };
    // Roles are created and given policies only with the environment's boundary.
    const bounded: Record<string, string> = action.startsWith('iam:')
      ? { 'iam:PermissionsBoundary': boundaryArn(dev.environment) }
      : {};
    expect(await decide(policy, action, resource, resource === '*' ? tags : bounded)).toBe('Allowed');
  });

  test('no CI role holds a resource-less action on a named resource, where IAM would never grant it', async () => {
    const misplaced: string[] = [];
    for (const [name, holder] of Object.entries(resourcesOf(bootstrap, 'aws_iam_role_policy'))) {
      for (const statement of statementsOf(holder.policy)) {
        if (statement.Resource === '*') continue;
        for (const action of statement.Action) {
          const [service = '', operation = ''] = action.split(':');
          if (await isWildcardOnlyAction(service, operation)) misplaced.push(`${name}: ${action}`);
        }
      }
    }
    expect(misplaced).toEqual([]);
  });
});

describe('bootstrap stack', () => {
  test('creates the GitHub OIDC provider for the STS audience, without pinned thumbprints', () => {
    const [, provider] = resourceNamed(bootstrap, 'aws_iam_openid_connect_provider', 'githubProvider');
    expect(provider.url).toBe(`https://${GITHUB_OIDC_HOST}`);
    expect(provider.client_id_list).toEqual(['sts.amazonaws.com']);
  });

  test('looks the provider up instead when the account already has one', () => {
    const app = Testing.app();
    const stack = new BootstrapStack(app, 'bootstrap', {
      state: STATE,
      ci: { ...CI, oidcProvider: 'existing' },
      environments: ENVIRONMENTS,
      projectRoot: ROOT,
    });
    const json = JSON.parse(Testing.synth(stack)) as {
      resource: Record<string, unknown>;
      data: Record<string, Record<string, { url: string }>>;
    };
    expect(json.resource.aws_iam_openid_connect_provider).toBeUndefined();
    expect(Object.values(json.data.aws_iam_openid_connect_provider ?? {}).map((p) => p.url)).toEqual([
      `https://${GITHUB_OIDC_HOST}`,
    ]);
  });

  test('one plan role and one deploy role per environment, each with its output', () => {
    expect(Object.keys(resourcesOf(bootstrap, 'aws_iam_role'))).toHaveLength(1 + ENVIRONMENTS.length);
    for (const output of ['plan_role_arn', ...ENVIRONMENTS.map((e) => `deploy_role_arn_${e.environment}`)]) {
      expect(bootstrap.output[output]?.value).toMatch(/^\$\{aws_iam_role\..+\.arn\}$/);
    }
  });

  test('every CI role policy fits the 10,240-character limit of inline role policies', () => {
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (whitespace not counted)
    for (const [name, policy] of Object.entries(resourcesOf(bootstrap, 'aws_iam_role_policy'))) {
      const size = JSON.stringify(resolve(String(policy.policy))).length;
      expect({ name, fits: size <= 10_240 }).toEqual({ name, fits: true });
    }
  });

  test('the state key carries the alias the pipeline backends name', () => {
    expect(Object.values(resourcesOf(bootstrap, 'aws_kms_alias')).map((alias) => alias.name)).toEqual([
      STATE_KEY_ALIAS,
    ]);
  });

  test('runs only in the configured account', () => {
    expect(bootstrap.provider.aws[0]?.allowed_account_ids).toEqual([CI.accountId]);
  });

  test('keeps its local state at an absolute path in the repository root, outside cdktf.out', () => {
    const path = String((bootstrap.terraform.backend.local as { path: string }).path);
    expect(isAbsolute(path)).toBe(true);
    expect(path).toBe(join(ROOT, BOOTSTRAP_STATE_FILE));
  });

  test('refuses a relative project root', () => {
    expect(
      () =>
        new BootstrapStack(Testing.app(), 'bootstrap', {
          state: STATE,
          ci: CI,
          environments: ENVIRONMENTS,
          projectRoot: '.',
        }),
    ).toThrow(/projectRoot "\." must be absolute/);
  });
});

describe('configuration', () => {
  test('unset or empty state variables fall back to the defaults', () => {
    const defaults = { bucket: `${PROJECT}-tfstate`, region: 'eu-west-1', keyPrefix: PROJECT };
    expect(stateConfigFrom({})).toEqual(defaults);
    // GitHub renders an unset `vars.X` as an empty string.
    expect(stateConfigFrom({ TF_STATE_BUCKET: '', TF_STATE_REGION: '  ' })).toEqual(defaults);
    expect(stateConfigFrom({ TF_STATE_BUCKET: 'my-state-123', TF_STATE_REGION: 'us-east-2' })).toEqual({
      bucket: 'my-state-123',
      region: 'us-east-2',
      keyPrefix: PROJECT,
    });
  });

  test.each([
    [{ TF_STATE_BUCKET: 'Upper_Case' }, /TF_STATE_BUCKET="Upper_Case" is not a valid S3 bucket name/],
    [{ TF_STATE_BUCKET: 'ab' }, /TF_STATE_BUCKET="ab"/],
    [{ TF_STATE_REGION: 'europe' }, /TF_STATE_REGION="europe" is not an AWS region name/],
  ])('a malformed value fails with the variable name: %o', (env, message) => {
    expect(() => stateConfigFrom(env)).toThrow(message);
  });

  test.each([
    [{ repository: 'no-slash' }, /repository "no-slash" must be a GitHub "owner\/name"/],
    [{ accountId: '12345' }, /accountId "12345" must be 12 digits/],
  ])('a malformed CI setting fails clearly: %o', (change, message) => {
    expect(() => validateCiConfig({ ...CI, ...change })).toThrow(message);
  });
});
