import { stringify } from 'csv-stringify/sync';
import type { Lake } from './lake';

export const EXPORTS = ['intervals', 'weekly', 'report', 'rejects', 'runs'] as const;
export type ExportName = (typeof EXPORTS)[number];
export type ExportFormat = 'csv' | 'json';

/**
 * What each export prints, in a stable order, so the same lake always gives the same bytes.
 * Presentation only: every number here was computed by sql/.
 */
const EXPORT_QUERIES: Record<ExportName, string> = {
  intervals: `
    select
      extension,
      strftime(interval_start, '%Y-%m-%d %H:%M:%S') as interval_start,
      productive_seconds,
      productive_hours,
      event_count
    from agent_intervals
    order by extension, interval_start`,
  weekly: `
    select
      extension,
      strftime(week_start, '%Y-%m-%d') as week_start,
      productive_hours,
      productive_intervals,
      active_intervals
    from weekly_summary
    order by extension, week_start`,
  // The problem statement's shape, through the report view: Extension, Interval, Productive Hours.
  report: `
    select
      "Extension",
      strftime("Interval", '%Y-%m-%d %H:%M:%S') as "Interval",
      "Productive Hours"
    from agent_intervals_report
    order by "Extension", "Interval"`,
  rejects: `
    select source_object, source_line, reason, raw_line
    from rejected_rows
    order by source_object, source_line`,
  runs: `
    select
      run_id,
      source_object,
      status,
      strftime(started_at, '%Y-%m-%d %H:%M:%S') as started_at,
      strftime(finished_at, '%Y-%m-%d %H:%M:%S') as finished_at,
      rows_read,
      rows_loaded,
      rows_rejected,
      intervals_touched,
      weeks_touched,
      productive_hours,
      error
    from pipeline_runs
    order by started_at, run_id`,
};

export interface ExportTable {
  readonly columns: string[];
  readonly rows: Record<string, string | number | boolean | null>[];
}

export async function exportTable(lake: Lake, name: ExportName, limit?: number): Promise<ExportTable> {
  const sql =
    limit === undefined ? EXPORT_QUERIES[name] : `${EXPORT_QUERIES[name]} limit ${Math.trunc(limit)}`;
  const reader = await lake.connection.runAndReadAll(sql);
  // Timestamps are formatted in SQL; what is left is text, doubles and BIGINT counts (small enough for a number).
  const rows = reader
    .getRowObjectsJS()
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [
          key,
          typeof value === 'bigint' ? Number(value) : (value as string | number | boolean | null),
        ]),
      ),
    );
  return { columns: reader.columnNames(), rows };
}

export function formatTable(table: ExportTable, format: ExportFormat): string {
  if (format === 'json') return `${JSON.stringify(table.rows, null, 2)}\n`;
  return stringify(table.rows, { header: true, columns: table.columns });
}
