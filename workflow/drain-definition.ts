import type { AslDefinition, AslState } from './definition';

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
  /** The pipeline definition's own TimeoutSeconds: a child never runs longer. */
  readonly pipelineTimeoutSeconds: number;
}

/** The lock item's key: one lock, for the one set of gold tables. */
export const LOCK_ID = 'pipeline';

/** ReceiveMessage returns at most 10 messages ("MaxNumberOfMessages: valid values 1 to 10",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). */
export const RECEIVE_BATCH = 10;

/** Long polling queries every SQS server, so an empty answer means an empty queue rather than an
 * unlucky sample of servers; the wait is at most 20 s (API_ReceiveMessage, WaitTimeSeconds). */
export const RECEIVE_WAIT_SECONDS = 10;

/** SQS refuses a visibility timeout above 12 hours (43,200 s, API_ReceiveMessage, VisibilityTimeout). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Time allowed around one child run for StartExecution, the .sync completion poll and DeleteMessage. */
const CHILD_OVERHEAD_SECONDS = 300;

/**
 * A Standard execution's history holds at most 25,000 events
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). One round (count, receive,
 * choice, Map) writes about 15 events and each message about 13 (Map iteration, the `.sync` task, the
 * delete), so a round of 10 messages is under 150 and 100 rounds under 15,000, with room for failures.
 * After that many rounds the drain releases the lock and starts a fresh drain to carry on
 * (https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-continue-new.html).
 */
export const MAX_ROUNDS_PER_EXECUTION = 100;

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
  receive: 'ReceiveBatch',
  anyMessages: 'AnyMessages',
  process: 'ProcessBatch',
  runPipeline: 'RunPipeline',
  deleteMessage: 'DeleteMessage',
  keepMessage: 'KeepMessageForRedelivery',
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
} as const;

/**
 * Optimized DynamoDB integrations name service errors `DynamoDB.<Exception>`; a failed condition is
 * `ConditionalCheckFailedException` (https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_Errors).
 */
export const CONDITION_FAILED = 'DynamoDB.ConditionalCheckFailedException';

/**
 * StartExecution refusals: the child never started, so its object must not be dropped. They are retried,
 * then the message is left in the queue to come back after its visibility timeout (and after 3 receives
 * reach the dead-letter queue). Everything else means the child ran and recorded its outcome
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#API_StartExecution_Errors).
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
 * DescribeExecution statuses of a drain that may still act as the holder: RUNNING, and PENDING_REDRIVE
 * (a redriven execution resumes where it failed). Anything else (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
 * can no longer release the lock, so another drain may take it over
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
 */
export const LIVE_STATUSES = ['RUNNING', 'PENDING_REDRIVE'] as const;

/** Visibility that outlasts a whole batch run one message after another; refuses what SQS refuses. */
export function visibilityTimeoutSeconds(pipelineTimeoutSeconds: number): number {
  const seconds = RECEIVE_BATCH * (pipelineTimeoutSeconds + CHILD_OVERHEAD_SECONDS);
  if (seconds > SQS_MAX_VISIBILITY_SECONDS) {
    throw new Error(
      `a batch of ${RECEIVE_BATCH} runs of up to ${pipelineTimeoutSeconds} s needs a visibility timeout of ${seconds} s; SQS allows at most ${SQS_MAX_VISIBILITY_SECONDS} s`,
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
      Comment: 'Up to 10 pending objects, hidden from other receivers for longer than their runs take',
      Resource: R.receiveMessage,
      Parameters: {
        QueueUrl: resources.queueUrl,
        MaxNumberOfMessages: RECEIVE_BATCH,
        VisibilityTimeout: visibility,
        WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
      },
      ResultPath: '$.batch',
      Retry: retryTransient(false),
      Catch: CATCH_RELEASE,
      Next: S.anyMessages,
    },
    [S.anyMessages]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.batch.Messages[0]', IsPresent: true, Next: S.process }],
      Default: S.release,
    },
    [S.process]: {
      Type: 'Map',
      Comment: 'One object at a time: MaxConcurrency 1 runs the iterations one after another',
      ItemsPath: '$.batch.Messages',
      MaxConcurrency: 1,
      ItemSelector: {
        'messageId.$': '$$.Map.Item.Value.MessageId',
        'body.$': '$$.Map.Item.Value.Body',
        'receiptHandle.$': '$$.Map.Item.Value.ReceiptHandle',
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: S.runPipeline,
        States: {
          [S.runPipeline]: {
            Type: 'Task',
            Comment:
              'The pipeline as a child execution, waited for (.sync:2 returns its output as JSON). Named by the ' +
              'message id: a message received again while its run is still going attaches to that run, and ' +
              'one whose run has ended is refused as ExecutionAlreadyExists instead of running twice ' +
              '(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html)',
            Resource: R.startExecutionSync,
            Parameters: {
              StateMachineArn: resources.pipelineStateMachineArn,
              'Name.$': '$.messageId',
              'Input.$': 'States.StringToJson($.body)',
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
            Catch: [
              { ErrorEquals: CHILD_NOT_STARTED, ResultPath: '$.startFailure', Next: S.keepMessage },
              // A failed run records itself (pipeline_runs, the FAILED completion event); the drain carries on.
              { ErrorEquals: ['States.ALL'], ResultPath: '$.runFailure', Next: S.deleteMessage },
            ],
            Next: S.deleteMessage,
          },
          [S.keepMessage]: {
            Type: 'Pass',
            Comment: 'Not deleted: the object comes back after the visibility timeout',
            End: true,
          },
          [S.deleteMessage]: {
            Type: 'Task',
            Resource: R.deleteMessage,
            Parameters: { QueueUrl: resources.queueUrl, 'ReceiptHandle.$': '$.receiptHandle' },
            ResultPath: null,
            Retry: retryTransient(false),
            End: true,
          },
        },
      },
      ResultPath: null,
      Catch: CATCH_RELEASE,
      Next: S.nextRound,
    },
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
