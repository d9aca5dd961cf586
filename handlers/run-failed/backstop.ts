import { renderSql } from '../../workflow/sql-template';
import type { CompletionDetail } from '../check-summary/events';
import type { QueryEngine } from '../ports';
import { MAX_ERROR_CHARACTERS, type RunFailure, recordFailedRun, runStatus, truncate } from './record';

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

/** What a run's row says when its execution ended without its own undo (timeout, abort, runtime error). */
export const INTERRUPTED_CAUSE = 'the run was interrupted before it could undo its changes';

/** The FAILED row of an execution that ended before its own catch could record it. */
export function interruptedFailure(execution: EndedExecution): RunFailure {
  return {
    runId: execution.runId,
    startedAt: execution.startedAt,
    bucket: execution.bucket,
    key: execution.key,
    etag: execution.etag,
    state: `Interrupted (execution ${execution.status})`,
    error: execution.error ?? `States.${execution.status === 'TIMED_OUT' ? 'Timeout' : 'Aborted'}`,
    cause: execution.cause ? `${INTERRUPTED_CAUSE}: ${execution.cause}` : INTERRUPTED_CAUSE,
  };
}

export interface BackstopDependencies {
  readonly engine: QueryEngine;
  /** sql/failure/record_failed_run.sql */
  readonly recordSql: string;
  /** Sends the completion event (EventBridge PutEvents in AWS, the outbox locally). */
  readonly emit: (detail: CompletionDetail) => Promise<void>;
}

/** What undoing a run runs: the query of its days (workflow/steps.ts RUN_DAYS), then the undo MERGEs. */
export interface UndoSql {
  /** sql/pipeline/run_days.sql */
  readonly runDays: string;
  /** The undo MERGEs (workflow/steps.ts UNDO_STEPS), in order. */
  readonly steps: readonly string[];
}

export interface RepairDependencies {
  readonly engine: QueryEngine;
  /** sql/failure/record_failed_run.sql */
  readonly recordSql: string;
  readonly undoSql: UndoSql;
}

const DAY = /^\d{4}-\d\d-\d\d$/;

/**
 * The values a step after FindAffectedWindows takes: the run and its days, from the run-days query
 * (sql/pipeline/run_days.sql), as GetRunDays reads them back in the state machine.
 */
export async function runDayValues(
  engine: QueryEngine,
  runDaysSql: string,
  runId: string,
): Promise<{ run_id: string; first_day: string; last_day: string }> {
  const [days] = await engine.query(renderSql(runDaysSql, { run_id: runId }));
  const first = String(days?.first_day);
  const last = String(days?.last_day);
  if (!DAY.test(first) || !DAY.test(last)) {
    throw new Error(`the days of run ${runId} are not two dates (first_day ${first}, last_day ${last})`);
  }
  return { run_id: runId, first_day: first, last_day: last };
}

/**
 * Recomputes a failed run's windows without it, as the state machine's undo path does: the run's days
 * first (they become literals of the MERGEs, as GetRunDays makes them), then each undo MERGE.
 */
export async function undoRun(engine: QueryEngine, undo: UndoSql, runId: string): Promise<void> {
  const values = await runDayValues(engine, undo.runDays, runId);
  for (const sql of undo.steps) await engine.query(renderSql(sql, values));
}

/**
 * The drain's repair of a child that ended without success, run under the lock before the next message:
 * the row is closed FAILED (as interrupted, unless the run already recorded its own failure), then the
 * undo MERGEs recompute the run's windows without it. For a run that undid itself this changes nothing:
 * the row stays as it was and the MERGEs give the same gold again.
 */
export async function repairEndedRun(
  deps: RepairDependencies,
  execution: EndedExecution,
): Promise<{ readonly repaired: true }> {
  await recordFailedRun(deps.engine, deps.recordSql, interruptedFailure(execution));
  const status = await runStatus(deps.engine, execution.runId);
  if (status !== 'FAILED') {
    throw new Error(
      `run ${execution.runId} is ${status ?? 'missing'} after recording its failure; not undone`,
    );
  }
  await undoRun(deps.engine, deps.undoSql, execution.runId);
  return { repaired: true };
}

/**
 * Every execution that did not succeed ends here, caught or not: a failure the state machine caught
 * already has its FAILED row (and its changes undone); a timeout, an abort or a runtime error does not,
 * and gets one now (its changes are undone by the drain, under the lock: `repairEndedRun`). Either way
 * the FAILED completion event goes out, so check-summary alerts.
 */
export async function handleEndedExecution(
  deps: BackstopDependencies,
  execution: EndedExecution,
): Promise<{ readonly recorded: boolean }> {
  const status = await runStatus(deps.engine, execution.runId);
  const recorded = status !== 'FAILED';
  if (recorded) await recordFailedRun(deps.engine, deps.recordSql, interruptedFailure(execution));
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
