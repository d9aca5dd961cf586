import { FAILED_RUN_STEP, PIPELINE_STEPS, readSql, type SqlStep, type StepParameter } from './steps';

/** Names of the resources the state machine calls; the stacks pass the real ones, the local runner its own. */
export interface WorkflowResources {
  readonly glueJobName: string;
  readonly athenaWorkGroup: string;
  readonly glueDatabase: string;
  readonly eventBusName: string;
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
export const EMIT_FAILED_STATE = 'EmitRunFailed';
export const FAIL_STATE = 'RunFailed';

export type AslState = Record<string, unknown>;
export interface AslDefinition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Record<string, AslState>;
}

const ATHENA_QUERY = 'arn:aws:states:::athena:startQueryExecution.sync';
const GLUE_JOB = 'arn:aws:states:::glue:startJobRun.sync';
const PUT_EVENTS = 'arn:aws:states:::events:putEvents';

/**
 * Athena ExecutionParameters are SQL literals: strings go in quoted. Only values that cannot hold a
 * quote are quoted as they are (execution names and timestamps); free text travels as base64.
 */
const PARAMETER_EXPRESSIONS: Record<StepParameter, string> = {
  run_id: "States.Format('\\'{}\\'', $$.Execution.Name)",
  started_at: "States.Format('\\'{}\\'', $$.Execution.StartTime)",
  source_object_b64:
    "States.Format('\\'{}\\'', States.Base64Encode(States.Format('{}/{}', $.bucket, $.key)))",
  error_b64:
    "States.Format('\\'{}\\'', States.Base64Encode(States.Format('{}: {}', $.failure.Error, $.failure.Cause)))",
};

const CATCH_ALL = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: FAILED_RUN_STEP.state }];

const ATHENA_RETRY = [
  {
    ErrorEquals: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
    IntervalSeconds: 2,
    MaxAttempts: 5,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  // A failed query (an Iceberg commit conflict, a transient S3 error) is retried; every step is idempotent.
  { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 5, MaxAttempts: 2, BackoffRate: 2 },
];

function athenaTask(step: SqlStep, resources: WorkflowResources, next: string, catchAll: boolean): AslState {
  const parameters: Record<string, unknown> = {
    QueryString: readSql(step.file),
    WorkGroup: resources.athenaWorkGroup,
    QueryExecutionContext: { Database: resources.glueDatabase },
  };
  const expressions = step.parameters.map((name) => PARAMETER_EXPRESSIONS[name]);
  if (expressions.length > 0) parameters['ExecutionParameters.$'] = `States.Array(${expressions.join(', ')})`;
  return {
    Type: 'Task',
    Comment: `sql/${step.file}`,
    Resource: ATHENA_QUERY,
    Parameters: parameters,
    ResultPath: null,
    Retry: ATHENA_RETRY,
    ...(catchAll ? { Catch: CATCH_ALL } : {}),
    Next: next,
  };
}

function completionEvent(
  resources: WorkflowResources,
  status: 'SUCCEEDED' | 'FAILED',
  next: string,
): AslState {
  const detail: Record<string, unknown> = {
    status,
    'run_id.$': '$$.Execution.Name',
    'execution_arn.$': '$$.Execution.Id',
    'started_at.$': '$$.Execution.StartTime',
    'bucket.$': '$.bucket',
    'key.$': '$.key',
  };
  if (status === 'FAILED') {
    detail['error.$'] = '$.failure.Error';
    detail['cause.$'] = '$.failure.Cause';
  }
  return {
    Type: 'Task',
    Resource: PUT_EVENTS,
    Parameters: {
      Entries: [
        {
          EventBusName: resources.eventBusName,
          Source: COMPLETION_EVENT.source,
          DetailType: COMPLETION_EVENT.detailType,
          Detail: detail,
        },
      ],
    },
    ResultPath: null,
    Retry: [
      {
        ErrorEquals: ['EventBridge.EventBridgeException', 'States.TaskFailed'],
        IntervalSeconds: 1,
        MaxAttempts: 3,
        BackoffRate: 2,
      },
    ],
    Next: next,
  };
}

/**
 * The pipeline as Amazon States Language. Input: `{"bucket": "...", "key": "..."}` (the bronze object).
 * Load, then each SQL step on Athena, then the completion event; any failure records a FAILED run,
 * emits the completion event with the error and ends the execution as failed.
 */
export function buildDefinition(resources: WorkflowResources): AslDefinition {
  const states: Record<string, AslState> = {};
  const first = PIPELINE_STEPS[0];
  if (!first) throw new Error('the pipeline has no SQL steps');

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
    Catch: CATCH_ALL,
    Next: first.state,
  };

  PIPELINE_STEPS.forEach((step, index) => {
    const next = PIPELINE_STEPS[index + 1]?.state ?? EMIT_SUCCEEDED_STATE;
    states[step.state] = athenaTask(step, resources, next, true);
  });
  states[EMIT_SUCCEEDED_STATE] = { ...completionEvent(resources, 'SUCCEEDED', 'RunSucceeded') };
  states.RunSucceeded = { Type: 'Succeed' };

  states[FAILED_RUN_STEP.state] = {
    ...athenaTask(FAILED_RUN_STEP, resources, EMIT_FAILED_STATE, false),
    // Recording the failure must not hide it: whatever happens here, the event still goes out.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordFailure', Next: EMIT_FAILED_STATE }],
  };
  states[EMIT_FAILED_STATE] = completionEvent(resources, 'FAILED', FAIL_STATE);
  states[FAIL_STATE] = { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' };

  return {
    Comment: 'agent-activity-etl: bronze CSV -> silver Parquet -> gold intervals and weekly summary',
    StartAt: LOAD_STATE,
    TimeoutSeconds: 3600,
    States: states,
  };
}
