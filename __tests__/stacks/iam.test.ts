import {
  bySid,
  environment,
  ref,
  resourceNamed,
  resourcesOf,
  resourcesOfStatement,
  type Statement,
  statementsOf,
  synthBootstrap,
  synthPipeline,
  type TerraformJson,
} from './synth';

const dev = environment('dev');
const json = synthPipeline(dev);
const bootstrap = synthBootstrap();

/**
 * Actions AWS only grants on `*`: X-Ray tracing, CloudWatch Logs vended delivery (Step Functions
 * logging), and for the CI roles, creating a KMS key or a crawler (the deploy role may only create
 * tagged ones), listing aliases and validating a state machine definition.
 */
const STAR_RESOURCE_ACTIONS = new Set([
  'kms:CreateKey',
  'states:ValidateStateMachineDefinition',
  'glue:CreateCrawler',
  'kms:ListAliases',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** Every policy document in a stack, labelled by the resource that holds it. */
function policies(stack: TerraformJson): { holder: string; statements: Statement[] }[] {
  const holders: [string, string][] = [
    ['aws_iam_role_policy', 'policy'],
    ['aws_iam_role', 'assume_role_policy'],
    ['aws_s3_bucket_policy', 'policy'],
    ['aws_sqs_queue_policy', 'policy'],
    ['aws_sns_topic_policy', 'policy'],
    ['aws_kms_key', 'policy'],
    ['aws_iam_policy', 'policy'],
  ];
  return holders.flatMap(([type, attribute]) =>
    Object.entries(stack.resource[type] ?? {}).map(([name, resource]) => ({
      holder: `${type}.${name}`,
      statements: statementsOf(resource[attribute]),
    })),
  );
}

const allowed = (stack: TerraformJson) =>
  policies(stack).flatMap(({ holder, statements }) =>
    statements.filter((s) => s.Effect === 'Allow').map((statement) => ({ holder, statement })),
  );

/** The inline policy of the role whose Terraform name contains `fragment`. */
const rolePolicy = (fragment: string) =>
  statementsOf(resourceNamed(json, 'aws_iam_role_policy', fragment)[1].policy);

describe.each([
  ['pipeline', json],
  ['bootstrap', bootstrap],
])('%s stack policies', (_, stack) => {
  test('no statement allows a wildcard action', () => {
    const offenders = allowed(stack).filter(({ statement }) =>
      statement.Action.some((action) => action.includes('*')),
    );
    expect(offenders).toEqual([]);
  });

  test('`*` resources only for X-Ray and log delivery, or in a key policy (where `*` means the key itself)', () => {
    const offenders = allowed(stack).filter(
      ({ holder, statement }) =>
        resourcesOfStatement(statement).includes('*') &&
        !holder.startsWith('aws_kms_key.') &&
        // A permissions boundary caps actions only; each role's own policy scopes the resources.
        !holder.startsWith('aws_iam_policy.ci_') &&
        !statement.Action.every((action) => STAR_RESOURCE_ACTIONS.has(action)),
    );
    expect(offenders).toEqual([]);
  });

  test('every bucket blocks public access, encrypts with the KMS key and refuses plain HTTP', () => {
    const buckets = Object.keys(resourcesOf(stack, 'aws_s3_bucket'));
    const key = ref('aws_kms_key', Object.keys(resourcesOf(stack, 'aws_kms_key'))[0] ?? '', 'arn');
    for (const bucket of buckets) {
      const id = ref('aws_s3_bucket', bucket, 'id');
      const arn = ref('aws_s3_bucket', bucket, 'arn');
      const block = Object.values(resourcesOf(stack, 'aws_s3_bucket_public_access_block')).find(
        (b) => b.bucket === id,
      );
      expect(block).toEqual(
        expect.objectContaining({
          block_public_acls: true,
          block_public_policy: true,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
      );
      const encryption = Object.values(
        resourcesOf(stack, 'aws_s3_bucket_server_side_encryption_configuration'),
      ).find((e) => e.bucket === id);
      expect(encryption?.rule).toEqual([
        {
          apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: key },
          bucket_key_enabled: true,
        },
      ]);
      const policy = Object.values(resourcesOf(stack, 'aws_s3_bucket_policy')).find((p) => p.bucket === id);
      expect(statementsOf(policy?.policy)).toContainEqual({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': false } },
      });
    }
  });
});

describe('least privilege per component', () => {
  test('one role per component, each with one inline policy and trusted by one service', () => {
    const roles = resourcesOf(json, 'aws_iam_role');
    const trusted = Object.values(roles).map((role) => statementsOf(role.assume_role_policy)[0]?.Principal);
    expect(trusted.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        'events.amazonaws.com',
        'glue.amazonaws.com',
        'glue.amazonaws.com',
        'lambda.amazonaws.com',
        'lambda.amazonaws.com',
        'lambda.amazonaws.com',
        'scheduler.amazonaws.com',
        'scheduler.amazonaws.com',
        'scheduler.amazonaws.com',
        'states.amazonaws.com',
        'states.amazonaws.com',
      ].map((service) => ({ Service: service })),
    );
    expect(Object.keys(resourcesOf(json, 'aws_iam_role_policy'))).toHaveLength(Object.keys(roles).length);
    expect(json.resource.aws_iam_role_policy_attachment).toBeUndefined();
  });

  test('the check-summary role may query its workgroup, read gold, use its table and publish, nothing else', () => {
    const statements = rolePolicy('checkSummaryFunction');
    const [workgroup] = resourceNamed(json, 'aws_athena_workgroup', 'workgroup');
    const [table] = resourceNamed(json, 'aws_dynamodb_table', 'alertStateTable');
    const [topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
    const sids = bySid(statements);
    expect(Object.keys(sids).sort()).toEqual(
      [
        'AlertState',
        'DeadLetters',
        'ListGold',
        'LocateBuckets',
        'PublishAlerts',
        'ReadGold',
        'ReadGoldCatalog',
        'RunCoverageQueries',
        'Tracing',
        'UseLakeKey',
        'WriteLogs',
        'WriteQueryResults',
      ].sort(),
    );
    expect(sids.RunCoverageQueries?.Resource).toEqual([ref('aws_athena_workgroup', workgroup, 'arn')]);
    expect(sids.AlertState).toEqual(
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: [ref('aws_dynamodb_table', table, 'arn')],
      }),
    );
    expect(sids.PublishAlerts?.Resource).toEqual([ref('aws_sns_topic', topic, 'arn')]);
    expect(sids.ReadGoldCatalog?.Action.every((action) => action.startsWith('glue:Get'))).toBe(true);
    expect(
      resourcesOfStatement(sids.ReadGoldCatalog as Statement).filter((r) => r.includes(':table/')),
    ).toEqual([
      expect.stringMatching(/:table\/\$\{.+\}\/agent_intervals$/),
      expect.stringMatching(/:table\/\$\{.+\}\/pipeline_runs$/),
    ]);
    const gold = resourceNamed(json, 'aws_s3_bucket', 'goldBucket')[0];
    expect(sids.ReadGold?.Resource).toEqual([
      `${ref('aws_s3_bucket', gold, 'arn')}/gold/agent_intervals/*`,
      `${ref('aws_s3_bucket', gold, 'arn')}/ops/pipeline_runs/*`,
    ]);
    expect(
      statements
        .flatMap((s) => s.Action)
        .filter((a) => /^(s3:(Put|Delete)|glue:(Update|Create|Delete))/.test(a)),
    ).toEqual(['s3:PutObject']);
    expect(sids.WriteQueryResults?.Resource).toEqual([
      `${ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', 'athenaResultsBucket')[0], 'arn')}/athena/*`,
    ]);
  });

  test('the notify role reads exactly the configured webhook parameters and decrypts only through SSM', () => {
    const statements = rolePolicy('notifyFunction');
    const read = statements.find((s) => s.Sid === 'ReadWebhookParameters');
    expect(read?.Action).toEqual(['ssm:GetParameters']);
    expect(read?.Resource).toEqual(
      dev.webhookParameterNames.map((name) => expect.stringMatching(new RegExp(`:ssm:.+:parameter${name}$`))),
    );
    const decrypt = statements.find((s) => s.Sid === 'DecryptWebhookParameters');
    expect(decrypt?.Condition?.StringEquals?.['kms:ViaService']).toMatch(/^ssm\./);
    expect(
      statements.flatMap((s) => s.Action).filter((a) => /^(athena|glue|s3|dynamodb|sns):/.test(a)),
    ).toEqual([]);
  });

  test('the load job reads bronze and writes only its silver prefixes', () => {
    const statements = rolePolicy('loadJob');
    const silver = ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', 'silverBucket')[0], 'arn');
    const writes = statements.filter((s) => s.Action.includes('s3:PutObject'));
    expect(writes.flatMap(resourcesOfStatement)).toEqual(
      ['agent_events*', 'rejected_rows*', 'event_extents*', 'loaded_days*', '_staging*', '_manifests*'].map(
        (p) => `${silver}/${p}`,
      ),
    );
    expect(statements.flatMap((s) => s.Action).some((a) => a.startsWith('glue:'))).toBe(false);
  });

  test('no role that deletes gold files may delete the Iceberg metadata files Terraform wrote', () => {
    const gold = ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', 'goldBucket')[0], 'arn');
    const seeds = Object.values(resourcesOf(json, 'aws_s3_object'))
      .map((object) => String(object.key))
      .filter((key) => /\/metadata\/00000-/.test(key))
      .map((key) => `${gold}/${key}`)
      .sort();
    expect(seeds).toHaveLength(3);
    const deleters = Object.entries(resourcesOf(json, 'aws_iam_role_policy')).filter(([, holder]) =>
      statementsOf(holder.policy).some(
        (statement) =>
          statement.Effect === 'Allow' &&
          statement.Action.includes('s3:DeleteObject') &&
          resourcesOfStatement(statement).some((resource) => resource.startsWith(gold)),
      ),
    );
    // The pipeline's state machine, run-failed (the undo MERGEs) and the drain (OPTIMIZE, VACUUM).
    expect(deleters.map(([name]) => name.split('_')[0])).toEqual(
      expect.arrayContaining(['orchestration', 'runFailed', 'serialization']),
    );
    for (const [name, holder] of deleters) {
      const found = bySid(statementsOf(holder.policy)).KeepTableSeeds;
      const keep = found && { ...found, Resource: resourcesOfStatement(found).sort() };
      expect({ name, keep }).toEqual({
        name,
        keep: { Sid: 'KeepTableSeeds', Effect: 'Deny', Action: ['s3:DeleteObject'], Resource: seeds },
      });
    }
  });

  test('the state machine may run its job and queries, write gold and emit to its bus only', () => {
    const statements = rolePolicy('orchestration_role');
    const sids = bySid(statements);
    const [job] = resourceNamed(json, 'aws_glue_job', 'loadJob');
    const [bus] = resourceNamed(json, 'aws_cloudwatch_event_bus', 'eventBus');
    expect(sids.RunLoadJob?.Resource).toEqual([ref('aws_glue_job', job, 'arn')]);
    expect(sids.EmitCompletion?.Resource).toEqual([ref('aws_cloudwatch_event_bus', bus, 'arn')]);
    const gold = ref('aws_s3_bucket', resourceNamed(json, 'aws_s3_bucket', 'goldBucket')[0], 'arn');
    expect(resourcesOfStatement(sids.WriteGold as Statement).every((r) => r.startsWith(`${gold}/`))).toBe(
      true,
    );
  });
});
