import presentIntervals from '../../sql/coverage/present_intervals.sql';
import runExtent from '../../sql/coverage/run_extent.sql';
import { awsDependencies, createCheckSummaryHandler, logger } from './handler';

/** Daily schedule and `Pipeline Run Completed` events: check coverage, alert through SNS. */
export const handler = createCheckSummaryHandler(() =>
  awsDependencies(process.env, { presentIntervals, runExtent }, logger),
);
