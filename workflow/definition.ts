import { queryStringExpression, templateParameters } from './sql-template';
import {
  GET_OBJECT_DAYS_STATE,
  GET_RUN_DAYS_STATE,
  OBJECT_DAYS,
  PIPELINE_STEPS,
  RUN_DAYS,
  readSql,
  type SqlStep,
  START_STEP,
  type StepParameter,
  UNDO_STEPS,
} from './steps';

/** Names of the resources the state machine calls; the stacks pass the real ones, the local runner its own. */
export interface WorkflowResources {
  readonly glueJobName: string;
  readonly athenaWorkGroup: string;
  readonly glueDatabase: string;
  readonly eventBusName: string;
  /** The run-failed Lambda (handlers/run-failed/): records a failed run's audit row. */
  readonly runFailedFunctionArn: string;
  /** The check-summary Lambda: invoked directly when the completion event cannot be sent. */
  readonly checkSummaryFunctionArn: string;
  /** The alert topic: told when a committed run's completion event cannot be sent. */
  readonly alertTopicArn: string;
}

/** EventBridge source and detail-type of the completion event (the check-summary rule matches them). */
export const COMPLETION_EVENT = {
  source: 'agent-activity-etl',
  detailType: 'Pipeline Run Completed',
} as const;

/** Glue job arguments the state machine passes; the Glue script reads exactly these. */
export const GLUE_JOB_ARGUMENTS = ['--source_bucket', '--source_key', '--run_id'] as const;

export const LOAD_STATE = 'LoadCsvToSilver';
export const EMIT_SUCCEEDED_STATE = 'EmitRunSucceeded';
export const RECORD_FAILED_STATE = 'RecordFailedRun';
export const SUCCEED_STATE = 'RunSucceeded';
export const CHECK_WITHOUT_EVENT_STATE = 'CheckCoverageWithoutEvent';
export const ALERT_EVENT_FAILED_STATE = 'AlertCompletionEventFailed';
export const FAIL_STATE = 'RunFailed';

/** The state a failure in `state` passes through: it names the failed state for the audit row. */
export function failedAt(state: string): string {
  return `${state}Failed`;
}

export type AslState = Record<string, unknown>;
export interface AslDefinition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Record<string, AslState>;
}

const ATHENA_QUERY = 'arn:aws:states:::athena:startQueryExecution.sync';
const ATHENA_RESULTS = 'arn:aws:states:::athena:getQueryResults';
const GLUE_JOB = 'arn:aws:states:::glue:startJobRun.sync';
const PUT_EVENTS = 'arn:aws:states:::events:putEvents';
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const SNS_PUBLISH = 'arn:aws:states:::sns:publish';

/** Lambda's transient errors, retried as the Lambda integration page advises
 * (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html). */
export const LAMBDA_RETRY = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'States.TaskFailed',
    ],
    IntervalSeconds: 2,
    MaxAttempts: 3,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
];

/** Where the run's days (sql/pipeline/run_days.sql, read back by GetRunDays) sit in the state's data. */
const RUN_DAYS_PATH = 'runDays';
/** Where the object's days and runs (sql/pipeline/object_days.sql, read back by GetObjectDays) sit. */
const OBJECT_DAYS_PATH = 'objectDays';

/**
 * The base64 of each value a SQL file takes, made by the state machine's own intrinsics. Input:
 * `{bucket, key, etag}`. States.Base64Encode takes at most 10,000 characters
 * (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html); an S3 key is at most
 * 1,024 bytes and an execution name 80 characters, so none comes near it. Free text (an error's cause)
 * never goes this way: the run-failed Lambda truncates and encodes it.
 */
const PARAMETER_EXPRESSIONS: Readonly<Partial<Record<StepParameter, string>>> = {
  run_id: 'States.Base64Encode($$.Execution.Name)',
  started_at: 'States.Base64Encode($$.Execution.StartTime)',
  source_object: "States.Base64Encode(States.Format('{}/{}', $.bucket, $.key))",
  source_etag: 'States.Base64Encode($.etag)',
  first_day: `States.Base64Encode($.${RUN_DAYS_PATH}.first_day)`,
  last_day: `States.Base64Encode($.${RUN_DAYS_PATH}.last_day)`,
  object_first_day: `States.Base64Encode($.${OBJECT_DAYS_PATH}.first_day)`,
  object_last_day: `States.Base64Encode($.${OBJECT_DAYS_PATH}.last_day)`,
  object_published_run: `States.Base64Encode($.${OBJECT_DAYS_PATH}.published_run)`,
  object_unfinished_runs: `States.Base64Encode($.${OBJECT_DAYS_PATH}.unfinished_runs)`,
  loaded_first_day: `States.Base64Encode($.${OBJECT_DAYS_PATH}.loaded_first_day)`,
  loaded_last_day: `States.Base64Encode($.${OBJECT_DAYS_PATH}.loaded_last_day)`,
};

const ATHENA_RETRY = [
  {
    ErrorEquals: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
    IntervalSeconds: 2,
    MaxAttempts: 5,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  {
    // A failed query ends the .sync task as States.TaskFailed with Athena's error in the cause. The one
    // worth retrying is ICEBERG_COMMIT_ERROR (another writer committed first), for which AWS advises
    // retrying with exponential backoff; every step is idempotent, so a retry of anything else is safe.
    ErrorEquals: ['States.TaskFailed'],
    IntervalSeconds: 5,
    MaxAttempts: 4,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

/** The undo path's own pair of run-days states (a failure can come before the main path's ran). */
export function undoState(state: string): string {
  return `Undo${state}`;
}

/** The columns of RUN_DAYS's row and of OBJECT_DAYS's, in the order their files select them. */
const RUN_DAYS_COLUMNS = ['first_day', 'last_day'] as const;
const OBJECT_DAYS_COLUMNS = [
  'first_day',
  'last_day',
  'published_run',
  'unfinished_runs',
  'loaded_first_day',
  'loaded_last_day',
] as const;

/**
 * A days query (RUN_DAYS, OBJECT_DAYS), then its one row read back into `$.<path>` (each of `columns`,
 * as text) for the steps after it. Athena returns a SELECT's column names as its first row
 * (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html); each file
 * always returns every value, because a null has no VarCharValue and the path would then fail the
 * execution with States.Runtime, which no Catch takes.
 */
function daysStates(
  query: SqlStep,
  columns: readonly string[],
  path: string,
  resources: WorkflowResources,
  names: { readonly find: string; readonly get: string },
  next: string,
): Record<string, AslState> {
  return {
    [names.find]: {
      ...athenaTask(query, resources, names.get),
      ResultSelector: { 'QueryExecutionId.$': '$.QueryExecution.QueryExecutionId' },
      ResultPath: `$.${path}Query`,
    },
    [names.get]: {
      Type: 'Task',
      Comment: `The row of sql/${query.file}`,
      Resource: ATHENA_RESULTS,
      Parameters: { 'QueryExecutionId.$': `$.${path}Query.QueryExecutionId` },
      ResultSelector: Object.fromEntries(
        columns.map((column, index) => [`${column}.$`, `$.ResultSet.Rows[1].Data[${index}].VarCharValue`]),
      ),
      ResultPath: `$.${path}`,
      Retry: ATHENA_RETRY,
      Next: next,
    },
  };
}

const runDaysStates = (
  resources: WorkflowResources,
  names: { readonly find: string; readonly get: string },
  next: string,
) => daysStates(RUN_DAYS, RUN_DAYS_COLUMNS, RUN_DAYS_PATH, resources, names, next);

/** Whether a step's text takes the run's days (then RUN_DAYS must have run before it). */
function takesRunDays(step: SqlStep): boolean {
  return templateParameters(readSql(step.file)).some((name) => name === 'first_day' || name === 'last_day');
}

function catchInto(state: string): AslState[] {
  return [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: failedAt(state) }];
}

function athenaTask(step: SqlStep, resources: WorkflowResources, next: string): AslState {
  const query = queryStringExpression(readSql(step.file), PARAMETER_EXPRESSIONS);
  return {
    Type: 'Task',
    Comment: `sql/${step.file}`,
    Resource: ATHENA_QUERY,
    Parameters: {
      ...('text' in query ? { QueryString: query.text } : { 'QueryString.$': query.expression }),
      WorkGroup: resources.athenaWorkGroup,
      QueryExecutionContext: { Database: resources.glueDatabase },
    },
    ResultPath: null,
    Retry: ATHENA_RETRY,
    Next: next,
  };
}

/**
 * The pipeline as Amazon States Language. Input: `{"bucket": "...", "key": "...", "etag": "..."}` (the
 * bronze object). A RUNNING audit row, the load, each SQL step on Athena, then the completion event.
 * Any failure, in any state, passes through a state that names it, then RecordFailedRun (the run's row
 * becomes FAILED, so its rows stop counting), then the undo steps (the MERGEs again, which now recompute
 * its windows without it), then the Fail state. The FAILED completion event is sent by the run-failed
 * handler on the execution's status change, for caught and uncaught failures (timeouts, aborts) alike.
 */
export function buildDefinition(resources: WorkflowResources): AslDefinition {
  const states: Record<string, AslState> = {};
  const caught: string[] = [];
  const first = PIPELINE_STEPS[0];
  if (!first) throw new Error('the pipeline has no SQL steps');

  states[START_STEP.state] = athenaTask(START_STEP, resources, LOAD_STATE);
  caught.push(START_STEP.state);

  states[LOAD_STATE] = {
    Type: 'Task',
    Comment: 'Bronze CSV to silver Parquet and rejected rows (glue-scripts/)',
    Resource: GLUE_JOB,
    Parameters: {
      JobName: resources.glueJobName,
      Arguments: {
        '--source_bucket.$': '$.bucket',
        '--source_key.$': '$.key',
        '--run_id.$': '$$.Execution.Name',
      },
    },
    ResultPath: null,
    Retry: [
      {
        ErrorEquals: [
          'Glue.ConcurrentRunsExceededException',
          'Glue.ThrottlingException',
          'Glue.InternalServiceException',
        ],
        IntervalSeconds: 30,
        MaxAttempts: 5,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
    ],
    Next: OBJECT_DAYS.state,
  };
  caught.push(LOAD_STATE);

  // The object's days, for FindAffectedWindows: read once, after the load wrote this run's.
  Object.assign(
    states,
    daysStates(
      OBJECT_DAYS,
      OBJECT_DAYS_COLUMNS,
      OBJECT_DAYS_PATH,
      resources,
      { find: OBJECT_DAYS.state, get: GET_OBJECT_DAYS_STATE },
      first.state,
    ),
  );
  caught.push(OBJECT_DAYS.state, GET_OBJECT_DAYS_STATE);

  // The run's days are read once, just before the first step that takes them; they come from the
  // windows FindAffectedWindows writes, so the first step cannot take them.
  const daysBefore = PIPELINE_STEPS.findIndex(takesRunDays);
  if (daysBefore === 0)
    throw new Error(`${first.state} cannot take the run's days: they come from its windows`);
  PIPELINE_STEPS.forEach((step, index) => {
    const following = PIPELINE_STEPS[index + 1];
    const next = index + 1 === daysBefore ? RUN_DAYS.state : (following?.state ?? EMIT_SUCCEEDED_STATE);
    states[step.state] = athenaTask(step, resources, next);
    caught.push(step.state);
    if (index + 1 === daysBefore && following) {
      Object.assign(
        states,
        runDaysStates(resources, { find: RUN_DAYS.state, get: GET_RUN_DAYS_STATE }, following.state),
      );
      caught.push(RUN_DAYS.state, GET_RUN_DAYS_STATE);
    }
  });

  const completionDetail = {
    status: 'SUCCEEDED',
    'run_id.$': '$$.Execution.Name',
    'execution_arn.$': '$$.Execution.Id',
    'started_at.$': '$$.Execution.StartTime',
    'bucket.$': '$.bucket',
    'key.$': '$.key',
  };
  states[EMIT_SUCCEEDED_STATE] = {
    Type: 'Task',
    Resource: PUT_EVENTS,
    Parameters: {
      Entries: [
        {
          EventBusName: resources.eventBusName,
          Source: COMPLETION_EVENT.source,
          DetailType: COMPLETION_EVENT.detailType,
          Detail: completionDetail,
        },
      ],
    },
    ResultPath: null,
    Retry: [
      {
        // A refused entry fails the task as EventBridge.FailedEntry
        // (https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html).
        ErrorEquals: ['EventBridge.EventBridgeException', 'EventBridge.FailedEntry', 'States.TaskFailed'],
        IntervalSeconds: 1,
        MaxAttempts: 3,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
    ],
    // The run committed (RecordRun made it SUCCEEDED): a lost event must not undo right data. It goes to
    // the check itself and to the alert topic instead of the failure path.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.eventFailure', Next: CHECK_WITHOUT_EVENT_STATE }],
    Next: SUCCEED_STATE,
  };
  states[CHECK_WITHOUT_EVENT_STATE] = {
    Type: 'Task',
    Comment:
      'The coverage check the completion rule would have started, with the event it would have carried',
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: resources.checkSummaryFunctionArn,
      Payload: {
        'id.$': '$$.Execution.Name',
        source: COMPLETION_EVENT.source,
        'detail-type': COMPLETION_EVENT.detailType,
        'time.$': '$$.Execution.StartTime',
        detail: completionDetail,
      },
    },
    ResultPath: null,
    Retry: LAMBDA_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.checkFailure', Next: ALERT_EVENT_FAILED_STATE }],
    Next: ALERT_EVENT_FAILED_STATE,
  };
  states[ALERT_EVENT_FAILED_STATE] = {
    Type: 'Task',
    Comment: 'The run stays SUCCEEDED; the lost event is reported on the alert topic',
    Resource: SNS_PUBLISH,
    Parameters: {
      TopicArn: resources.alertTopicArn,
      Subject: 'agent-etl: a completion event could not be sent',
      'Message.$':
        "States.Format('Run {} of {}/{} committed and stays SUCCEEDED, but its completion event failed ({}); the coverage check was invoked directly.', $$.Execution.Name, $.bucket, $.key, $.eventFailure.Error)",
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'completion-event-failed' } },
    },
    ResultPath: null,
    Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
    // Nothing is left to tell: the execution history keeps the event's failure.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.alertFailure', Next: SUCCEED_STATE }],
    Next: SUCCEED_STATE,
  };
  states[SUCCEED_STATE] = { Type: 'Succeed' };

  for (const name of caught) {
    states[name] = { ...states[name], Catch: catchInto(name) };
    states[failedAt(name)] = {
      Type: 'Pass',
      Result: name,
      ResultPath: '$.failedState',
      Next: RECORD_FAILED_STATE,
    };
  }

  const undoDays = { find: undoState(RUN_DAYS.state), get: undoState(GET_RUN_DAYS_STATE) };
  const undoDaysBefore = UNDO_STEPS.findIndex(takesRunDays);
  const firstUndo = undoDaysBefore === 0 ? undoDays.find : (UNDO_STEPS[0]?.state ?? FAIL_STATE);
  // Nothing in the failure branch may hide the failure: each of its states is caught into the Fail state.
  const onward = (key: string) => [{ ErrorEquals: ['States.ALL'], ResultPath: `$.${key}`, Next: FAIL_STATE }];
  states[RECORD_FAILED_STATE] = {
    Type: 'Task',
    Comment: 'The FAILED audit row (handlers/run-failed/), before the undo steps run',
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: resources.runFailedFunctionArn,
      Payload: {
        'run_id.$': '$$.Execution.Name',
        'execution_arn.$': '$$.Execution.Id',
        'started_at.$': '$$.Execution.StartTime',
        'bucket.$': '$.bucket',
        'key.$': '$.key',
        'etag.$': '$.etag',
        'state.$': '$.failedState',
        'error.$': '$.failure.Error',
        'cause.$': '$.failure.Cause',
      },
    },
    ResultPath: null,
    Retry: LAMBDA_RETRY,
    // Undoing needs the FAILED row (without it the run's rows would still count); go straight to the end.
    Catch: onward('recordFailure'),
    Next: firstUndo,
  };
  UNDO_STEPS.forEach((step, index) => {
    const following = UNDO_STEPS[index + 1];
    const next = index + 1 === undoDaysBefore ? undoDays.find : (following?.state ?? FAIL_STATE);
    states[step.state] = { ...athenaTask(step, resources, next), Catch: onward('undoFailure') };
  });
  if (undoDaysBefore >= 0) {
    const days = runDaysStates(resources, undoDays, UNDO_STEPS[undoDaysBefore]?.state ?? FAIL_STATE);
    for (const [name, state] of Object.entries(days))
      states[name] = { ...state, Catch: onward('undoFailure') };
  }
  states[FAIL_STATE] = { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' };

  return {
    Comment: 'agent-activity-etl: bronze CSV -> silver Parquet -> gold intervals and weekly summary',
    StartAt: START_STEP.state,
    TimeoutSeconds: 3600,
    States: states,
  };
}
