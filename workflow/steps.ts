import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expandIncludes } from './sql-include';

/** Where the SQL lives; `dist/` and the sources both sit one level below the repository root. */
export const SQL_DIR = resolve(__dirname, '..', 'sql');

/**
 * Values a SQL step can take. A file names them as `{name}` inside a string literal, always as
 * `from_utf8(from_base64('{name}'))`: the state machine fills in the base64 of the value with its own
 * intrinsics (workflow/sql-template.ts), so no value, whatever it holds, can break a literal, and no
 * Athena ExecutionParameter is needed (Athena allows those only in WHERE clauses of SELECT and INSERT).
 */
export type StepParameter =
  | 'run_id'
  | 'started_at'
  | 'source_object'
  | 'source_etag'
  | 'error'
  | 'first_day'
  | 'last_day'
  | 'object_first_day'
  | 'object_last_day'
  | 'object_published_run'
  | 'object_unfinished_runs'
  | 'loaded_first_day'
  | 'loaded_last_day';

export interface SqlStep {
  /** State name in the state machine; reads as what the step does. */
  readonly state: string;
  /** Path below `sql/`. */
  readonly file: string;
}

/** The first step of every run, before the load: its RUNNING audit row. */
export const START_STEP: SqlStep = { state: 'RecordRunStarted', file: 'pipeline/00_record_run_started.sql' };

/**
 * What FindAffectedWindows starts from: the days of the run's object (`object_first_day`,
 * `object_last_day`: this run's, its latest successful run's, its unfinished runs' windows'), that latest
 * successful run (`object_published_run`) and those unfinished runs (`object_unfinished_runs`); and the
 * days this run loaded (`loaded_first_day`, `loaded_last_day`), for MergeKnownExtensions and RecordRun. A
 * SELECT whose one row the state machine reads back and writes into those statements as literals, so
 * that loaded_days and the object's runs are read once a run, and Athena prunes the days' partitions
 * when it plans each statement.
 */
export const OBJECT_DAYS: SqlStep = { state: 'FindObjectDays', file: 'pipeline/object_days.sql' };
/** The state that reads OBJECT_DAYS's row (athena:getQueryResults). */
export const GET_OBJECT_DAYS_STATE = 'GetObjectDays';

/**
 * The days the steps after FindAffectedWindows can touch (`first_day`, `last_day`): a SELECT whose one
 * row the state machine reads back and writes into those steps as literals, so that Athena prunes their
 * silver partitions and their MERGE targets' Iceberg partitions when it plans them. The undo path reads
 * it again (a failure can come before it ran); a run without windows gets an empty range.
 */
export const RUN_DAYS: SqlStep = { state: 'FindRunDays', file: 'pipeline/run_days.sql' };
/** The state that reads RUN_DAYS's row (athena:getQueryResults). */
export const GET_RUN_DAYS_STATE = 'GetRunDays';

/** The transform, in order: every run executes these after the load, each once. */
export const PIPELINE_STEPS: readonly SqlStep[] = [
  { state: 'FindAffectedWindows', file: 'pipeline/01_affected_windows.sql' },
  { state: 'ClearFinishedWindows', file: 'pipeline/02_clear_finished_windows.sql' },
  { state: 'MergeIntervals', file: 'pipeline/03_merge_intervals.sql' },
  { state: 'AppendIntervals', file: 'pipeline/04_append_intervals.sql' },
  { state: 'MergeWeeklySummary', file: 'pipeline/05_merge_weekly_summary.sql' },
  { state: 'MergeKnownExtensions', file: 'pipeline/06_merge_known_extensions.sql' },
  { state: 'RecordRun', file: 'pipeline/07_record_run.sql' },
];

/**
 * After a failure is recorded, the same statements run again: the failed run's rows no longer count, so
 * they recompute its windows from what the other runs published, which undoes whatever it merged or
 * appended. UndoMergeIntervals recomputes every window holding rows (the appended ones included);
 * UndoAppendIntervals then fills the windows left without rows (one the failed run emptied).
 */
export const UNDO_STEPS: readonly SqlStep[] = [
  { state: 'UndoMergeIntervals', file: 'pipeline/03_merge_intervals.sql' },
  { state: 'UndoAppendIntervals', file: 'pipeline/04_append_intervals.sql' },
  { state: 'UndoMergeWeeklySummary', file: 'pipeline/05_merge_weekly_summary.sql' },
];

/** The audit row of a failed run, written by the run-failed handler (it truncates the error first). */
export const FAILED_RUN_FILE = 'failure/record_failed_run.sql';

/** Statements run once when a catalog is set up (the report view). */
export const SETUP_FILES: readonly string[] = [
  'views/agent_intervals_report.sql',
  'views/published_rejected_rows.sql',
];

/** A file of `sql/`, with its `-- include` lines expanded: the text both engines run. */
export function readSql(file: string): string {
  const read = (name: string) => readFileSync(join(SQL_DIR, name), 'utf8');
  return expandIncludes(read(file), read);
}
