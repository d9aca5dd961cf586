import { athenaResultSet } from '../../local/strict-twin';

/** The days a sample run's GetRunDays reads back. */
export const SAMPLE_RUN_DAYS = { first_day: '2024-11-17', last_day: '2024-11-20' };

/**
 * What a sample run's GetObjectDays reads back after the same days: the object's runs, and the days the
 * run loaded (inside its windows' days).
 */
export const SAMPLE_OBJECT_RUNS = {
  published_run: 'run-before',
  unfinished_runs: ',run-killed,',
  loaded_first_day: '2024-11-18',
  loaded_last_day: '2024-11-19',
};

/**
 * What a task of the state machine answers when a test stands in for every service: an Athena query
 * its execution id, GetQueryResults the sample run's days and its object's runs (as Athena pages a
 * SELECT; GetRunDays takes the first two columns), the rest nothing.
 */
export function sampleAnswer(resource: unknown): unknown {
  if (resource === 'arn:aws:states:::athena:startQueryExecution.sync')
    return { QueryExecution: { QueryExecutionId: 'q-1', Status: { State: 'SUCCEEDED' } } };
  if (resource === 'arn:aws:states:::athena:getQueryResults')
    return athenaResultSet([{ ...SAMPLE_RUN_DAYS, ...SAMPLE_OBJECT_RUNS }]);
  return {};
}
