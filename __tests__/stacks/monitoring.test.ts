import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COMPLETION_EVENT } from '../../workflow/definition';
import { environment, ROOT, ref, resourceNamed, resourcesOf, synthPipeline } from './synth';

const prod = environment('prod');
const json = synthPipeline(prod);
const [topicName, topic] = resourceNamed(json, 'aws_sns_topic', 'alertTopic');
const topicArn = ref('aws_sns_topic', topicName, 'arn');
const [checkName, check] = resourceNamed(json, 'aws_lambda_function', 'checkSummaryFunction');
const [notifyName, notify] = resourceNamed(json, 'aws_lambda_function', 'notifyFunction');

describe('alerting', () => {
  test.each([
    ['check-summary', check],
    ['notify', notify],
  ])(
    '%s: bundled handler, current runtime, its own role, dead-letter queue and retained log group',
    (name, fn) => {
      expect(existsSync(join(ROOT, 'handlers', name, 'index.ts'))).toBe(true);
      expect(fn.runtime).toBe('nodejs22.x');
      expect(fn.handler).toBe('index.handler');
      expect(String(fn.filename)).toMatch(/archive\.zip$/);
      const prefix = name === 'notify' ? 'notifyFunction' : 'checkSummaryFunction';
      const [queue] = resourceNamed(json, 'aws_sqs_queue', `${prefix}_deadLetterQueue`);
      expect(fn.dead_letter_config).toEqual({ target_arn: ref('aws_sqs_queue', queue, 'arn') });
      const [logGroup, group] = resourceNamed(json, 'aws_cloudwatch_log_group', prefix);
      expect(group.retention_in_days).toBe(prod.retention.logDays);
      expect((fn.logging_config as { log_group: string }).log_group).toBe(
        ref('aws_cloudwatch_log_group', logGroup, 'name'),
      );
      expect(fn.role).toBe(ref('aws_iam_role', resourceNamed(json, 'aws_iam_role', prefix)[0], 'arn'));
    },
  );

  test('check-summary gets the variables agreed with the handler, no secrets', () => {
    const variables = (check.environment as { variables: Record<string, string> }).variables;
    expect(Object.keys(variables).sort()).toEqual(
      [
        'ALERT_STATE_TABLE',
        'ALERT_TOPIC_ARN',
        'ATHENA_WORKGROUP',
        'GLUE_DATABASE',
        'POWERTOOLS_SERVICE_NAME',
        'TIMEZONE',
      ].sort(),
    );
    expect(variables.TIMEZONE).toBe(prod.timezone);
    expect(variables.ALERT_TOPIC_ARN).toBe(topicArn);
  });

  test('notify gets parameter names and its dead-letter queue URL, never a webhook URL', () => {
    const variables = (notify.environment as { variables: Record<string, string> }).variables;
    const [queue] = resourceNamed(json, 'aws_sqs_queue', 'notifyFunction_deadLetterQueue');
    expect(variables).toEqual({
      WEBHOOK_PARAMETER_NAMES: prod.webhookParameterNames.join(','),
      NOTIFY_DLQ_URL: ref('aws_sqs_queue', queue, 'url'),
      POWERTOOLS_SERVICE_NAME: 'notify',
    });
    expect(JSON.stringify(variables)).not.toMatch(/https?:/);
  });

  test('daily schedule in the contact center zone invokes check-summary with its own role', () => {
    const [, schedule] = resourceNamed(json, 'aws_scheduler_schedule', 'dailyCheckSchedule');
    expect(schedule.schedule_expression).toBe(prod.checkSchedule);
    expect(schedule.schedule_expression_timezone).toBe(prod.timezone);
    const target = schedule.target as { arn: string; role_arn: string; input: string };
    expect(target.arn).toBe(ref('aws_lambda_function', checkName, 'arn'));
    expect(JSON.parse(target.input)).toEqual({ check: 'daily' });
    expect(target.role_arn).toBe(
      ref('aws_iam_role', resourceNamed(json, 'aws_iam_role', 'schedulerRole')[0], 'arn'),
    );
  });

  test('the completion rule targets check-summary, which lets that rule invoke it', () => {
    const [ruleName, rule] = resourceNamed(json, 'aws_cloudwatch_event_rule', 'completionRule');
    expect(JSON.parse(String(rule.event_pattern))).toEqual({
      source: [COMPLETION_EVENT.source],
      'detail-type': [COMPLETION_EVENT.detailType],
    });
    const [, target] = resourceNamed(json, 'aws_cloudwatch_event_target', 'completionRuleTarget');
    expect(target.arn).toBe(ref('aws_lambda_function', checkName, 'arn'));
    const permissions = Object.values(resourcesOf(json, 'aws_lambda_permission'));
    expect(permissions).toContainEqual(
      expect.objectContaining({
        principal: 'events.amazonaws.com',
        source_arn: ref('aws_cloudwatch_event_rule', ruleName, 'arn'),
      }),
    );
  });

  test('the topic is KMS-encrypted and fans out to notify, email and the audit queue', () => {
    expect(topic.kms_master_key_id).toBe(
      ref('aws_kms_key', resourceNamed(json, 'aws_kms_key', 'dataKey')[0], 'arn'),
    );
    const subscriptions = Object.values(resourcesOf(json, 'aws_sns_topic_subscription'));
    expect(subscriptions.every((s) => s.topic_arn === topicArn)).toBe(true);
    const [auditQueue] = resourceNamed(json, 'aws_sqs_queue', 'auditQueue');
    expect(subscriptions.map((s) => [s.protocol, s.endpoint])).toEqual(
      expect.arrayContaining([
        ['lambda', ref('aws_lambda_function', notifyName, 'arn')],
        ['email', prod.alertEmail],
        ['sqs', ref('aws_sqs_queue', auditQueue, 'arn')],
      ]),
    );
    expect(Object.values(resourcesOf(json, 'aws_lambda_permission'))).toContainEqual(
      expect.objectContaining({ principal: 'sns.amazonaws.com', source_arn: topicArn }),
    );
  });

  test('alert state: window_key table, KMS-encrypted, point-in-time recovery', () => {
    const [, table] = resourceNamed(json, 'aws_dynamodb_table', 'alertStateTable');
    expect(table.hash_key).toBe('window_key');
    expect(table.attribute).toEqual([{ name: 'window_key', type: 'S' }]);
    expect(table.server_side_encryption).toEqual(expect.objectContaining({ enabled: true }));
    expect(table.point_in_time_recovery).toEqual({ enabled: true });
  });

  test('alarms on Lambda errors and failed executions publish to the topic', () => {
    const alarms = Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm'));
    expect(alarms.every((alarm) => JSON.stringify(alarm.alarm_actions) === JSON.stringify([topicArn]))).toBe(
      true,
    );
    const watched = alarms.map((alarm) => [alarm.metric_name, alarm.dimensions]);
    const [machine] = resourceNamed(json, 'aws_sfn_state_machine', 'stateMachine');
    expect(watched).toEqual(
      expect.arrayContaining([
        ['Errors', { FunctionName: ref('aws_lambda_function', checkName, 'function_name') }],
        ['Errors', { FunctionName: ref('aws_lambda_function', notifyName, 'function_name') }],
        ['ExecutionsFailed', { StateMachineArn: ref('aws_sfn_state_machine', machine, 'arn') }],
      ]),
    );
  });

  test('the run-failed Lambda alarms on its errors and on its dead letters, to the topic', () => {
    const [runFailed] = resourceNamed(json, 'aws_lambda_function', 'runFailed_function');
    const [dlq] = resourceNamed(json, 'aws_sqs_queue', 'runFailed_function_deadLetterQueue');
    const alarms = Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm'));
    const errors = alarms.find(
      (alarm) =>
        alarm.metric_name === 'Errors' &&
        JSON.stringify(alarm.dimensions) ===
          JSON.stringify({ FunctionName: ref('aws_lambda_function', runFailed, 'function_name') }),
    );
    const deadLetters = alarms.find(
      (alarm) =>
        alarm.metric_name === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(alarm.dimensions) === JSON.stringify({ QueueName: ref('aws_sqs_queue', dlq, 'name') }),
    );
    for (const alarm of [errors, deadLetters]) {
      expect(alarm).toEqual(
        expect.objectContaining({
          threshold: 0,
          comparison_operator: 'GreaterThanThreshold',
          alarm_actions: [topicArn],
        }),
      );
    }
  });
});
