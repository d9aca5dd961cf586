import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import { MANAGED_TABLES, SILVER_TABLES } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { keepTableSeeds, tablePrefix } from './catalog';
import { ATHENA_QUERY_ACTIONS, ruleSendsToQueue } from './iam';
import { NodeFunction } from './node-function';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage';

export interface RunFailedProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly workgroupName: string;
  readonly workgroupArn: string;
  readonly databaseName: string;
  /** The pipeline state machine's name and event bus name: the function is made before both exist. */
  readonly stateMachineName: string;
  readonly eventBusName: string;
  readonly entry: string;
  readonly bundleRoot: string;
}

/**
 * The run-failed Lambda (handlers/run-failed/): the state machine's RecordFailedRun task, and the
 * backstop for what the state machine cannot catch (States.Runtime errors, the execution timeout,
 * aborts): every execution of the pipeline that ends FAILED, TIMED_OUT or ABORTED invokes it through an
 * EventBridge rule on the default bus, and it records the audit row and sends the FAILED completion event.
 */
export class RunFailed extends Construct {
  readonly function: NodeFunction;
  private readonly props: RunFailedProps;

  constructor(scope: Construct, id: string, props: RunFailedProps) {
    super(scope, id);
    this.props = props;
    const { config, context, storage } = props;
    const database = props.databaseName;
    this.function = new NodeFunction(this, 'function', {
      functionName: `${config.namePrefix}-run-failed`,
      description: 'Records a failed pipeline run and sends its FAILED completion event',
      entry: props.entry,
      bundleRoot: props.bundleRoot,
      logRetentionDays: config.retention.logDays,
      // Athena queries are polled to completion inside the invocation; the drain's repair runs the three
      // undo MERGEs. 900 s is Lambda's maximum ("Lambda quotas", function timeout).
      timeoutSeconds: 900,
      environment: {
        ATHENA_WORKGROUP: props.workgroupName,
        GLUE_DATABASE: database,
        EVENT_BUS_NAME: props.eventBusName,
        POWERTOOLS_SERVICE_NAME: 'run-failed',
      },
      statements: [
        { Sid: 'RunAuditQueries', Action: [...ATHENA_QUERY_ACTIONS], Resource: [props.workgroupArn] },
        {
          // The audit row, and the drain's repair: the undo MERGEs read silver and the gold tables and
          // write the gold tables, as the pipeline's own undo steps do.
          Sid: 'WriteGoldCatalog',
          Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
          Resource: [
            context.arn('glue', 'catalog'),
            context.arn('glue', `database/${database}`),
            ...[...SILVER_TABLES, ...MANAGED_TABLES].map((table) =>
              context.arn('glue', `table/${database}/${table.name}`),
            ),
          ],
        },
        {
          Sid: 'LocateBuckets',
          Action: ['s3:GetBucketLocation', 's3:ListBucket'],
          Resource: [storage.silver.arn, storage.gold.arn, storage.athenaResults.arn],
        },
        {
          Sid: 'ReadSilver',
          Action: ['s3:GetObject'],
          Resource: SILVER_TABLES.map((table) => storage.silver.objectsArn(tablePrefix(table))),
        },
        {
          Sid: 'WriteGold',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          Resource: MANAGED_TABLES.map((table) => storage.gold.objectsArn(tablePrefix(table))),
        },
        keepTableSeeds(storage, config.namePrefix),
        {
          Sid: 'WriteQueryResults',
          Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          Resource: [storage.athenaResults.objectsArn(ATHENA_RESULTS_PREFIX)],
        },
        { Sid: 'UseLakeKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: [storage.key.arn] },
        {
          Sid: 'DescribePipelineExecutions',
          Action: ['states:DescribeExecution'],
          Resource: [context.arn('states', `execution:${props.stateMachineName}:*`)],
        },
        {
          Sid: 'EmitCompletion',
          Action: ['events:PutEvents'],
          Resource: [context.arn('events', `event-bus/${props.eventBusName}`)],
        },
      ],
    });
  }

  /** Wires the backstop rule to the state machine once it exists. */
  watch(stateMachineArn: string): void {
    const { config } = this.props;
    const fn = this.function;
    const rule = new CloudwatchEventRule(this, 'backstopRule', {
      name: `${config.namePrefix}-run-ended-unsuccessfully`,
      description: 'Every pipeline execution that fails, times out or is aborted is recorded and reported',
      eventPattern: JSON.stringify({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [stateMachineArn] },
      }),
    });
    new CloudwatchEventTarget(this, 'backstopTarget', {
      rule: rule.name,
      targetId: 'run-failed',
      arn: fn.arn,
      retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 },
      deadLetterConfig: { arn: fn.deadLetterQueue.arn },
    });
    new LambdaPermission(this, 'backstopInvokePermission', {
      statementId: 'BackstopRuleInvokes',
      action: 'lambda:InvokeFunction',
      functionName: fn.name,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
    new SqsQueuePolicy(this, 'deadLetterQueuePolicy', {
      queueUrl: fn.deadLetterQueue.url,
      policy: ruleSendsToQueue('BackstopRuleDeadLetters', fn.deadLetterQueue.arn, rule.arn),
    });
  }
}
