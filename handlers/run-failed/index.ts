import recordSql from '../../sql/failure/record_failed_run.sql';
import { awsDependencies, createRunFailedHandler } from './handler';

/** RecordFailedRun of the state machine, and the backstop rule on the pipeline's failed executions. */
export const handler = createRunFailedHandler(() => awsDependencies(process.env, recordSql));
