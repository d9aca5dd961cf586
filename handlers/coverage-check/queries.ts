/** The coverage statements, by file below `sql/`; handlers take their text, so each bundle embeds it. */
export const COVERAGE_SQL_FILES = {
  presentIntervals: 'coverage/present_intervals.sql',
  runExtent: 'coverage/run_extent.sql',
} as const;

export type CoverageQueries = Record<keyof typeof COVERAGE_SQL_FILES, string>;
