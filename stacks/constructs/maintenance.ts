import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Construct } from 'constructs';
import { type MaintenanceOperation, maintenanceMessage } from '../../workflow/drain-definition';
import { MANAGED_TABLES, type TableDefinition } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { keepTableSeeds, tablePrefix } from './catalog';
import { ATHENA_QUERY_ACTIONS, type PolicyStatement, ServiceRole } from './iam';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage';

/**
 * Athena's Iceberg maintenance statements, one per table (catalog.ts makes every managed table Iceberg):
 * - `OPTIMIZE <table> REWRITE DATA USING BIN_PACK` rewrites small data files and folds the delete
 *   files each MERGE leaves into them (https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html).
 * - `VACUUM <table>` expires snapshots older than the table property `vacuum_max_snapshot_age_seconds`
 *   (default 432000, 5 days; at least `vacuum_min_snapshots_to_keep`, default 1, are kept), deletes the
 *   files only they referenced, and removes orphan files older than the same age
 *   (https://docs.aws.amazon.com/athena/latest/ug/vacuum-statement.html). Time travel reaches back
 *   those 5 days. Without s3:DeleteObject it "succeeds" and deletes nothing, so the role has it.
 * Both are Athena syntax, not Trino's (Trino writes `ALTER TABLE ... EXECUTE optimize`), so they are
 * generated here rather than kept in sql/, whose files must parse with the Trino grammar. A table name
 * starting with `_` would need backticks for VACUUM only; such names are refused.
 */
export type { MaintenanceOperation };

const TABLE_NAME = /^[a-z][a-z0-9_]*$/;

export function maintenanceStatement(operation: MaintenanceOperation, table: TableDefinition): string {
  if (!TABLE_NAME.test(table.name)) {
    throw new Error(
      `table "${table.name}": maintenance statements need a plain lowercase name (${TABLE_NAME})`,
    );
  }
  return operation === 'optimize'
    ? `OPTIMIZE ${table.name} REWRITE DATA USING BIN_PACK`
    : `VACUUM ${table.name}`;
}

/** Every statement of each operation, one per Iceberg table, in table order: what the drain runs. */
export function maintenancePlan(): Record<MaintenanceOperation, { table: string; query: string }[]> {
  const statements = (operation: MaintenanceOperation) =>
    MANAGED_TABLES.map((table) => ({ table: table.name, query: maintenanceStatement(operation, table) }));
  return { optimize: statements('optimize'), vacuum: statements('vacuum') };
}

/** What the Athena maintenance statements read and write, for the role that starts them (the drain's):
 * Athena runs a query with its caller's credentials. */
export function maintenanceQueryPermissions(props: {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly databaseName: string;
  readonly workgroupArn: string;
}): PolicyStatement[] {
  const { context, storage } = props;
  const database = props.databaseName;
  return [
    { Sid: 'RunMaintenanceQueries', Action: [...ATHENA_QUERY_ACTIONS], Resource: [props.workgroupArn] },
    {
      // OPTIMIZE and VACUUM commit a new metadata location to the table's catalog entry.
      Sid: 'CommitTables',
      Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
      Resource: [
        context.arn('glue', 'catalog'),
        context.arn('glue', `database/${database}`),
        ...MANAGED_TABLES.map((table) => context.arn('glue', `table/${database}/${table.name}`)),
      ],
    },
    {
      Sid: 'ListTables',
      Action: ['s3:ListBucket'],
      Resource: [storage.gold.arn],
      Condition: {
        StringLike: { 's3:prefix': MANAGED_TABLES.map((table) => `${tablePrefix(table)}/*`) },
      },
    },
    {
      Sid: 'RewriteTableFiles',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      Resource: MANAGED_TABLES.map((table) => storage.gold.objectsArn(tablePrefix(table))),
    },
    keepTableSeeds(storage, props.config.namePrefix),
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
  ];
}

export interface MaintenanceProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  /** The pending-objects queue (serialization.ts): maintenance waits there for the lock like any run. */
  readonly pendingQueue: SqsQueue;
  /** Where the alarm on undelivered maintenance messages publishes. */
  readonly alertTopicArn: string;
}

/**
 * Scheduled Iceberg maintenance under the pipeline lock: EventBridge Scheduler puts
 * `{"maintenance": "optimize"}` or `{"maintenance": "vacuum"}` on the pending-objects queue (a templated
 * SQS target, https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html), and
 * the drain runs the statements between two runs, never during one (workflow/drain-definition.ts), so a
 * MERGE never loses its Iceberg commit to OPTIMIZE or VACUUM. A failed statement alerts through the topic;
 * the next schedule repeats the work. Messages that cannot be sent after retries land in a dead-letter
 * queue with an alarm.
 */
export class Maintenance extends Construct {
  readonly schedules: SchedulerSchedule[] = [];
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: MaintenanceProps) {
    super(scope, id);
    const { config, context, storage } = props;
    const name = `${config.namePrefix}-table-maintenance`;

    this.deadLetterQueue = new SqsQueue(this, 'deadLetterQueue', {
      name: `${name}-dlq`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    const role = new ServiceRole(this, 'role', {
      name,
      description: 'EventBridge Scheduler: queues OPTIMIZE and VACUUM for the drain, under the pipeline lock',
      service: 'scheduler.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        { Sid: 'QueueMaintenance', Action: ['sqs:SendMessage'], Resource: [props.pendingQueue.arn] },
        // Sending to a queue encrypted with the project key makes a data key
        // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
        { Sid: 'UseProjectKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [storage.key.arn] },
        { Sid: 'DeadLetters', Action: ['sqs:SendMessage'], Resource: [this.deadLetterQueue.arn] },
      ],
    });

    const schedules: Record<MaintenanceOperation, string> = {
      optimize: config.maintenance.optimizeSchedule,
      vacuum: config.maintenance.vacuumSchedule,
    };
    for (const [operation, expression] of Object.entries(schedules) as [MaintenanceOperation, string][]) {
      this.schedules.push(
        new SchedulerSchedule(this, operation, {
          name: `${config.namePrefix}-${operation}`,
          description: `Iceberg maintenance, run by the drain: ${maintenancePlan()
            [operation].map((statement) => statement.query)
            .join('; ')}`,
          scheduleExpression: expression,
          scheduleExpressionTimezone: config.timezone,
          flexibleTimeWindow: { mode: 'OFF' },
          target: {
            arn: props.pendingQueue.arn,
            roleArn: role.arn,
            input: JSON.stringify(maintenanceMessage(operation)),
            retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
            deadLetterConfig: { arn: this.deadLetterQueue.arn },
          },
        }),
      );
    }
    new CloudwatchMetricAlarm(this, 'deadLettersAlarm', {
      alarmName: `${name}-dead-letters`,
      alarmDescription: 'A scheduled OPTIMIZE or VACUUM could not be queued (docs/deploy.md, Operate)',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: this.deadLetterQueue.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [props.alertTopicArn],
      okActions: [props.alertTopicArn],
    });
  }
}
