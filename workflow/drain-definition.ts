import { type AslDefinition, type AslState, LAMBDA_RETRY } from './definition';

/**
 * The drain: the one path by which a bronze object reaches the pipeline in AWS. Every CSV created in
 * bronze puts `{bucket, key, etag}` on the pending-objects queue and starts a drain execution. A drain
 * takes the lock (one DynamoDB item), then runs the pipeline once per queued object, one at a time,
 * until the queue is empty; drains that find the lock held by a running drain end at once. So at most
 * one pipeline execution writes gold at a time, and a burst of N files converges to N sequential runs.
 */
export interface DrainResources {
  readonly lockTableName: string;
  readonly queueUrl: string;
  readonly pipelineStateMachineArn: string;
  /** `arn:…:execution:<pipeline name>`: a child's ARN is this, a colon, and its name. */
  readonly pipelineExecutionArnPrefix: string;
  /** The pipeline definition's own TimeoutSeconds: a child never runs longer. */
  readonly pipelineTimeoutSeconds: number;
  /** The run-failed Lambda (handlers/run-failed/): records a child that never started, undoes one that
   * ended without undoing itself. */
  readonly runFailedFunctionArn: string;
  /** Table maintenance, run by the drain between two runs (stacks/constructs/maintenance.ts). */
  readonly maintenance: MaintenanceResources;
}

export type MaintenanceOperation = 'optimize' | 'vacuum';

export interface MaintenanceResources {
  readonly workGroup: string;
  readonly database: string;
  /** Per operation, each table's statement (Athena syntax, made in stacks/constructs/maintenance.ts). */
  readonly statements: Readonly<Record<MaintenanceOperation, readonly { table: string; query: string }[]>>;
  /** Where a failed statement is reported. */
  readonly alertTopicArn: string;
}

/** The body of a maintenance message on the pending-objects queue: an operation, never SQL. */
export function maintenanceMessage(operation: MaintenanceOperation): { maintenance: MaintenanceOperation } {
  return { maintenance: operation };
}

/** The drain's state that runs one maintenance statement. */
export function maintenanceState(operation: MaintenanceOperation, table: string): string {
  return `${operation === 'optimize' ? 'Optimize' : 'Vacuum'}_${table}`;
}

/** The lock item's key: one lock, for the one set of gold tables. */
export const LOCK_ID = 'pipeline';

/**
 * One message per receive (ReceiveMessage takes 1 to 10, API_ReceiveMessage, MaxNumberOfMessages): a
 * drain that dies hides at most the one object it was running, and only for one visibility timeout.
 */
export const RECEIVE_BATCH = 1;

/** Long polling queries every SQS server, so an empty answer means an empty queue rather than an
 * unlucky sample of servers; the wait is at most 20 s (API_ReceiveMessage, WaitTimeSeconds). */
export const RECEIVE_WAIT_SECONDS = 10;

/** SQS refuses a visibility timeout above 12 hours (43,200 s, API_ReceiveMessage, VisibilityTimeout). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Time allowed around one child run for StartExecution, the .sync completion poll and DeleteMessage. */
export const CHILD_OVERHEAD_SECONDS = 300;

/**
 * A Standard execution's history holds at most 25,000 events
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). One round (count, receive,
 * choice, the child, its delete) writes about 20 events, one whose child failed about 40 more (describe,
 * undo, record); 100 rounds stay under 6,000. After that many rounds the drain releases the lock and
 * starts a fresh drain to carry on
 * (https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-continue-new.html).
 */
export const MAX_ROUNDS_PER_EXECUTION = 100;

/** How long the drain waits before it looks again at a child still running (after an error of its own
 * .sync poll, the child is followed with DescribeExecution until it ends). */
export const CHILD_POLL_SECONDS = 60;

/** State names; the local twins answer the Task states by their Resource, the tests read the paths. */
export const DRAIN_STATES = {
  init: 'Init',
  acquire: 'AcquireLock',
  readLock: 'ReadLock',
  lockPresent: 'LockStillHeld',
  describeHolder: 'DescribeHolder',
  holderAlive: 'HolderAlive',
  takeOver: 'TakeOverLock',
  anotherHolds: 'AnotherDrainHoldsLock',
  nextRound: 'NextRound',
  roundsLeft: 'RoundsLeft',
  receive: 'ReceiveMessage',
  anyMessages: 'AnyMessage',
  takeMessage: 'TakeMessage',
  messageKind: 'MessageKind',
  alertMaintenance: 'AlertMaintenanceFailed',
  runPipeline: 'RunPipeline',
  describeChild: 'DescribeChild',
  childOutcome: 'ChildOutcome',
  waitForChild: 'WaitForChild',
  undoChild: 'UndoEndedChild',
  recordNotStarted: 'RecordChildNotStarted',
  keepMessage: 'KeepMessageForRedelivery',
  deleteMessage: 'DeleteMessage',
  release: 'ReleaseLock',
  recheck: 'RecheckQueue',
  arrived: 'MessagesArrived',
  drained: 'Drained',
  handOffRelease: 'HandOffReleaseLock',
  startSuccessor: 'StartSuccessorDrain',
  handedOff: 'HandedOff',
  releaseAfterFailure: 'ReleaseLockAfterFailure',
  failed: 'DrainFailed',
} as const;

export const DRAIN_RESOURCES = {
  putItem: 'arn:aws:states:::dynamodb:putItem',
  getItem: 'arn:aws:states:::dynamodb:getItem',
  deleteItem: 'arn:aws:states:::dynamodb:deleteItem',
  describeExecution: 'arn:aws:states:::aws-sdk:sfn:describeExecution',
  startExecution: 'arn:aws:states:::states:startExecution',
  startExecutionSync: 'arn:aws:states:::states:startExecution.sync:2',
  receiveMessage: 'arn:aws:states:::aws-sdk:sqs:receiveMessage',
  deleteMessage: 'arn:aws:states:::aws-sdk:sqs:deleteMessage',
  getQueueAttributes: 'arn:aws:states:::aws-sdk:sqs:getQueueAttributes',
  lambdaInvoke: 'arn:aws:states:::lambda:invoke',
  athenaQuery: 'arn:aws:states:::athena:startQueryExecution.sync',
  snsPublish: 'arn:aws:states:::sns:publish',
} as const;

/**
 * Optimized DynamoDB integrations name service errors `DynamoDB.<Exception>`; a failed condition is
 * `ConditionalCheckFailedException` (https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_Errors).
 */
export const CONDITION_FAILED = 'DynamoDB.ConditionalCheckFailedException';

/**
 * StartExecution refusals worth retrying in place: throttling and transient faults
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#API_StartExecution_Errors).
 * Whatever the error, it is not trusted to say whether the child ran: the drain asks DescribeExecution.
 */
export const CHILD_NOT_STARTED = [
  'StepFunctions.ExecutionLimitExceededException',
  'StepFunctions.StateMachineDoesNotExistException',
  'StepFunctions.StateMachineDeletingException',
  'StepFunctions.SdkClientException',
];

/** AWS SDK integrations name errors `<Service>.<Exception>` in PascalCase
 * (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). */
export const EXECUTION_DOES_NOT_EXIST = 'Sfn.ExecutionDoesNotExistException';

/**
 * DescribeExecution statuses of an execution that may still act: RUNNING, and PENDING_REDRIVE (a
 * redriven execution resumes where it failed). Anything else (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) has
 * ended (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
 */
export const LIVE_STATUSES = ['RUNNING', 'PENDING_REDRIVE'] as const;

/**
 * A received message stays hidden for one child's whole time (its timeout plus the overhead around it):
 * a drain that dies hides its one object for no longer than that. Refuses what SQS refuses.
 */
export function visibilityTimeoutSeconds(pipelineTimeoutSeconds: number): number {
  const seconds = RECEIVE_BATCH * (pipelineTimeoutSeconds + CHILD_OVERHEAD_SECONDS);
  if (seconds > SQS_MAX_VISIBILITY_SECONDS) {
    throw new Error(
      `a run of up to ${pipelineTimeoutSeconds} s needs a visibility timeout of ${seconds} s; SQS allows at most ${SQS_MAX_VISIBILITY_SECONDS} s`,
    );
  }
  return seconds;
}

const lockKey = { lock_id: { S: LOCK_ID } };
const S = DRAIN_STATES;
const R = DRAIN_RESOURCES;

/** Any failure of the drain itself: release (if we hold the lock), then fail with the cause. */
const CATCH_RELEASE = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: S.releaseAfterFailure }];

/** Throttling and transient service errors of the lock and queue calls are retried with backoff. */
function retryTransient(conditionFailedIsFinal: boolean): AslState[] {
  return [
    // A failed condition is an answer, not a fault: MaxAttempts 0 never retries it
    // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    ...(conditionFailedIsFinal ? [{ ErrorEquals: [CONDITION_FAILED], MaxAttempts: 0 }] : []),
    {
      ErrorEquals: ['States.TaskFailed'],
      IntervalSeconds: 1,
      MaxAttempts: 3,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    },
  ];
}

function releaseLock(tableName: string, next: string, onError: AslState[]): AslState {
  return {
    Type: 'Task',
    Comment: 'Deletes the lock item only while it still names this execution as holder',
    Resource: R.deleteItem,
    Parameters: {
      TableName: tableName,
      Key: lockKey,
      ConditionExpression: 'holder = :me',
      ExpressionAttributeValues: { ':me': { 'S.$': '$$.Execution.Id' } },
    },
    ResultPath: null,
    Retry: retryTransient(true),
    // Not ours any more (another drain took it over while we were presumed dead): nothing to release.
    Catch: [{ ErrorEquals: [CONDITION_FAILED], ResultPath: null, Next: next }, ...onError],
    Next: next,
  };
}

/**
 * No execution timeout: the drain is bounded by its rounds (each child by its task timeout, each call by
 * its retries), and a drain timed out mid-run would stop the child it waits for.
 */
export type DrainDefinition = Omit<AslDefinition, 'TimeoutSeconds'>;

/**
 * The states that handle one message, entered at TakeMessage with `{rounds, message}` and left at
 * NextRound with `{rounds}` only. Each state's data is bounded: the message (its body is
 * `{bucket, key, etag}`, a key at most 1,024 bytes), and at most one error of the child (its Cause at most
 * 32,768 characters), never an accumulation over messages. Step Functions fails an execution whose state
 * data passes 256 KiB with States.DataLimitExceeded, which no Catch sees
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Maximum input or output
 * size for a task, state, or execution").
 */
function messageStates(resources: DrainResources): Record<string, AslState> {
  const nextRound = { 'rounds.$': '$.rounds' };
  return {
    [S.takeMessage]: {
      Type: 'Pass',
      Comment: 'The one message received, and the object its body names',
      Parameters: {
        'rounds.$': '$.rounds',
        message: {
          'messageId.$': '$.received.Messages[0].MessageId',
          'receiptHandle.$': '$.received.Messages[0].ReceiptHandle',
          'object.$': 'States.StringToJson($.received.Messages[0].Body)',
        },
      },
      Next: S.messageKind,
    },
    [S.messageKind]: {
      Type: 'Choice',
      Comment: 'A maintenance message runs its statements here, under the lock, between two runs',
      Choices: (['optimize', 'vacuum'] as const).flatMap((operation) => {
        const first = resources.maintenance.statements[operation][0];
        return first
          ? [
              {
                And: [
                  { Variable: '$.message.object.maintenance', IsPresent: true },
                  { Variable: '$.message.object.maintenance', StringEquals: operation },
                ],
                Next: maintenanceState(operation, first.table),
              },
            ]
          : [];
      }),
      Default: S.runPipeline,
    },
    ...maintenanceStates(resources),
    [S.runPipeline]: {
      Type: 'Task',
      Comment:
        'The pipeline as a child execution, waited for (.sync:2). Named by the message id: a message ' +
        'received again while its run is still going attaches to that run, and one whose run has ended ' +
        'is refused as ExecutionAlreadyExists instead of running twice ' +
        '(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html)',
      Resource: R.startExecutionSync,
      Parameters: {
        StateMachineArn: resources.pipelineStateMachineArn,
        'Name.$': '$.message.messageId',
        'Input.$': '$.message.object',
      },
      TimeoutSeconds: resources.pipelineTimeoutSeconds + CHILD_OVERHEAD_SECONDS,
      ResultPath: null,
      Retry: [
        {
          ErrorEquals: CHILD_NOT_STARTED,
          IntervalSeconds: 5,
          MaxAttempts: 4,
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        },
      ],
      // No error name proves on its own whether the child ran (its failure, ExecutionAlreadyExists,
      // AccessDenied, a KMS error, a timeout of this task all arrive here): DescribeExecution decides.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.runError', Next: S.describeChild }],
      Next: S.deleteMessage,
    },
    [S.describeChild]: {
      Type: 'Task',
      Comment: 'Did the child run, and how did it end?',
      Resource: R.describeExecution,
      Parameters: {
        'ExecutionArn.$': `States.Format('${resources.pipelineExecutionArnPrefix}:{}', $.message.messageId)`,
      },
      ResultSelector: { 'Status.$': '$.Status' },
      ResultPath: '$.child',
      Retry: [
        { ErrorEquals: [EXECUTION_DOES_NOT_EXIST], MaxAttempts: 0 },
        { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 },
      ],
      // No such execution: the child never started. Any other answer leaves it unknown; both keep the
      // message (a child that did run is found by the next receive's ExecutionAlreadyExists).
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.describeError', Next: S.recordNotStarted }],
      Next: S.childOutcome,
    },
    [S.childOutcome]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.child.Status', StringEquals: 'SUCCEEDED', Next: S.deleteMessage },
        ...LIVE_STATUSES.map((status) => ({
          Variable: '$.child.Status',
          StringEquals: status,
          Next: S.waitForChild,
        })),
      ],
      // FAILED, TIMED_OUT, ABORTED: the child ran and ended without success.
      Default: S.undoChild,
    },
    [S.waitForChild]: {
      Type: 'Wait',
      Comment: 'The child is still running (the .sync poll failed, not the child): follow it until it ends',
      Seconds: CHILD_POLL_SECONDS,
      Next: S.describeChild,
    },
    [S.undoChild]: {
      Type: 'Task',
      Comment:
        'A child that timed out, was aborted or failed where its own Catch could not act left what it ' +
        'merged in gold: the run-failed Lambda closes its row FAILED (interrupted) and runs the undo ' +
        'MERGEs, under the lock and before the next message. For a child that undid itself this changes ' +
        'nothing (the MERGEs are idempotent).',
      Resource: R.lambdaInvoke,
      Parameters: {
        FunctionName: resources.runFailedFunctionArn,
        Payload: {
          repair: {
            'execution_arn.$': `States.Format('${resources.pipelineExecutionArnPrefix}:{}', $.message.messageId)`,
          },
        },
      },
      ResultPath: null,
      Retry: LAMBDA_RETRY,
      // Gold may be half-merged: the drain must not take another message. It fails (and alarms); the
      // message comes back, meets ExecutionAlreadyExists, and the undo is tried again.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: S.releaseAfterFailure }],
      Next: S.deleteMessage,
    },
    [S.recordNotStarted]: {
      Type: 'Task',
      Comment:
        'The child never started: a FAILED audit row under a run id of its own and the FAILED completion ' +
        'event (which alerts). The message stays; after 3 receives it waits in the dead-letter queue.',
      Resource: R.lambdaInvoke,
      Parameters: {
        FunctionName: resources.runFailedFunctionArn,
        Payload: {
          'run_id.$': "States.Format('{}-not-started-{}', $.message.messageId, $$.Execution.Name)",
          'execution_arn.$': '$$.Execution.Id',
          'started_at.$': '$$.Execution.StartTime',
          'bucket.$': '$.message.object.bucket',
          'key.$': '$.message.object.key',
          'etag.$': '$.message.object.etag',
          state: S.runPipeline,
          'error.$': '$.runError.Error',
          'cause.$': '$.runError.Cause',
          notify: true,
        },
      },
      ResultPath: null,
      Retry: LAMBDA_RETRY,
      // Recording failed too: the message is still kept, and the dead-letter alarm stands behind it.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: S.keepMessage }],
      Next: S.keepMessage,
    },
    [S.keepMessage]: {
      Type: 'Pass',
      Comment: 'Not deleted: the object comes back after the visibility timeout',
      Parameters: nextRound,
      Next: S.nextRound,
    },
    [S.deleteMessage]: {
      Type: 'Task',
      Resource: R.deleteMessage,
      Parameters: { QueueUrl: resources.queueUrl, 'ReceiptHandle.$': '$.message.receiptHandle' },
      ResultPath: null,
      Retry: retryTransient(false),
      Catch: CATCH_RELEASE,
      Next: S.nextRound,
    },
  };
}

/**
 * One Athena task per statement, in table order; a failed statement (after retries) is reported on the
 * alert topic and the message deleted: the next schedule repeats the work.
 */
function maintenanceStates(resources: DrainResources): Record<string, AslState> {
  const { maintenance } = resources;
  const states: Record<string, AslState> = {};
  for (const operation of ['optimize', 'vacuum'] as const) {
    const statements = maintenance.statements[operation];
    statements.forEach(({ table, query }, index) => {
      const next = statements[index + 1];
      states[maintenanceState(operation, table)] = {
        Type: 'Task',
        Resource: R.athenaQuery,
        Parameters: {
          QueryString: query,
          WorkGroup: maintenance.workGroup,
          QueryExecutionContext: { Database: maintenance.database },
        },
        ResultPath: null,
        Retry: [
          {
            ErrorEquals: ['Athena.TooManyRequestsException', 'States.TaskFailed'],
            IntervalSeconds: 5,
            MaxAttempts: 2,
            BackoffRate: 2,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [
          { ErrorEquals: ['States.ALL'], ResultPath: '$.maintenanceFailure', Next: S.alertMaintenance },
        ],
        Next: next ? maintenanceState(operation, next.table) : S.deleteMessage,
      };
    });
  }
  states[S.alertMaintenance] = {
    Type: 'Task',
    Resource: R.snsPublish,
    Parameters: {
      TopicArn: maintenance.alertTopicArn,
      Subject: 'agent-etl: table maintenance failed',
      'Message.$':
        "States.Format('Table maintenance ({}) failed and waits for its next schedule: {}: {}', $.message.object.maintenance, $.maintenanceFailure.Error, $.maintenanceFailure.Cause)",
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'maintenance-failed' } },
    },
    ResultPath: null,
    Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
    // Not even the alert went out: the drain fails (its alarm), and the message comes back.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: S.releaseAfterFailure }],
    Next: S.deleteMessage,
  };
  return states;
}

/** The drain state machine as Amazon States Language. Input: anything (the rule sends `{}`). */
export function buildDrainDefinition(resources: DrainResources): DrainDefinition {
  const visibility = visibilityTimeoutSeconds(resources.pipelineTimeoutSeconds);
  const failWithCause: AslState[] = [
    { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: S.failed },
  ];

  const states: Record<string, AslState> = {
    [S.init]: {
      Type: 'Pass',
      Comment: 'The input is ignored; the round counter bounds the execution history',
      Parameters: { rounds: 0 },
      Next: S.acquire,
    },
    [S.acquire]: {
      Type: 'Task',
      Comment: 'Takes the lock: a put that succeeds only when no lock item exists',
      Resource: R.putItem,
      Parameters: {
        TableName: resources.lockTableName,
        Item: {
          ...lockKey,
          holder: { 'S.$': '$$.Execution.Id' },
          started_at: { 'S.$': '$$.Execution.StartTime' },
        },
        ConditionExpression: 'attribute_not_exists(lock_id)',
      },
      ResultPath: null,
      Retry: retryTransient(true),
      Catch: [{ ErrorEquals: [CONDITION_FAILED], ResultPath: null, Next: S.readLock }, ...CATCH_RELEASE],
      Next: S.nextRound,
    },
    [S.readLock]: {
      Type: 'Task',
      Comment: 'Who holds the lock (strongly consistent read)',
      Resource: R.getItem,
      Parameters: { TableName: resources.lockTableName, Key: lockKey, ConsistentRead: true },
      ResultPath: '$.lock',
      Retry: retryTransient(false),
      Catch: failWithCause,
      Next: S.lockPresent,
    },
    [S.lockPresent]: {
      Type: 'Choice',
      Comment: 'Released between our put and our read: try again',
      Choices: [{ Variable: '$.lock.Item.holder.S', IsPresent: true, Next: S.describeHolder }],
      Default: S.acquire,
    },
    [S.describeHolder]: {
      Type: 'Task',
      Comment: 'Is the holder still running? (DescribeExecution of the drain named in the lock)',
      Resource: R.describeExecution,
      Parameters: { 'ExecutionArn.$': '$.lock.Item.holder.S' },
      ResultSelector: { 'Status.$': '$.Status' },
      ResultPath: '$.holder',
      Retry: [
        { ErrorEquals: [EXECUTION_DOES_NOT_EXIST], MaxAttempts: 0 },
        { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 },
      ],
      Catch: [
        // A holder that never existed (an item written by hand) cannot release the lock either.
        { ErrorEquals: [EXECUTION_DOES_NOT_EXIST], ResultPath: null, Next: S.takeOver },
        ...failWithCause,
      ],
      Next: S.holderAlive,
    },
    [S.holderAlive]: {
      Type: 'Choice',
      Choices: LIVE_STATUSES.map((status) => ({
        Variable: '$.holder.Status',
        StringEquals: status,
        Next: S.anotherHolds,
      })),
      Default: S.takeOver,
    },
    [S.anotherHolds]: {
      Type: 'Succeed',
      Comment: 'Another drain holds the lock; it re-reads the queue before it lets go, so nothing waits',
    },
    [S.takeOver]: {
      Type: 'Task',
      Comment: 'The holder died, timed out or was stopped: delete its lock (only if it still holds it)',
      Resource: R.deleteItem,
      Parameters: {
        TableName: resources.lockTableName,
        Key: lockKey,
        ConditionExpression: 'holder = :dead',
        ExpressionAttributeValues: { ':dead': { 'S.$': '$.lock.Item.holder.S' } },
      },
      ResultPath: null,
      Retry: retryTransient(true),
      // Someone else took it over first: try to acquire again, which reads the new holder.
      Catch: [{ ErrorEquals: [CONDITION_FAILED], ResultPath: null, Next: S.acquire }, ...failWithCause],
      Next: S.acquire,
    },
    [S.nextRound]: {
      Type: 'Pass',
      Comment: 'Each round starts from the counter alone: nothing of earlier messages is carried',
      Parameters: { 'rounds.$': 'States.MathAdd($.rounds, 1)' },
      Next: S.roundsLeft,
    },
    [S.roundsLeft]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.rounds', NumericGreaterThan: MAX_ROUNDS_PER_EXECUTION, Next: S.handOffRelease },
      ],
      Default: S.receive,
    },
    [S.receive]: {
      Type: 'Task',
      Comment: 'One pending object, hidden from other receivers for as long as its run may take',
      Resource: R.receiveMessage,
      Parameters: {
        QueueUrl: resources.queueUrl,
        MaxNumberOfMessages: RECEIVE_BATCH,
        VisibilityTimeout: visibility,
        WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
      },
      ResultPath: '$.received',
      Retry: retryTransient(false),
      Catch: CATCH_RELEASE,
      Next: S.anyMessages,
    },
    [S.anyMessages]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.received.Messages[0]', IsPresent: true, Next: S.takeMessage }],
      Default: S.release,
    },
    ...messageStates(resources),
    [S.release]: releaseLock(resources.lockTableName, S.recheck, failWithCause),
    [S.recheck]: {
      Type: 'Task',
      Comment:
        'An object that arrived while we held the lock started a drain that found it held and ended: ' +
        'look again after letting go',
      Resource: R.getQueueAttributes,
      Parameters: { QueueUrl: resources.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] },
      ResultPath: '$.queue',
      Retry: retryTransient(false),
      Catch: failWithCause,
      Next: S.arrived,
    },
    [S.arrived]: {
      Type: 'Choice',
      // SQS returns attribute values as strings.
      Choices: [
        {
          Variable: '$.queue.Attributes.ApproximateNumberOfMessages',
          StringEquals: '0',
          Next: S.drained,
        },
      ],
      Default: S.acquire,
    },
    [S.drained]: { Type: 'Succeed' },
    [S.handOffRelease]: releaseLock(resources.lockTableName, S.startSuccessor, failWithCause),
    [S.startSuccessor]: {
      Type: 'Task',
      Comment: 'A fresh drain of the same state machine carries on with an empty history',
      Resource: R.startExecution,
      Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', Input: {} },
      ResultPath: null,
      Retry: retryTransient(false),
      Catch: failWithCause,
      Next: S.handedOff,
    },
    [S.handedOff]: { Type: 'Succeed' },
    [S.releaseAfterFailure]: releaseLock(resources.lockTableName, S.failed, [
      { ErrorEquals: ['States.ALL'], ResultPath: '$.releaseFailure', Next: S.failed },
    ]),
    [S.failed]: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
  };

  return {
    Comment:
      'agent-activity-etl: runs queued bronze objects through the pipeline one at a time, under a lock',
    StartAt: S.init,
    States: states,
  };
}
