import { stringify } from 'csv-stringify/sync';
import type { Lake } from '../local/lake';

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
  // The problem statement's shape, as the report view prints it: Extension, Interval, Productive Hours.
  report: `
    select "Extension", "Interval", "Productive Hours"
    from agent_intervals_report
    order by "Extension", strptime("Interval", '%m/%d/%Y %I:%M:%S %p')`,
  rejects: `
    select source_object, source_line, reason, raw_line
    from published_rejected_rows
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

/** A number as a spreadsheet reads it: plain decimal digits, never an exponent (`2.7e-7` is `0.00000027`). */
function plainNumber(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, first, rest = '', exponent] = match;
  const digits = `${first}${rest}`;
  const point = 1 + Number(exponent);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Text a spreadsheet would run as a formula (OWASP, CSV Injection): it starts with = + - @, a tab or a CR. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A CSV cell: numbers in plain decimals; text that could start a formula is prefixed with `'`, as
 * https://owasp.org/www-community/attacks/CSV_Injection advises, unless it is a number.
 */
function csvCell(value: string | number | boolean | null): string | boolean | null {
  if (typeof value === 'number') return plainNumber(value);
  if (typeof value === 'string' && FORMULA_START.test(value) && !NUMBER.test(value)) return `'${value}`;
  return value;
}

/** CSV for spreadsheets (see csvCell); JSON as the values are. */
export function formatTable(table: ExportTable, format: ExportFormat): string {
  if (format === 'json') return `${JSON.stringify(table.rows, null, 2)}\n`;
  const rows = table.rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, csvCell(value)])),
  );
  return stringify(rows, { header: true, columns: table.columns });
}
