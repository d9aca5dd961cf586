import validateAsl from 'asl-validator';
import { OLDEST_PENDING_ALARM_SECONDS, SWEEP_SCHEDULE } from '../../stacks/constructs/serialization';
import {
  CHILD_OVERHEAD_SECONDS,
  DRAIN_RESOURCES,
  DRAIN_STATES,
  SQS_MAX_VISIBILITY_SECONDS,
  visibilityTimeoutSeconds,
} from '../../workflow/drain-definition';
import {
  bySid,
  environment,
  ref,
  resourceNamed,
  resourcesOfStatement,
  type Statement,
  statementsOf,
  synthPipeline,
} from './synth';

const dev = environment('dev');
const json = synthPipeline(dev);

const [queueName, queue] = resourceNamed(json, 'aws_sqs_queue', 'serialization_pendingQueue');
const [dlqName, dlq] = resourceNamed(json, 'aws_sqs_queue', 'serialization_pendingDeadLetterQueue');
const [tableName, table] = resourceNamed(json, 'aws_dynamodb_table', 'serialization_lockTable');
const [drainName, drain] = resourceNamed(json, 'aws_sfn_state_machine', 'serialization_drain');
const [pipelineName] = resourceNamed(json, 'aws_sfn_state_machine', 'orchestration_stateMachine');
const [keyName] = resourceNamed(json, 'aws_kms_key', 'dataKey');
const keyArn = ref('aws_kms_key', keyName, 'arn');
const queueArn = ref('aws_sqs_queue', queueName, 'arn');
const drainArn = ref('aws_sfn_state_machine', drainName, 'arn');
const pipelineArn = ref('aws_sfn_state_machine', pipelineName, 'arn');
const [runFailedName] = resourceNamed(json, 'aws_lambda_function', 'runFailed_function');
const runFailedArn = ref('aws_lambda_function', runFailedName, 'arn');

type State = Record<string, unknown> & { Type: string; Resource?: string };
const definitionText = String(drain.definition);
/** The definition with its Terraform references replaced by sample values of the right shape. */
const definition = JSON.parse(
  definitionText
    .replace(ref('aws_sqs_queue', queueName, 'url'), 'https://sqs.eu-west-1.amazonaws.com/123456789012/q')
    .replace(ref('aws_dynamodb_table', tableName, 'name'), 'lock-table')
    .replace(pipelineArn, 'arn:aws:states:eu-west-1:123456789012:stateMachine:pipeline'),
) as { States: Record<string, State> };

const drainPolicy = statementsOf(
  resourceNamed(json, 'aws_iam_role_policy', 'serialization_drainRole')[1].policy,
);

describe('the drain state machine', () => {
  test('is valid Amazon States Language, with ARNs and paths checked', () => {
    const result = validateAsl(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('calls exactly the synthesized queue, lock table, pipeline state machine, run-failed Lambda and maintenance resources', () => {
    const references = new Set(definitionText.match(/\$\{[^}]+\}/g));
    expect([...references].sort()).toEqual(
      [
        ref('aws_sqs_queue', queueName, 'url'),
        ref('aws_dynamodb_table', tableName, 'name'),
        pipelineArn,
        ref('aws_sfn_state_machine', pipelineName, 'name'),
        runFailedArn,
        // Maintenance statements: the workgroup, the database, and the topic a failure is reported on.
        ref('aws_athena_workgroup', resourceNamed(json, 'aws_athena_workgroup', 'workgroup')[0], 'name'),
        ref(
          'aws_glue_catalog_database',
          resourceNamed(json, 'aws_glue_catalog_database', 'database')[0],
          'name',
        ),
        ref('aws_sns_topic', resourceNamed(json, 'aws_sns_topic', 'alertTopic')[0], 'arn'),
        ...[...references].filter((reference) => reference.startsWith('${data.aws_')),
      ].sort(),
    );
    const child = definition.States[DRAIN_STATES.runPipeline];
    expect(child?.Resource).toBe(DRAIN_RESOURCES.startExecutionSync);
    expect(definition.States[DRAIN_STATES.receive]?.Parameters).toEqual(
      expect.objectContaining({ MaxNumberOfMessages: 1 }),
    );
    for (const state of [DRAIN_STATES.undoChild, DRAIN_STATES.recordNotStarted]) {
      expect(definition.States[state]?.Parameters).toEqual(
        expect.objectContaining({ FunctionName: runFailedArn }),
      );
    }
    expect(String(JSON.stringify(definition.States[DRAIN_STATES.describeChild]?.Parameters))).toContain(
      `:execution:${ref('aws_sfn_state_machine', pipelineName, 'name')}:{}`,
    );
  });

  test('is a Standard workflow with logs and tracing, under its own role', () => {
    expect(drain.type).toBe('STANDARD');
    const [logGroup] = resourceNamed(json, 'aws_cloudwatch_log_group', 'serialization_drainLogGroup');
    expect(drain.logging_configuration).toEqual(
      expect.objectContaining({
        log_destination: `${ref('aws_cloudwatch_log_group', logGroup, 'arn')}:*`,
        level: 'ALL',
      }),
    );
    expect(drain.tracing_configuration).toEqual({ enabled: true });
    const [role] = resourceNamed(json, 'aws_iam_role', 'serialization_drainRole');
    expect(drain.role_arn).toBe(ref('aws_iam_role', role, 'arn'));
  });
});

describe('the drain role', () => {
  const sids = bySid(drainPolicy);

  test('names no wildcard action; `*` resources only for log delivery and tracing', () => {
    expect(
      drainPolicy.flatMap((statement) => statement.Action).filter((action) => action.includes('*')),
    ).toEqual([]);
    const starred = drainPolicy.filter((statement) => resourcesOfStatement(statement).includes('*'));
    expect(starred.map((statement) => statement.Sid).sort()).toEqual(['DeliverLogs', 'Tracing']);
  });

  test('may touch only the lock item, only this queue, and run only the pipeline (with what .sync needs)', () => {
    expect(sids.LockItem).toEqual(
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Resource: [ref('aws_dynamodb_table', tableName, 'arn')],
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['pipeline'] } },
      }),
    );
    expect(sids.PendingObjects).toEqual(
      expect.objectContaining({
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: [queueArn],
      }),
    );
    expect(sids.RunPipeline?.Resource).toEqual([pipelineArn]);
    expect(sids.FollowPipelineRuns?.Action).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(resourcesOfStatement(sids.FollowPipelineRuns as Statement)).toEqual([
      expect.stringMatching(
        new RegExp(`:execution:\\$\\{aws_sfn_state_machine\\.${pipelineName}\\.name\\}:\\*$`),
      ),
    ]);
    expect(resourcesOfStatement(sids.SyncCompletionRule as Statement)).toEqual([
      expect.stringMatching(/:rule\/StepFunctionsGetEventsForStepFunctionsExecutionRule$/),
    ]);
    expect(resourcesOfStatement(sids.DescribeLockHolder as Statement)).toEqual([
      expect.stringMatching(new RegExp(`:execution:${dev.namePrefix}-drain:\\*$`)),
    ]);
    expect(sids.RecordAndRepairChildren).toEqual(
      expect.objectContaining({ Action: ['lambda:InvokeFunction'], Resource: [runFailedArn] }),
    );
    expect(resourcesOfStatement(sids.StartSuccessor as Statement)).toEqual([
      expect.stringMatching(new RegExp(`:stateMachine:${dev.namePrefix}-drain$`)),
    ]);
    expect(drain.name).toBe(`${dev.namePrefix}-drain`);
    expect(sids.UseProjectKey).toEqual(
      expect.objectContaining({ Action: ['kms:Decrypt'], Resource: [keyArn] }),
    );
    const statesActions = drainPolicy
      .flatMap((statement) => statement.Action)
      .filter((a) => a.startsWith('states:'));
    expect(statesActions.sort()).toEqual(
      [
        'states:DescribeExecution',
        'states:DescribeExecution',
        'states:StartExecution',
        'states:StartExecution',
        'states:StopExecution',
      ].sort(),
    );
  });
});

describe('the bronze rule feeds the queue and starts drains', () => {
  const [ruleName] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'bronzeRule');
  const [, pending] = resourceNamed(json, 'aws_cloudwatch_event_target', 'bronzeRulePendingTarget');
  const [, drainTarget] = resourceNamed(json, 'aws_cloudwatch_event_target', 'bronzeRuleDrainTarget');
  const [bronzeDlq] = resourceNamed(json, 'aws_sqs_queue', 'bronzeRuleDeadLetterQueue');

  test('the object goes to the queue as {bucket, key, etag}; a drain starts with empty input', () => {
    for (const target of [pending, drainTarget]) {
      expect(target.rule).toBe(ref('aws_cloudwatch_event_rule', ruleName, 'name'));
      expect(target.dead_letter_config).toEqual({ arn: ref('aws_sqs_queue', bronzeDlq, 'arn') });
    }
    expect(pending.arn).toBe(queueArn);
    const transformer = pending.input_transformer as {
      input_paths: Record<string, string>;
      input_template: string;
    };
    expect(transformer.input_paths).toEqual({
      bucket: '$.detail.bucket.name',
      key: '$.detail.object.key',
      etag: '$.detail.object.etag',
    });
    const rendered = transformer.input_template
      .replace('<bucket>', '"bronze"')
      .replace('<key>', '"in/a \\"b\\".csv"')
      .replace('<etag>', '"\\"9b2cf535f27731c974343645a3985328\\""');
    expect(JSON.parse(rendered)).toEqual({
      bucket: 'bronze',
      key: 'in/a "b".csv',
      etag: '"9b2cf535f27731c974343645a3985328"',
    });
    expect(drainTarget.arn).toBe(drainArn);
    expect(drainTarget.input).toBe('{}');
  });

  test('no target starts the pipeline directly; the rule role may start drains only', () => {
    const targets = Object.values(json.resource.aws_cloudwatch_event_target ?? {});
    expect(targets.map((target) => target.arn)).not.toContain(pipelineArn);
    const [, policy] = resourceNamed(json, 'aws_iam_role_policy', 'bronzeRuleRole');
    expect(statementsOf(policy.policy)).toEqual([
      expect.objectContaining({ Action: ['states:StartExecution'], Resource: [drainArn] }),
    ]);
  });

  test('a sweep schedule starts a drain every 15 minutes with its own role', () => {
    const [, schedule] = resourceNamed(json, 'aws_scheduler_schedule', 'serialization_sweepSchedule');
    expect(schedule.schedule_expression).toBe(SWEEP_SCHEDULE);
    const target = schedule.target as { arn: string; role_arn: string; input: string };
    expect(target.arn).toBe(drainArn);
    expect(target.input).toBe('{}');
    const [, policy] = resourceNamed(json, 'aws_iam_role_policy', 'serialization_sweepRole');
    expect(statementsOf(policy.policy)).toEqual([
      expect.objectContaining({ Action: ['states:StartExecution'], Resource: [drainArn] }),
    ]);
  });
});

describe('queue and lock table', () => {
  test('both queues are encrypted with the project key and refuse plain HTTP; the queue accepts only the bronze rule', () => {
    for (const [name, resource] of [
      [queueName, queue],
      [dlqName, dlq],
    ] as const) {
      expect(resource.kms_master_key_id).toBe(keyArn);
      const [, policy] = resourceNamed(
        json,
        'aws_sqs_queue_policy',
        name === queueName
          ? 'serialization_pendingQueuePolicy'
          : 'serialization_pendingDeadLetterQueuePolicy',
      );
      expect(policy.queue_url).toBe(ref('aws_sqs_queue', name, 'url'));
      expect(statementsOf(policy.policy)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Condition: { Bool: { 'aws:SecureTransport': false } },
          Resource: [ref('aws_sqs_queue', name, 'arn')],
        }),
      );
    }
    const [, policy] = resourceNamed(json, 'aws_sqs_queue_policy', 'serialization_pendingQueuePolicy');
    const [ruleName] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'bronzeRule');
    expect(statementsOf(policy.policy)).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['sqs:SendMessage'],
        Condition: { ArnEquals: { 'aws:SourceArn': ref('aws_cloudwatch_event_rule', ruleName, 'arn') } },
      }),
    );
    // EventBridge encrypts what it sends with the project key, so the key policy lets it.
    const keyPolicy = statementsOf(resourceNamed(json, 'aws_kms_key', 'dataKey')[1].policy);
    expect(keyPolicy).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      }),
    );
  });

  test('a dead drain hides one object for one child timeout, and a message whose drain died 3 times is kept aside', () => {
    const childTimeout = 3600 + CHILD_OVERHEAD_SECONDS;
    expect(queue.visibility_timeout_seconds).toBe(childTimeout);
    expect(definition.States[DRAIN_STATES.runPipeline]?.TimeoutSeconds).toBe(childTimeout);
    expect(definition.States[DRAIN_STATES.receive]?.Parameters).toEqual(
      expect.objectContaining({ MaxNumberOfMessages: 1, VisibilityTimeout: childTimeout }),
    );
    expect(Number(queue.visibility_timeout_seconds)).toBeLessThanOrEqual(SQS_MAX_VISIBILITY_SECONDS);
    expect(JSON.parse(String(queue.redrive_policy))).toEqual({
      deadLetterTargetArn: ref('aws_sqs_queue', dlqName, 'arn'),
      maxReceiveCount: 3,
    });
    const [, alarm] = resourceNamed(
      json,
      'aws_cloudwatch_metric_alarm',
      'serialization_pendingDeadLettersAlarm',
    );
    expect(alarm.dimensions).toEqual({ QueueName: ref('aws_sqs_queue', dlqName, 'name') });
    const [topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
    expect(alarm.alarm_actions).toEqual([ref('aws_sns_topic', topic, 'arn')]);
  });

  test('alarms to the alert topic: drain executions failed or aborted, dead letters, and the age of the oldest pending object', () => {
    const [topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
    const topicArn = ref('aws_sns_topic', topic, 'arn');
    const alarmOf = (id: string) =>
      resourceNamed(json, 'aws_cloudwatch_metric_alarm', `serialization_${id}`)[1];
    for (const [id, metric] of [
      ['drainFailedAlarm', 'ExecutionsFailed'],
      ['drainAbortedAlarm', 'ExecutionsAborted'],
    ] as const) {
      expect(alarmOf(id)).toEqual(
        expect.objectContaining({
          namespace: 'AWS/States',
          metric_name: metric,
          dimensions: { StateMachineArn: drainArn },
          threshold: 0,
          comparison_operator: 'GreaterThanThreshold',
          alarm_actions: [topicArn],
        }),
      );
    }
    expect(alarmOf('pendingOldestMessageAlarm')).toEqual(
      expect.objectContaining({
        namespace: 'AWS/SQS',
        metric_name: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: ref('aws_sqs_queue', queueName, 'name') },
        threshold: OLDEST_PENDING_ALARM_SECONDS,
        alarm_actions: [topicArn],
      }),
    );
    // Raised well before SQS drops a message unseen (14 days).
    expect(OLDEST_PENDING_ALARM_SECONDS).toBeLessThan(Number(queue.message_retention_seconds) / 2);
    expect(alarmOf('pendingDeadLettersAlarm')).toEqual(
      expect.objectContaining({ threshold: 0, alarm_actions: [topicArn] }),
    );
  });

  test('a run that SQS could not hide long enough is refused at synth', () => {
    expect(() => visibilityTimeoutSeconds(43_200)).toThrow(/at most 43200 s/);
  });

  test('the lock table: on demand, keyed by lock_id, KMS-encrypted with the project key, point-in-time recovery', () => {
    expect(table).toEqual(
      expect.objectContaining({
        billing_mode: 'PAY_PER_REQUEST',
        hash_key: 'lock_id',
        attribute: [{ name: 'lock_id', type: 'S' }],
        server_side_encryption: { enabled: true, kms_key_arn: keyArn },
        point_in_time_recovery: { enabled: true },
      }),
    );
  });

  test('outputs for the CLI: queue URL, drain state machine ARN, lock table name', () => {
    expect(json.output.pending_queue_url?.value).toBe(ref('aws_sqs_queue', queueName, 'url'));
    expect(json.output.drain_state_machine_arn?.value).toBe(drainArn);
    expect(json.output.lock_table_name?.value).toBe(ref('aws_dynamodb_table', tableName, 'name'));
  });
});
