/**
 * The table contract, stated once. The stacks turn it into Glue catalog tables; the local engine turns
 * it into DuckDB DDL; `sql/` reads and writes these columns.
 * Types are Glue/Hive type names.
 */
export type ColumnType = 'string' | 'bigint' | 'double' | 'timestamp' | 'date' | 'boolean';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly comment: string;
}

/** The Iceberg partition transforms the managed tables use (Iceberg spec, "Partition Transforms"). */
export type IcebergTimeTransform = 'day' | 'month';
export type IcebergTransform = IcebergTimeTransform | 'identity';

/**
 * How an Iceberg table is laid out: one partition field, and files sorted by its source column. A time
 * transform takes a date or timestamp column; identity takes any column (a partition per value).
 */
export interface IcebergLayout {
  readonly column: string;
  readonly transform: IcebergTransform;
}

export interface TableDefinition {
  readonly name: string;
  /** silver: Parquet written by the loader; gold/ops/staging: tables the SQL merges into. */
  readonly layer: 'silver' | 'gold' | 'ops' | 'staging';
  readonly comment: string;
  readonly columns: readonly Column[];
  readonly partitionKeys: readonly Column[];
  /** Natural key: unique in every table (the SQL merges on it; engines do not enforce it, a test checks it). */
  readonly naturalKey: readonly string[];
  /** The Iceberg partition of a managed table, when it has one (Terraform writes its first metadata). */
  readonly layout?: IcebergLayout;
}

const col = (name: string, type: ColumnType, comment: string): Column => ({ name, type, comment });

export const AGENT_EVENTS: TableDefinition = {
  name: 'agent_events',
  layer: 'silver',
  comment:
    'One typed agent event per accepted CSV row, with lineage. An object has rows of at most two runs: its published (latest successful) run and its newest.',
  columns: [
    col('done_on', 'timestamp', 'Contact-center wall-clock time of the event, no zone'),
    col('extension', 'string', 'Agent extension'),
    col('action', 'string', 'Action, trimmed'),
    col('details', 'string', 'Details, trimmed; empty string when absent'),
    col('source_object', 'string', 'bucket/key of the bronze object'),
    col('source_line', 'bigint', 'Line of the row in the bronze object'),
    col('run_id', 'string', 'Run (execution name) that loaded the row'),
  ],
  partitionKeys: [col('event_date', 'date', 'Date of done_on')],
  naturalKey: ['source_object', 'source_line', 'run_id'],
};

export const REJECTED_ROWS: TableDefinition = {
  name: 'rejected_rows',
  layer: 'silver',
  comment: 'Rows of bronze objects that broke the input contract; never dropped silently.',
  columns: [
    col('source_object', 'string', 'bucket/key of the bronze object'),
    col('source_line', 'bigint', 'Line of the row in the bronze object'),
    col('reason', 'string', 'Why the row was rejected'),
    col('raw_line', 'string', 'The row as it stood in the file'),
    col('run_id', 'string', 'Run (execution name) that read the row'),
  ],
  partitionKeys: [],
  naturalKey: ['source_object', 'source_line', 'run_id'],
};

/**
 * First and last event per (object, run, extension, day): what the neighbour search reads instead of
 * the events. Written by the load beside agent_events, with the same lineage, so the same published-run
 * rule decides which rows count.
 */
export const EVENT_EXTENTS: TableDefinition = {
  name: 'event_extents',
  layer: 'silver',
  comment:
    "Per bronze object, run, extension and event date: the extension's first and last event of the day in the object.",
  columns: [
    col('extension', 'string', 'Agent extension'),
    col('first_event', 'timestamp', 'Earliest event of the extension that day in the object'),
    col('last_event', 'timestamp', 'Latest event of the extension that day in the object'),
    col('event_count', 'bigint', 'Events of the extension that day in the object'),
    col('source_object', 'string', 'bucket/key of the bronze object'),
    col('run_id', 'string', 'Run (execution name) that loaded the rows'),
  ],
  partitionKeys: [col('event_date', 'date', 'Date of the events')],
  naturalKey: ['source_object', 'run_id', 'extension', 'event_date'],
};

/**
 * The event dates each run loaded (one small file per run): how a step finds the partitions of a run
 * without scanning silver, and which days of the lake hold any data.
 */
export const LOADED_DAYS: TableDefinition = {
  name: 'loaded_days',
  layer: 'silver',
  comment: 'Per bronze object, run and event date: the events the run loaded for that day.',
  columns: [
    col('event_date', 'date', 'Date of the events (the event_date partition of agent_events they went to)'),
    col('first_event', 'timestamp', 'Earliest event of the day in the object'),
    col('last_event', 'timestamp', 'Latest event of the day in the object'),
    col('event_count', 'bigint', 'Events of the day in the object'),
    col('source_object', 'string', 'bucket/key of the bronze object'),
    col('run_id', 'string', 'Run (execution name) that loaded the rows'),
  ],
  partitionKeys: [],
  naturalKey: ['source_object', 'run_id', 'event_date'],
};

export const AGENT_INTERVALS: TableDefinition = {
  name: 'agent_intervals',
  layer: 'gold',
  comment: 'Productive time per extension and 30-minute interval.',
  columns: [
    col('extension', 'string', 'Agent extension'),
    col('interval_start', 'timestamp', 'Start of the 30-minute interval (:00 or :30)'),
    col('productive_ms', 'bigint', 'Productive milliseconds in the interval (exact)'),
    col('productive_seconds', 'double', 'productive_ms / 1000'),
    col('productive_hours', 'double', 'Productive hours, capped at 0.5, full precision'),
    col('event_count', 'bigint', 'Distinct events that happened in the interval'),
  ],
  partitionKeys: [],
  naturalKey: ['extension', 'interval_start'],
  // read and merged by day ranges (docs/architecture.md, "Reading by day")
  layout: { column: 'interval_start', transform: 'day' },
};

export const WEEKLY_SUMMARY: TableDefinition = {
  name: 'weekly_summary',
  layer: 'gold',
  comment: 'Productive time per extension and ISO week (weeks start on Monday).',
  columns: [
    col('extension', 'string', 'Agent extension'),
    col('week_start', 'date', 'Monday of the week'),
    col('productive_ms', 'bigint', 'Sum of the capped productive milliseconds of the week'),
    col('productive_hours', 'double', 'productive_ms / 3600000'),
    col('productive_intervals', 'bigint', 'Intervals with productive time'),
    col('active_intervals', 'bigint', 'Intervals with a row (productive time or an event)'),
  ],
  partitionKeys: [],
  naturalKey: ['extension', 'week_start'],
  // week_start is always a Monday, so one partition per week: a run reads and merges the one or two
  // weeks its days fall in (month partitions would have it read up to nine weeks)
  layout: { column: 'week_start', transform: 'day' },
};

export const PIPELINE_RUNS: TableDefinition = {
  name: 'pipeline_runs',
  layer: 'ops',
  comment: 'One row per pipeline run: the audit trail.',
  columns: [
    col('run_id', 'string', 'Execution name'),
    col('source_object', 'string', 'bucket/key of the bronze object'),
    col('source_etag', 'string', 'ETag of the object version the run read (locally the MD5 of its bytes)'),
    col('status', 'string', 'RUNNING (started, not finished), SUCCEEDED or FAILED'),
    col('started_at', 'timestamp', 'Execution start, UTC'),
    col('finished_at', 'timestamp', 'When the run was recorded, UTC'),
    col('rows_read', 'bigint', 'Data rows read from the object'),
    col('rows_loaded', 'bigint', 'Rows loaded to silver'),
    col('rows_rejected', 'bigint', 'Rows kept in rejected_rows'),
    col('intervals_touched', 'bigint', 'Interval rows recomputed'),
    col('weeks_touched', 'bigint', 'Weekly rows recomputed'),
    col('productive_hours', 'double', 'Productive hours in the recomputed intervals'),
    col('first_interval', 'timestamp', 'Earliest interval recomputed'),
    col('last_interval', 'timestamp', 'Latest interval recomputed'),
    col('error', 'string', 'Error of a failed run'),
    col(
      'published',
      'boolean',
      "True while the run's rows are the ones that count for its object (its latest successful run); false while it runs, once it failed, and from the start of the object's next run",
    ),
    col(
      'replaced_by',
      'string',
      'The run of the same object that took its place (set as that run starts; cleared again if that run fails)',
    ),
  ],
  partitionKeys: [],
  naturalKey: ['run_id'],
  // Every read of the runs that do not count (running, failed, replaced) is of the `false` partition
  // alone, which grows with failures and re-ingests, not with days (docs/architecture.md, "Which rows
  // count"); the `true` partition, a row per object, is read once a run, by RecordRunStarted.
  layout: { column: 'published', transform: 'identity' },
};

export const AFFECTED_WINDOWS: TableDefinition = {
  name: 'affected_windows',
  layer: 'staging',
  comment: 'Per run: the interval range of each extension that the run can change.',
  columns: [
    col('run_id', 'string', 'Execution name'),
    col('extension', 'string', 'Agent extension'),
    col('window_start', 'timestamp', 'First interval to recompute'),
    col('window_end', 'timestamp', 'End (exclusive) of the last interval to recompute'),
    col(
      'read_from',
      'date',
      "First event date to read: the day of the last event before window_start; null when the extension has none (the window is AppendIntervals' when it holds no rows)",
    ),
    col('read_to', 'date', 'Last event date to read: the day of the first event at or after window_end'),
  ],
  partitionKeys: [],
  naturalKey: ['run_id', 'extension'],
};

/**
 * One row per extension the lake has seen: bounds on the days of its events, so that the search for an
 * extension's previous event (FindAffectedWindows) skips every older day for an extension never seen
 * and reads only the last day of one back after more than a week. Every run merges its own extensions
 * in before its commit point; rows of runs that later fail or are replaced stay, so first_day can be
 * earlier and last_day later than the published events' days, never the other way round.
 */
export const KNOWN_EXTENSIONS: TableDefinition = {
  name: 'known_extensions',
  layer: 'staging',
  comment: 'Per extension: the first and last day of the events any run merged in (bounds, not exact).',
  columns: [
    col('extension', 'string', 'Agent extension'),
    col('first_day', 'date', 'No published event of the extension lies before this day'),
    col('last_day', 'date', 'No published event of the extension lies after this day'),
  ],
  partitionKeys: [],
  naturalKey: ['extension'],
};

export const SILVER_TABLES = [AGENT_EVENTS, REJECTED_ROWS, EVENT_EXTENTS, LOADED_DAYS] as const;
export const MANAGED_TABLES = [
  AGENT_INTERVALS,
  WEEKLY_SUMMARY,
  PIPELINE_RUNS,
  AFFECTED_WINDOWS,
  KNOWN_EXTENSIONS,
] as const;
