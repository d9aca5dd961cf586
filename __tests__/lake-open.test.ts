import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { lakePaths } from '../local/lake';
import { runFile } from '../local/runner';
import { dataExports, removeDir, tempDir, withLakeAt, writeCsv } from './support/lake';

/**
 * The lake's views and macros live in the connection, made again at each open: a view kept in the
 * database file made DuckDB's first write after opening it bind the views, 0.11 s a run at 90 daily
 * runs. So the file holds tables alone, and a file made by an earlier version loses its views and
 * macros on open.
 */
const dir = tempDir('agent-etl-lake-open-');
afterAll(() => removeDir(dir));

const csv = writeCsv(dir, 'day.csv', [
  '11/4/2024 9:00:00 AM,200,LOGIN,',
  '11/4/2024 9:10:00 AM,200,ONLINE,',
  '11/4/2024 5:00:00 PM,200,LOGOUT,',
]);

/** The views and macros the database file itself holds, read without the lake's own open. */
async function stored(root: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(lakePaths(root).warehouse, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `select view_name as name from duckdb_views() where not internal
       union all
       select distinct function_name from duckdb_functions() where not internal and function_type = 'macro'
       order by name`,
    );
    return reader.getRowObjectsJson().map((row) => String(row.name));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

test('the database file holds no view or macro; the lake still has both', async () => {
  const root = join(dir, 'fresh');
  await withLakeAt(root, async (lake) => {
    expect((await runFile(lake, csv)).status).toBe('SUCCEEDED');
    const [views] = await lake.query(
      "select count(*) as n from duckdb_views() where temporary and view_name in ('agent_events', 'agent_intervals_report')",
    );
    expect(Number(views?.n)).toBe(2);
  });
  expect(await stored(root)).toEqual([]);
});

test('a file made by an earlier version loses its views and macros on open, with the same exports', async () => {
  const root = join(dir, 'earlier');
  const before = await withLakeAt(root, async (lake) => {
    expect((await runFile(lake, csv)).status).toBe('SUCCEEDED');
    return dataExports(lake);
  });
  // what an earlier version left in the file: a macro, a view over silver and one over that view
  const instance = await DuckDBInstance.create(lakePaths(root).warehouse);
  const connection = await instance.connect();
  await connection.run('create macro from_utf8(binary_value) as decode(binary_value)');
  await connection.run("create view rejected_rows as select 'x' as source_object");
  await connection.run('create view published_rejected_rows as select * from rejected_rows');
  connection.closeSync();
  instance.closeSync();
  expect(await stored(root)).toEqual(['from_utf8', 'published_rejected_rows', 'rejected_rows']);

  await withLakeAt(root, async (lake) => {
    expect(await dataExports(lake)).toEqual(before);
  });
  expect(await stored(root)).toEqual([]);
});
