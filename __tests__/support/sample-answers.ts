import { athenaResultSet } from '../../local/strict-twin';

/** The days a sample run's GetRunDays reads back. */
export const SAMPLE_RUN_DAYS = { first_day: '2024-11-18', last_day: '2024-11-19' };

/**
 * What a task of the state machine answers when a test stands in for every service: an Athena query
 * its execution id, GetQueryResults the sample run's days (as Athena pages a SELECT), the rest nothing.
 */
export function sampleAnswer(resource: unknown): unknown {
  if (resource === 'arn:aws:states:::athena:startQueryExecution.sync')
    return { QueryExecution: { QueryExecutionId: 'q-1', Status: { State: 'SUCCEEDED' } } };
  if (resource === 'arn:aws:states:::athena:getQueryResults') return athenaResultSet([SAMPLE_RUN_DAYS]);
  return {};
}
