import type { CompletionDetail } from '../check-summary/events';
import type { QueryEngine } from '../ports';
import { MAX_ERROR_CHARACTERS, recordFailedRun, runStatus, truncate } from './record';

/** An execution that ended FAILED, TIMED_OUT or ABORTED, as its status change and DescribeExecution tell. */
export interface EndedExecution {
  readonly runId: string;
  readonly executionArn: string;
  readonly startedAt: string;
  readonly status: 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly bucket: string;
  readonly key: string;
  readonly etag?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface BackstopDependencies {
  readonly engine: QueryEngine;
  /** sql/failure/record_failed_run.sql */
  readonly recordSql: string;
  /** Sends the completion event (EventBridge PutEvents in AWS, the outbox locally). */
  readonly emit: (detail: CompletionDetail) => Promise<void>;
}

/**
 * Every execution that did not succeed ends here, caught or not: a failure the state machine caught
 * already has its FAILED row (and its changes undone); a timeout, an abort or a runtime error does not,
 * and gets one now. Either way the FAILED completion event goes out, so check-summary alerts.
 */
export async function handleEndedExecution(
  deps: BackstopDependencies,
  execution: EndedExecution,
): Promise<{ readonly recorded: boolean }> {
  const status = await runStatus(deps.engine, execution.runId);
  const recorded = status !== 'FAILED';
  if (recorded) {
    await recordFailedRun(deps.engine, deps.recordSql, {
      runId: execution.runId,
      startedAt: execution.startedAt,
      bucket: execution.bucket,
      key: execution.key,
      etag: execution.etag,
      state: `Execution ${execution.status}`,
      error: execution.error ?? `States.${execution.status === 'TIMED_OUT' ? 'Timeout' : 'Aborted'}`,
      cause: execution.cause,
    });
  }
  const [row] = await deps.engine.query('select error from pipeline_runs where run_id = ?', [
    execution.runId,
  ]);
  await deps.emit({
    status: 'FAILED',
    run_id: execution.runId,
    execution_arn: execution.executionArn,
    started_at: execution.startedAt,
    bucket: execution.bucket,
    key: execution.key,
    error: String(row?.error ?? execution.error ?? execution.status),
    ...(execution.cause ? { cause: truncate(execution.cause, MAX_ERROR_CHARACTERS) } : {}),
  });
  return { recorded };
}
