import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import type { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import { COMPLETION_EVENT } from '../../workflow/definition';
import { AGENT_INTERVALS, PIPELINE_RUNS } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { tablePrefix } from './catalog';
import { ATHENA_QUERY_ACTIONS, ruleSendsToQueue, ServiceRole } from './iam';
import { NodeFunction } from './node-function';
import type { Notifications } from './notifications';
import type { Orchestration } from './orchestration';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage';

/** Tables the coverage queries (sql/coverage/) read. */
const CHECKED_TABLES = [AGENT_INTERVALS, PIPELINE_RUNS];

export interface MonitoringProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly orchestration: Orchestration;
  readonly notifications: Notifications;
  readonly workgroupName: string;
  readonly workgroupArn: string;
  readonly databaseName: string;
  readonly checkSummaryEntry: string;
  /** The run-failed Lambda: its errors and dead letters alarm too. */
  readonly runFailedFunction: NodeFunction;
  readonly bundleRoot: string;
}

/**
 * The 48-interval coverage check: the check-summary Lambda, run daily by EventBridge Scheduler (in
 * the contact center's zone) and after each pipeline run; its alert-state table; and CloudWatch
 * alarms on Lambda errors, failed executions and dead letters, all publishing to the alert topic.
 */
export class Monitoring extends Construct {
  readonly checkSummaryFunction: NodeFunction;
  readonly alertStateTable: DynamodbTable;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, context, storage, orchestration, notifications } = props;
    const database = props.databaseName;

    this.alertStateTable = new DynamodbTable(this, 'alertStateTable', {
      name: `${config.namePrefix}-alert-state`,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'window_key',
      attribute: [{ name: 'window_key', type: 'S' }],
      serverSideEncryption: { enabled: true, kmsKeyArn: storage.key.arn },
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: config.protectData,
    });

    this.checkSummaryFunction = new NodeFunction(this, 'checkSummaryFunction', {
      functionName: `${config.namePrefix}-check-summary`,
      description: 'Checks that the last 24 hours have all 48 intervals; alerts through the topic',
      entry: props.checkSummaryEntry,
      bundleRoot: props.bundleRoot,
      logRetentionDays: config.retention.logDays,
      // Athena queries are polled to completion inside the invocation.
      timeoutSeconds: 300,
      environment: {
        ATHENA_WORKGROUP: props.workgroupName,
        GLUE_DATABASE: database,
        ALERT_TOPIC_ARN: notifications.topic.arn,
        ALERT_STATE_TABLE: this.alertStateTable.name,
        TIMEZONE: config.timezone,
        ...(config.operatingSchedule ? { OPERATING_SCHEDULE: config.operatingSchedule } : {}),
        POWERTOOLS_SERVICE_NAME: 'check-summary',
      },
      statements: [
        {
          Sid: 'RunCoverageQueries',
          Action: [...ATHENA_QUERY_ACTIONS],
          Resource: [props.workgroupArn],
        },
        {
          Sid: 'ReadGoldCatalog',
          Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
          Resource: [
            context.arn('glue', 'catalog'),
            context.arn('glue', `database/${database}`),
            ...CHECKED_TABLES.map((table) => context.arn('glue', `table/${database}/${table.name}`)),
          ],
        },
        {
          Sid: 'ListGold',
          Action: ['s3:ListBucket'],
          Resource: [storage.gold.arn],
          Condition: {
            StringLike: { 's3:prefix': CHECKED_TABLES.map((table) => `${tablePrefix(table)}/*`) },
          },
        },
        {
          Sid: 'ReadGold',
          Action: ['s3:GetObject'],
          Resource: CHECKED_TABLES.map((table) => storage.gold.objectsArn(tablePrefix(table))),
        },
        {
          Sid: 'LocateBuckets',
          Action: ['s3:GetBucketLocation'],
          Resource: [storage.gold.arn, storage.athenaResults.arn],
        },
        {
          Sid: 'WriteQueryResults',
          Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          Resource: [storage.athenaResults.objectsArn(ATHENA_RESULTS_PREFIX)],
        },
        { Sid: 'UseLakeKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [storage.key.arn] },
        {
          Sid: 'AlertState',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: [this.alertStateTable.arn],
        },
        { Sid: 'PublishAlerts', Action: ['sns:Publish'], Resource: [notifications.topic.arn] },
      ],
    });
    const check = this.checkSummaryFunction;

    const schedulerRole = new ServiceRole(this, 'schedulerRole', {
      name: `${config.namePrefix}-daily-check`,
      description: 'EventBridge Scheduler: invokes the daily coverage check',
      service: 'scheduler.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        { Sid: 'InvokeCheck', Action: ['lambda:InvokeFunction'], Resource: [check.arn] },
        { Sid: 'DeadLetters', Action: ['sqs:SendMessage'], Resource: [check.deadLetterQueue.arn] },
      ],
    });
    new SchedulerSchedule(this, 'dailyCheckSchedule', {
      name: `${config.namePrefix}-daily-check`,
      description: 'Daily 48-interval coverage check of the previous day, after the load SLA',
      scheduleExpression: config.checkSchedule,
      scheduleExpressionTimezone: config.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: check.arn,
        roleArn: schedulerRole.arn,
        input: JSON.stringify({ check: 'daily' }),
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
        deadLetterConfig: { arn: check.deadLetterQueue.arn },
      },
    });

    const completionRule = new CloudwatchEventRule(this, 'completionRule', {
      name: `${config.namePrefix}-run-completed`,
      description: 'Each finished pipeline run triggers a coverage check of the days it touched',
      eventBusName: orchestration.eventBus.name,
      eventPattern: JSON.stringify({
        source: [COMPLETION_EVENT.source],
        'detail-type': [COMPLETION_EVENT.detailType],
      }),
    });
    new CloudwatchEventTarget(this, 'completionRuleTarget', {
      rule: completionRule.name,
      eventBusName: orchestration.eventBus.name,
      targetId: 'check-summary',
      arn: check.arn,
      retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 },
      deadLetterConfig: { arn: check.deadLetterQueue.arn },
    });
    new LambdaPermission(this, 'completionInvokePermission', {
      statementId: 'CompletionRuleInvokes',
      action: 'lambda:InvokeFunction',
      functionName: check.name,
      principal: 'events.amazonaws.com',
      sourceArn: completionRule.arn,
    });
    new SqsQueuePolicy(this, 'checkDeadLetterQueuePolicy', {
      queueUrl: check.deadLetterQueue.url,
      policy: ruleSendsToQueue('CompletionRuleDeadLetters', check.deadLetterQueue.arn, completionRule.arn),
    });

    const alarmActions = [notifications.topic.arn];
    const alarm = (alarmId: string, name: string, description: string, metric: AlarmMetric) =>
      new CloudwatchMetricAlarm(this, alarmId, {
        alarmName: `${config.namePrefix}-${name}`,
        alarmDescription: description,
        ...metric,
        statistic: metric.statistic ?? 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions,
        okActions: alarmActions,
      });

    const functions: [string, string, NodeFunction][] = [
      ['checkSummaryErrorsAlarm', 'check-summary-errors', check],
      ['notifyErrorsAlarm', 'notify-errors', notifications.notifyFunction],
      ['runFailedErrorsAlarm', 'run-failed-errors', props.runFailedFunction],
    ];
    for (const [alarmId, name, fn] of functions) {
      alarm(alarmId, name, `Lambda ${name.replace(/-errors$/, '')} threw`, {
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: fn.name },
      });
    }
    const executions: [string, string, string][] = [
      ['failedExecutionsAlarm', 'pipeline-failed', 'ExecutionsFailed'],
      ['timedOutExecutionsAlarm', 'pipeline-timed-out', 'ExecutionsTimedOut'],
    ];
    for (const [alarmId, name, metricName] of executions) {
      alarm(alarmId, name, `Pipeline executions: ${metricName}`, {
        namespace: 'AWS/States',
        metricName,
        dimensions: { StateMachineArn: orchestration.stateMachine.arn },
      });
    }
    const deadLetterQueues: [string, string, SqsQueue][] = [
      ['bronzeRuleDeadLettersAlarm', 'bronze-rule-dead-letters', orchestration.bronzeRuleDeadLetterQueue],
      ['checkSummaryDeadLettersAlarm', 'check-summary-dead-letters', check.deadLetterQueue],
      ['notifyDeadLettersAlarm', 'notify-dead-letters', notifications.notifyFunction.deadLetterQueue],
      ['runFailedDeadLettersAlarm', 'run-failed-dead-letters', props.runFailedFunction.deadLetterQueue],
    ];
    for (const [alarmId, name, queue] of deadLetterQueues) {
      alarm(alarmId, name, 'Messages are waiting in a dead-letter queue (docs/deploy.md, Operate)', {
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: queue.name },
        statistic: 'Maximum',
      });
    }
  }
}

interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic?: string;
}
