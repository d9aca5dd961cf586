import { stringify } from 'csv-stringify/sync';
import { csvCell, type ExportFormat, type ExportName, writeExport } from '../cli/exports';
import type { Lake } from '../local/lake';
import { withLake } from './support/lake';

/** Rows past one DuckDB chunk (2,048), with text a spreadsheet or a CSV writer must treat with care. */
const ROWS = 5_000;

async function fillIntervals(lake: Lake, rows: number): Promise<void> {
  await lake.exec(`
    insert into agent_intervals
    select
      case i % 5
        when 0 then '=cmd|' || i
        when 1 then 'ext "' || i || '", quoted'
        when 2 then '-' || i
        when 3 then 'línea
' || i
        else cast(1000 + i as varchar)
      end as extension,
      timestamp '2024-11-04 00:00:00' + to_minutes(30 * i) as interval_start,
      i * 7 as productive_ms,
      i * 0.007 as productive_seconds,
      case when i % 3 = 0 then 2.7e-7 * i else least(0.5, i / 3600000.0) end as productive_hours,
      i % 4 as event_count
    from range(${rows}) as t(i)`);
}

/** What every export gave before it streamed: the whole result read at once, then formatted at once. */
async function wholeTable(lake: Lake, sql: string, format: ExportFormat): Promise<string> {
  const reader = await lake.connection.runAndReadAll(sql);
  const rows = reader
    .getRowObjectsJS()
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value]),
      ),
    );
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  return stringify(
    rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [key, csvCell(value as string | number | null)]),
      ),
    ),
    { header: true, columns: reader.columnNames() },
  );
}

async function streamed(
  lake: Lake,
  name: ExportName,
  format: ExportFormat,
  limit?: number,
): Promise<{ text: string; writes: string[] }> {
  const writes: string[] = [];
  await writeExport(
    lake,
    name,
    format,
    async (text) => {
      writes.push(text);
    },
    limit,
  );
  return { text: writes.join(''), writes };
}

const INTERVALS_SQL = `
  select extension, strftime(interval_start, '%Y-%m-%d %H:%M:%S') as interval_start,
    productive_seconds, productive_hours, event_count
  from agent_intervals order by extension, interval_start`;

describe.each(['csv', 'json'] as const)('export as %s', (format) => {
  test('streams in chunks and gives the same bytes as formatting the whole table', async () => {
    await withLake(async (lake) => {
      await fillIntervals(lake, ROWS);
      const { text, writes } = await streamed(lake, 'intervals', format);
      expect(text).toBe(await wholeTable(lake, INTERVALS_SQL, format));
      // One write per chunk of at most 2,048 rows, plus the closing bracket of a JSON array.
      expect(writes.length).toBeGreaterThanOrEqual(Math.ceil(ROWS / 2048));
      const longest = Math.max(...writes.map((write) => write.length));
      expect(longest).toBeLessThan(text.length / 2);
    });
  });

  test('--limit cuts the same rows', async () => {
    await withLake(async (lake) => {
      await fillIntervals(lake, ROWS);
      const { text } = await streamed(lake, 'intervals', format, 3);
      expect(text).toBe(await wholeTable(lake, `${INTERVALS_SQL} limit 3`, format));
    });
  });

  test('an empty table is a header alone, or an empty array', async () => {
    await withLake(async (lake) => {
      const { text } = await streamed(lake, 'weekly', format);
      expect(text).toBe(
        format === 'json'
          ? '[]\n'
          : 'extension,week_start,productive_hours,productive_intervals,active_intervals\n',
      );
    });
  });
});

test('a sink that fails stops the export with its error', async () => {
  await withLake(async (lake) => {
    await fillIntervals(lake, ROWS);
    let writes = 0;
    await expect(
      writeExport(lake, 'intervals', 'csv', async () => {
        writes += 1;
        if (writes === 2) throw new Error('ENOSPC: no space left on device');
      }),
    ).rejects.toThrow('ENOSPC');
    expect(writes).toBe(2);
  });
});
