import { renderSql } from '../../workflow/sql-template';
import type { QueryEngine } from '../ports';

/** A failed run, as the state machine's catch or the execution's status change describes it. */
export interface RunFailure {
  readonly runId: string;
  readonly startedAt: string;
  readonly bucket: string;
  readonly key: string;
  readonly etag?: string;
  /** The state that failed, when the state machine caught the failure. */
  readonly state?: string;
  readonly error: string;
  readonly cause?: string;
}

/**
 * A Step Functions Cause may hold 32,768 characters (a Glue job's error, an Athena query text); the audit
 * row keeps a readable part of it. The whole cause stays in the execution's history.
 */
export const MAX_ERROR_CHARACTERS = 2_000;

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)} … [truncated from ${text.length} characters]`;
}

/** `State: Error: cause`, truncated: what `pipeline_runs.error` holds for a failed run. */
export function describeFailure(failure: RunFailure): string {
  const parts = [failure.state, failure.error, failure.cause?.trim()].filter((part) => part);
  return truncate(parts.join(': '), MAX_ERROR_CHARACTERS);
}

export async function runStatus(engine: QueryEngine, runId: string): Promise<string | undefined> {
  const [row] = await engine.query(`select status from pipeline_runs where run_id = ?`, [runId]);
  return row?.status === undefined || row.status === null ? undefined : String(row.status);
}

/**
 * Makes the run's audit row FAILED (or writes it, when the run failed before it had one), with the
 * failure truncated. `sql` is sql/failure/record_failed_run.sql; every value enters it as base64.
 */
export async function recordFailedRun(engine: QueryEngine, sql: string, failure: RunFailure): Promise<void> {
  await engine.query(
    renderSql(sql, {
      run_id: failure.runId,
      source_object: `${failure.bucket}/${failure.key}`,
      source_etag: failure.etag ?? '',
      started_at: failure.startedAt,
      error: describeFailure(failure),
    }),
  );
}
