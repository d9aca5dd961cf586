import recordSql from '../../sql/failure/record_failed_run.sql';
import mergeIntervals from '../../sql/pipeline/03_merge_intervals.sql';
import appendIntervals from '../../sql/pipeline/04_append_intervals.sql';
import mergeWeeklySummary from '../../sql/pipeline/05_merge_weekly_summary.sql';
import runDays from '../../sql/pipeline/run_days.sql';
import productiveTime from '../../sql/rule/productive_time.ctes';
import withheldRuns from '../../sql/rule/withheld_runs.ctes';
import { expandIncludes } from '../../workflow/sql-include';
import type { UndoSql } from './backstop';
import { awsDependencies, createRunFailedHandler } from './handler';

/** The files the undo statements include, as the bundle carries them. */
const INCLUDED: Readonly<Record<string, string>> = {
  'rule/productive_time.ctes': productiveTime,
  'rule/withheld_runs.ctes': withheldRuns,
};

const withIncludes = (sql: string) =>
  expandIncludes(sql, (file) => {
    const text = INCLUDED[file];
    if (text === undefined) throw new Error(`run-failed: ${file} is included but not bundled`);
    return text;
  });

/** The run's days (workflow/steps.ts RUN_DAYS) and the undo statements of UNDO_STEPS, bundled as text,
 * includes expanded (__tests__/handlers/run-failed.test.ts checks that they are the same files in the
 * same order). */
export const UNDO_SQL: UndoSql = {
  runDays,
  steps: [mergeIntervals, appendIntervals, mergeWeeklySummary].map(withIncludes),
};

/** RecordFailedRun of the state machine, the backstop rule on the pipeline's failed executions, and the
 * drain's record and repair of its children. */
export const handler = createRunFailedHandler(() => awsDependencies(process.env, recordSql, UNDO_SQL));
