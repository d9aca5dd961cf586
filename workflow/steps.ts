import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the SQL lives; `dist/` and the sources both sit one level below the repository root. */
export const SQL_DIR = resolve(__dirname, '..', 'sql');

/**
 * Values a SQL step can take, in the order its `?` placeholders appear. Each becomes an Athena
 * ExecutionParameter (a SQL literal) in AWS and a prepared-statement value locally.
 */
export type StepParameter = 'run_id' | 'started_at' | 'source_object_b64' | 'error_b64';

export interface SqlStep {
  /** State name in the state machine; reads as what the step does. */
  readonly state: string;
  /** Path below `sql/`. */
  readonly file: string;
  readonly parameters: readonly StepParameter[];
}

/** The transform, in order: every run executes these after the load, each once. */
export const PIPELINE_STEPS: readonly SqlStep[] = [
  { state: 'FindAffectedWindows', file: 'pipeline/01_affected_windows.sql', parameters: ['run_id'] },
  { state: 'MergeIntervals', file: 'pipeline/02_merge_intervals.sql', parameters: ['run_id'] },
  { state: 'MergeWeeklySummary', file: 'pipeline/03_merge_weekly_summary.sql', parameters: ['run_id'] },
  { state: 'MergeSourceExtents', file: 'pipeline/04_merge_source_extents.sql', parameters: ['run_id'] },
  { state: 'RecordRun', file: 'pipeline/05_record_run.sql', parameters: ['run_id', 'started_at'] },
  { state: 'ClearAffectedWindows', file: 'pipeline/06_clear_affected_windows.sql', parameters: ['run_id'] },
];

/** Runs when any step fails: the audit row of a failed run. */
export const FAILED_RUN_STEP: SqlStep = {
  state: 'RecordFailedRun',
  file: 'failure/record_failed_run.sql',
  parameters: ['run_id', 'started_at', 'source_object_b64', 'error_b64'],
};

/** Statements run once when a catalog is set up (the report view). */
export const SETUP_FILES: readonly string[] = ['views/agent_intervals_report.sql'];

export function readSql(file: string): string {
  return readFileSync(join(SQL_DIR, file), 'utf8');
}
