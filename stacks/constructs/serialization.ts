import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import {
  buildDrainDefinition,
  LOCK_ID,
  RECEIVE_WAIT_SECONDS,
  visibilityTimeoutSeconds,
} from '../../workflow/drain-definition';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import type { EncryptionKey } from './encryption-key';
import {
  denyInsecureTransport,
  policyDocument,
  ruleSendsToQueue,
  ServiceRole,
  STATE_MACHINE_LOGS_AND_TRACES,
} from './iam';
import { maintenancePlan, maintenanceQueryPermissions } from './maintenance';
import type { Storage } from './storage';

export interface SerializationProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly key: EncryptionKey;
  readonly pipelineStateMachineName: string;
  readonly pipelineStateMachineArn: string;
  readonly pipelineTimeoutSeconds: number;
  /** The run-failed Lambda: records a child that never started, repairs one that ended unsuccessfully. */
  readonly runFailedFunctionArn: string;
  /** The bronze rule: the only sender the queue accepts. */
  readonly bronzeRuleArn: string;
  /** Where the alarms publish, and the drain reports a failed maintenance statement. */
  readonly alertTopicArn: string;
  /** What the maintenance statements the drain runs need: the lake, the workgroup, the database. */
  readonly storage: Storage;
  readonly workgroupName: string;
  readonly workgroupArn: string;
  readonly databaseName: string;
}

/** SQS keeps a message at most 14 days (MessageRetentionPeriod, API_SetQueueAttributes). */
const RETENTION_SECONDS = 14 * 24 * 3600;

/** A message whose drain died this many times goes to the dead-letter queue (and its alarm). */
export const MAX_RECEIVE_COUNT = 3;

/**
 * A healthy drain takes the oldest message within one child timeout plus a sweep period, unless a
 * backlog of runs waits ahead of it (about 240 runs of 3 minutes in 12 hours): past 12 hours something
 * keeps the queue from draining, with 13.5 of the 14 retention days left to act.
 */
export const OLDEST_PENDING_ALARM_SECONDS = 12 * 3600;

/**
 * A drain every 15 minutes, whatever lands: a queue is never left waiting when the describe of a dead
 * holder or the queue count it read was stale, or when the last drain died with no upload after it.
 */
export const SWEEP_SCHEDULE = 'rate(15 minutes)';

/**
 * Serialized pipeline runs: the pending-objects queue (KMS-encrypted, TLS only, dead letters kept), the
 * lock table, and the drain state machine (workflow/drain-definition.ts) that runs one pipeline
 * execution at a time while it holds the lock. The bronze rule (orchestration.ts) feeds the queue and
 * starts drains; a schedule starts one as a sweep.
 */
export class Serialization extends Construct {
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly lockTable: DynamodbTable;
  readonly stateMachine: SfnStateMachine;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: SerializationProps) {
    super(scope, id);
    const { config, context, key } = props;
    const name = `${config.namePrefix}-drain`;
    // Known before the machine exists, so the role can name it without a reference cycle.
    const drainArn = context.arn('states', `stateMachine:${name}`);

    this.deadLetterQueue = new SqsQueue(this, 'pendingDeadLetterQueue', {
      name: `${config.namePrefix}-pending-objects-dlq`,
      messageRetentionSeconds: RETENTION_SECONDS,
      kmsMasterKeyId: key.arn,
    });
    this.queue = new SqsQueue(this, 'pendingQueue', {
      name: `${config.namePrefix}-pending-objects`,
      messageRetentionSeconds: RETENTION_SECONDS,
      visibilityTimeoutSeconds: visibilityTimeoutSeconds(props.pipelineTimeoutSeconds),
      receiveWaitTimeSeconds: RECEIVE_WAIT_SECONDS,
      kmsMasterKeyId: key.arn,
      redrivePolicy: JSON.stringify({
        deadLetterTargetArn: this.deadLetterQueue.arn,
        maxReceiveCount: MAX_RECEIVE_COUNT,
      }),
    });
    new SqsQueuePolicy(this, 'pendingQueuePolicy', {
      queueUrl: this.queue.url,
      policy: ruleSendsToQueue('BronzeRuleSends', this.queue.arn, props.bronzeRuleArn, [
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
      ]),
    });
    new SqsQueuePolicy(this, 'pendingDeadLetterQueuePolicy', {
      queueUrl: this.deadLetterQueue.url,
      policy: policyDocument([
        denyInsecureTransport(
          ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'],
          [this.deadLetterQueue.arn],
        ),
      ]),
    });

    this.lockTable = new DynamodbTable(this, 'lockTable', {
      name: `${config.namePrefix}-pipeline-lock`,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'lock_id',
      attribute: [{ name: 'lock_id', type: 'S' }],
      serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: config.protectData,
    });

    this.logGroup = new CloudwatchLogGroup(this, 'drainLogGroup', {
      name: `/aws/vendedlogs/states/${name}`,
      retentionInDays: config.retention.logDays,
    });
    const role = new ServiceRole(this, 'drainRole', {
      name: `${name}-state-machine`,
      description: 'Drain state machine: holds the pipeline lock and runs queued objects one at a time',
      service: 'states.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        {
          Sid: 'LockItem',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
          Resource: [this.lockTable.arn],
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LOCK_ID] } },
        },
        {
          Sid: 'PendingObjects',
          Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          Resource: [this.queue.arn],
        },
        // Receiving from a queue encrypted with the project key decrypts its data key
        // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
        { Sid: 'UseProjectKey', Action: ['kms:Decrypt'], Resource: [key.arn] },
        // What `states:startExecution.sync:2` needs: start the child, follow and (when the drain is
        // stopped) stop it, and the managed rule through which Step Functions learns it ended
        // (https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html).
        { Sid: 'RunPipeline', Action: ['states:StartExecution'], Resource: [props.pipelineStateMachineArn] },
        {
          Sid: 'FollowPipelineRuns',
          Action: ['states:DescribeExecution', 'states:StopExecution'],
          Resource: [context.arn('states', `execution:${props.pipelineStateMachineName}:*`)],
        },
        {
          Sid: 'SyncCompletionRule',
          Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          Resource: [context.arn('events', 'rule/StepFunctionsGetEventsForStepFunctionsExecutionRule')],
        },
        {
          Sid: 'DescribeLockHolder',
          Action: ['states:DescribeExecution'],
          Resource: [context.arn('states', `execution:${name}:*`)],
        },
        { Sid: 'StartSuccessor', Action: ['states:StartExecution'], Resource: [drainArn] },
        {
          Sid: 'RecordAndRepairChildren',
          Action: ['lambda:InvokeFunction'],
          Resource: [props.runFailedFunctionArn],
        },
        // OPTIMIZE and VACUUM, between two runs (maintenance.ts queues them).
        ...maintenanceQueryPermissions(props),
        { Sid: 'AlertMaintenanceFailed', Action: ['sns:Publish'], Resource: [props.alertTopicArn] },
        ...STATE_MACHINE_LOGS_AND_TRACES,
      ],
    });

    const definition = buildDrainDefinition({
      lockTableName: this.lockTable.name,
      queueUrl: this.queue.url,
      pipelineStateMachineArn: props.pipelineStateMachineArn,
      pipelineExecutionArnPrefix: context.arn('states', `execution:${props.pipelineStateMachineName}`),
      pipelineTimeoutSeconds: props.pipelineTimeoutSeconds,
      runFailedFunctionArn: props.runFailedFunctionArn,
      maintenance: {
        workGroup: props.workgroupName,
        database: props.databaseName,
        statements: maintenancePlan(),
        alertTopicArn: props.alertTopicArn,
      },
    });
    this.stateMachine = new SfnStateMachine(this, 'drain', {
      name,
      type: 'STANDARD',
      roleArn: role.arn,
      definition: JSON.stringify(definition),
      loggingConfiguration: {
        logDestination: `${this.logGroup.arn}:*`,
        includeExecutionData: true,
        level: 'ALL',
      },
      tracingConfiguration: { enabled: true },
      dependsOn: [role.policy],
    });

    const sweepRole = new ServiceRole(this, 'sweepRole', {
      name: `${name}-sweep`,
      description: 'EventBridge Scheduler: starts a drain every 15 minutes',
      service: 'scheduler.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        { Sid: 'StartDrain', Action: ['states:StartExecution'], Resource: [this.stateMachine.arn] },
      ],
    });
    new SchedulerSchedule(this, 'sweepSchedule', {
      name: `${name}-sweep`,
      description: 'Starts a drain, so that pending objects never wait for the next upload',
      scheduleExpression: SWEEP_SCHEDULE,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.stateMachine.arn,
        roleArn: sweepRole.arn,
        input: '{}',
        retryPolicy: { maximumEventAgeInSeconds: 600, maximumRetryAttempts: 3 },
      },
    });

    const alarm = (id: string, name: string, description: string, metric: Omit<AlarmMetric, 'id'>) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `${config.namePrefix}-${name}`,
        alarmDescription: description,
        ...metric,
        period: 300,
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [props.alertTopicArn],
        okActions: [props.alertTopicArn],
      });
    alarm(
      'pendingDeadLettersAlarm',
      'pending-objects-dead-letters',
      `A bronze object was received ${MAX_RECEIVE_COUNT} times without its run finishing; it waits in the dead-letter queue`,
      {
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: this.deadLetterQueue.name },
        statistic: 'Maximum',
        threshold: 0,
      },
    );
    // A drain that cannot receive (a revoked permission, a disabled key) leaves objects in the queue; SQS
    // deletes them unseen after the retention period (API_SetQueueAttributes, MessageRetentionPeriod).
    alarm(
      'pendingOldestMessageAlarm',
      'pending-objects-waiting',
      `The oldest pending object has waited over ${OLDEST_PENDING_ALARM_SECONDS / 3600} hours; SQS drops it after 14 days`,
      {
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: this.queue.name },
        statistic: 'Maximum',
        threshold: OLDEST_PENDING_ALARM_SECONDS,
      },
    );
    // Step Functions' execution metrics per state machine (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html).
    for (const [id, name, metricName] of [
      ['drainFailedAlarm', 'drain-failed', 'ExecutionsFailed'],
      ['drainAbortedAlarm', 'drain-aborted', 'ExecutionsAborted'],
    ] as const) {
      alarm(id, name, `Drain executions: ${metricName} (the lock is released; see the execution's cause)`, {
        namespace: 'AWS/States',
        metricName,
        dimensions: { StateMachineArn: this.stateMachine.arn },
        statistic: 'Sum',
        threshold: 0,
      });
    }
  }
}

interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: string;
  readonly threshold: number;
}
