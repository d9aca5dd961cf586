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

type Cell = string | number | boolean | null;
type Row = Record<string, Cell>;

/** Where an export goes: a string, a file, standard output. Resolves once the text is handed on. */
export type ExportSink = (text: string) => Promise<void>;

/** A Node stream as a sink: each write waits for the stream to take it, so memory stays one chunk deep. */
export function streamSink(stream: NodeJS.WritableStream): ExportSink {
  return (text) =>
    new Promise((resolve, reject) => {
      stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
}

/**
 * Streams an export to `sink`, one DuckDB chunk (2,048 rows) at a time, so this side holds one chunk
 * whatever the table's size; DuckDB's sort for the ORDER BY keeps mostly within its memory limit,
 * spilling to disk past it (figures in docs/benchmark.md). The text is the same, byte for byte, as
 * formatting the whole table at once.
 */
export async function writeExport(
  lake: Lake,
  name: ExportName,
  format: ExportFormat,
  sink: ExportSink,
  limit?: number,
): Promise<void> {
  const sql =
    limit === undefined ? EXPORT_QUERIES[name] : `${EXPORT_QUERIES[name]} limit ${Math.trunc(limit)}`;
  // One statement at a time on this connection until the stream ends: DuckDB ends a pending streaming
  // result early when its connection runs another statement (the command never runs two at once).
  const result = await lake.connection.stream(sql);
  const columns = result.columnNames();
  let first = true;
  for await (const chunk of result.yieldRowObjectJs()) {
    if (chunk.length === 0) continue;
    // Timestamps are formatted in SQL; what is left is text, doubles and BIGINT counts (small enough for a number).
    const rows: Row[] = chunk.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [
          key,
          typeof value === 'bigint' ? Number(value) : (value as Cell),
        ]),
      ),
    );
    await sink(format === 'json' ? jsonRows(rows, first) : csvRows(rows, columns, first));
    first = false;
  }
  if (format === 'json') await sink(first ? '[]\n' : '\n]\n');
  else if (first) await sink(stringify([], { header: true, columns }));
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
export function csvCell(value: string | number | boolean | null): string | boolean | null {
  if (typeof value === 'number') return plainNumber(value);
  if (typeof value === 'string' && FORMULA_START.test(value) && !NUMBER.test(value)) return `'${value}`;
  return value;
}

/** CSV for spreadsheets (see csvCell), the header before the first rows. */
function csvRows(rows: readonly Row[], columns: string[], header: boolean): string {
  const cells = rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, csvCell(value)])),
  );
  return stringify(cells, { header, columns });
}

/** JSON as the values are: the rows of one array, laid out as `JSON.stringify(rows, null, 2)` lays them out. */
function jsonRows(rows: readonly Row[], first: boolean): string {
  const items = rows.map((row) => `  ${JSON.stringify(row, null, 2).replaceAll('\n', '\n  ')}`);
  return `${first ? '[\n' : ',\n'}${items.join(',\n')}`;
}
