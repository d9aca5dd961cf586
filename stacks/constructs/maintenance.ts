import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Construct } from 'constructs';
import { MANAGED_TABLES, type TableDefinition } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { tablePrefix } from './catalog';
import { ServiceRole } from './iam';
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
export type MaintenanceOperation = 'optimize' | 'vacuum';

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

/**
 * Universal target of EventBridge Scheduler: `arn:aws:scheduler:::aws-sdk:<service>:<apiAction>` with
 * the API's request as JSON input; the execution role needs the API's permission
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html). The
 * service is the SDK's identifier (`athena`); read-only actions (`get...`, `list...`, `query...`) are
 * refused there, `startQueryExecution` is not one of them.
 */
const START_QUERY_ACTION = 'athena:startQueryExecution';

export interface MaintenanceProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly workgroupName: string;
  readonly workgroupArn: string;
  readonly databaseName: string;
  /** Where the alarm on undelivered maintenance runs publishes. */
  readonly alertTopicArn: string;
}

/**
 * Scheduled Iceberg maintenance: EventBridge Scheduler starts one Athena query per table and
 * operation in the pipeline's workgroup (results location and encryption enforced there). Athena
 * runs the query with the caller's credentials, so the schedule's role holds what the statements
 * read and write: the tables' catalog entries and files, the results prefix, the lake key. The
 * schedule only starts the query; a query that fails shows in the workgroup's history and the next
 * run repeats the work. Starts that fail after retries land in a dead-letter queue with an alarm.
 */
export class Maintenance extends Construct {
  readonly schedules: SchedulerSchedule[] = [];
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: MaintenanceProps) {
    super(scope, id);
    const { config, context, storage } = props;
    const database = props.databaseName;
    const name = `${config.namePrefix}-table-maintenance`;

    this.deadLetterQueue = new SqsQueue(this, 'deadLetterQueue', {
      name: `${name}-dlq`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    const role = new ServiceRole(this, 'role', {
      name,
      description: 'EventBridge Scheduler: OPTIMIZE and VACUUM of the Iceberg tables through Athena',
      service: 'scheduler.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        {
          Sid: 'StartMaintenanceQueries',
          Action: ['athena:StartQueryExecution'],
          Resource: [props.workgroupArn],
        },
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
        { Sid: 'DeadLetters', Action: ['sqs:SendMessage'], Resource: [this.deadLetterQueue.arn] },
      ],
    });

    const schedules: Record<MaintenanceOperation, string> = {
      optimize: config.maintenance.optimizeSchedule,
      vacuum: config.maintenance.vacuumSchedule,
    };
    for (const [operation, expression] of Object.entries(schedules) as [MaintenanceOperation, string][]) {
      for (const table of MANAGED_TABLES) {
        this.schedules.push(
          new SchedulerSchedule(this, `${operation}_${table.name}`, {
            name: `${config.namePrefix}-${operation}-${table.name}`,
            description: `Iceberg maintenance: ${maintenanceStatement(operation, table)}`,
            scheduleExpression: expression,
            scheduleExpressionTimezone: config.timezone,
            flexibleTimeWindow: { mode: 'OFF' },
            target: {
              arn: `arn:${context.partition}:scheduler:::aws-sdk:${START_QUERY_ACTION}`,
              roleArn: role.arn,
              input: JSON.stringify({
                QueryString: maintenanceStatement(operation, table),
                WorkGroup: props.workgroupName,
                QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: database },
              }),
              retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
              deadLetterConfig: { arn: this.deadLetterQueue.arn },
            },
          }),
        );
      }
    }

    new CloudwatchMetricAlarm(this, 'deadLettersAlarm', {
      alarmName: `${name}-dead-letters`,
      alarmDescription: 'A scheduled OPTIMIZE or VACUUM could not be started (docs/deploy.md, Operate)',
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
