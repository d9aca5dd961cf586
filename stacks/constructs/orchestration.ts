import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { SfnStateMachine } from '@cdktf/provider-aws/lib/sfn-state-machine';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import { buildDefinition } from '../../workflow/definition';
import { MANAGED_TABLES, SILVER_TABLES } from '../../workflow/tables';
import type { EnvironmentConfig } from '../config';
import type { AwsContext } from './aws-context';
import { keepTableSeeds, tablePrefix } from './catalog';
import { ATHENA_QUERY_ACTIONS, ruleSendsToQueue, ServiceRole, STATE_MACHINE_LOGS_AND_TRACES } from './iam';
import type { Serialization } from './serialization';
import { ATHENA_RESULTS_PREFIX, type Storage } from './storage';

export interface OrchestrationProps {
  readonly config: EnvironmentConfig;
  readonly context: AwsContext;
  readonly storage: Storage;
  readonly glueJobName: string;
  readonly glueJobArn: string;
  readonly workgroupName: string;
  readonly workgroupArn: string;
  readonly databaseName: string;
  readonly runFailedFunctionArn: string;
}

/**
 * Terraform reads `${` and `%{` in strings as template syntax; SQL text is data, so both are escaped.
 * Terraform references that cdktf put in the definition (`${TfToken[...]}`) are left alone.
 */
function escapeTemplateSyntax(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, '$$${').replace(/%\{/g, '%%{');
}

/** The state machine's name, which its event bus shares; other constructs need it before both exist. */
export function pipelineName(config: EnvironmentConfig): string {
  return `${config.namePrefix}-pipeline`;
}

/**
 * The pipeline's Step Functions state machine (the ASL from workflow/definition.ts with the real
 * names), its event bus for completion events, and the rule that queues each CSV dropped in bronze for
 * the drain, which runs the pipeline on queued objects one at a time (serialization.ts).
 */
export class Orchestration extends Construct {
  readonly stateMachine: SfnStateMachine;
  readonly logGroup: CloudwatchLogGroup;
  readonly eventBus: CloudwatchEventBus;
  readonly bronzeRule: CloudwatchEventRule;
  readonly bronzeRuleDeadLetterQueue: SqsQueue;
  /** The pipeline definition's execution timeout: the drain sizes its waits from it. */
  readonly pipelineTimeoutSeconds: number;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: OrchestrationProps,
  ) {
    super(scope, id);
    const { config, context, storage } = props;
    const name = pipelineName(config);

    this.eventBus = new CloudwatchEventBus(this, 'eventBus', { name });
    this.logGroup = new CloudwatchLogGroup(this, 'logGroup', {
      // Step Functions delivers logs through CloudWatch vended logs, which wants this prefix.
      name: `/aws/vendedlogs/states/${name}`,
      retentionInDays: config.retention.logDays,
    });

    const database = props.databaseName;
    const tableArns = [...SILVER_TABLES, ...MANAGED_TABLES].map((table) =>
      context.arn('glue', `table/${database}/${table.name}`),
    );
    // Made later (monitoring.ts, notifications.ts), which need this state machine: named, not referenced.
    const checkSummaryArn = context.arn('lambda', `function:${config.namePrefix}-check-summary`);
    const alertTopicArn = context.arn('sns', `${config.namePrefix}-alerts`);
    const role = new ServiceRole(this, 'role', {
      name: `${name}-state-machine`,
      description:
        'Pipeline state machine: runs the load job and the Athena SQL steps, emits completion events',
      service: 'states.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        {
          Sid: 'RunLoadJob',
          Action: ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun'],
          Resource: [props.glueJobArn],
        },
        {
          Sid: 'RunQueries',
          Action: [...ATHENA_QUERY_ACTIONS],
          Resource: [props.workgroupArn],
        },
        {
          Sid: 'ReadWriteCatalog',
          Action: [
            'glue:GetDatabase',
            'glue:GetTable',
            'glue:GetTables',
            'glue:UpdateTable',
            'glue:GetPartition',
            'glue:GetPartitions',
            'glue:BatchGetPartition',
          ],
          Resource: [
            context.arn('glue', 'catalog'),
            context.arn('glue', `database/${database}`),
            ...tableArns,
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
        { Sid: 'EmitCompletion', Action: ['events:PutEvents'], Resource: [this.eventBus.arn] },
        {
          Sid: 'RecordFailedRuns',
          Action: ['lambda:InvokeFunction'],
          Resource: [props.runFailedFunctionArn],
        },
        // A committed run whose completion event fails: the check it would have started, and an alert.
        { Sid: 'CheckWithoutEvent', Action: ['lambda:InvokeFunction'], Resource: [checkSummaryArn] },
        { Sid: 'AlertEventFailed', Action: ['sns:Publish'], Resource: [alertTopicArn] },
        ...STATE_MACHINE_LOGS_AND_TRACES,
      ],
    });

    const definition = buildDefinition({
      glueJobName: props.glueJobName,
      athenaWorkGroup: props.workgroupName,
      glueDatabase: database,
      eventBusName: this.eventBus.name,
      runFailedFunctionArn: props.runFailedFunctionArn,
      checkSummaryFunctionArn: checkSummaryArn,
      alertTopicArn,
    });
    this.stateMachine = new SfnStateMachine(this, 'stateMachine', {
      name,
      type: 'STANDARD',
      roleArn: role.arn,
      definition: escapeTemplateSyntax(JSON.stringify(definition)),
      loggingConfiguration: {
        logDestination: `${this.logGroup.arn}:*`,
        includeExecutionData: true,
        level: 'ALL',
      },
      tracingConfiguration: { enabled: true },
      dependsOn: [role.policy],
    });

    this.bronzeRuleDeadLetterQueue = new SqsQueue(this, 'bronzeRuleDeadLetterQueue', {
      name: `${config.namePrefix}-bronze-rule-dlq`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    this.bronzeRule = new CloudwatchEventRule(this, 'bronzeRule', {
      name: `${config.namePrefix}-bronze-csv-created`,
      description: 'A CSV object created in bronze is queued and starts a drain (one pipeline run at a time)',
      eventPattern: JSON.stringify({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [storage.bronze.name] },
          object: { key: [{ suffix: { 'equals-ignore-case': '.csv' } }] },
        },
      }),
    });
    new SqsQueuePolicy(this, 'bronzeRuleDeadLetterQueuePolicy', {
      queueUrl: this.bronzeRuleDeadLetterQueue.url,
      policy: ruleSendsToQueue(
        'BronzeRuleDeadLetters',
        this.bronzeRuleDeadLetterQueue.arn,
        this.bronzeRule.arn,
      ),
    });
    this.pipelineTimeoutSeconds = definition.TimeoutSeconds;
  }

  /**
   * Routes each CSV created in bronze to the drain: its `{bucket, key, etag}` onto the pending-objects
   * queue, and a drain execution started (which ends at once when another drain holds the lock).
   */
  routeBronzeObjects(serialization: Serialization): void {
    const { config, context } = this.props;
    const ruleRole = new ServiceRole(this, 'bronzeRuleRole', {
      name: `${config.namePrefix}-bronze-rule`,
      description: 'EventBridge rule on bronze: starts drain executions',
      service: 'events.amazonaws.com',
      sourceAccount: context.accountId,
      statements: [
        {
          Sid: 'StartDrain',
          Action: ['states:StartExecution'],
          Resource: [serialization.stateMachine.arn],
        },
      ],
    });
    const delivery = {
      rule: this.bronzeRule.name,
      retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 },
      deadLetterConfig: { arn: this.bronzeRuleDeadLetterQueue.arn },
    };
    // The object first: a drain that starts before the message lands long-polls for it, re-reads the
    // queue before it lets go of the lock, and the sweep schedule catches anything left.
    new CloudwatchEventTarget(this, 'bronzeRulePendingTarget', {
      ...delivery,
      targetId: 'pending-objects',
      arn: serialization.queue.arn,
      inputTransformer: {
        inputPaths: {
          bucket: '$.detail.bucket.name',
          key: '$.detail.object.key',
          etag: '$.detail.object.etag',
        },
        inputTemplate: '{"bucket": <bucket>, "key": <key>, "etag": <etag>}',
      },
    });
    new CloudwatchEventTarget(this, 'bronzeRuleDrainTarget', {
      ...delivery,
      targetId: 'drain',
      arn: serialization.stateMachine.arn,
      roleArn: ruleRole.arn,
      input: '{}',
    });
  }
}
